//! The async-io side of the runtime abstraction: TCP and unix sockets (async-net) and a
//! resettable timer (async-io). Executor-independent: async-io runs its own reactor, so the
//! same sockets and timers work under async-std, smol or any other executor.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

#[cfg(unix)]
use async_net::unix::{UnixListener, UnixStream};
use async_net::{TcpListener, TcpStream};
use erpc_peer::{Connected, Endpoint, SocketOptions, Timer};
use futures_io::{AsyncRead, AsyncWrite};

/// A TCP or unix stream.
#[derive(Debug)]
#[non_exhaustive]
pub enum AsyncIoStream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain.
    #[cfg(unix)]
    Unix(UnixStream),
    /// Unix domain seqpacket (feature `unixpacket`, Linux and Android).
    #[cfg(all(
        feature = "unixpacket",
        any(target_os = "linux", target_os = "android")
    ))]
    Unixpacket(crate::unixpacket::AsyncIoUnixpacketStream),
    /// KCP over UDP (feature `kcp`).
    #[cfg(feature = "kcp")]
    Kcp(crate::kcp::AsyncIoKcpStream),
    /// WebSocket, one record per message (feature `ws`).
    #[cfg(feature = "ws")]
    Ws(Box<crate::ws::AsyncIoWsStream>),
    /// A QUIC connection's stream (feature `quic`).
    #[cfg(feature = "quic")]
    Quic(Box<crate::quic::QuicStream>),
}

impl AsyncRead for AsyncIoStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_read(cx, buf),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_read(cx, buf),
        }
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [io::IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_read_vectored(cx, bufs),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_read_vectored(cx, bufs),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_read_vectored(cx, bufs),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_read_vectored(cx, bufs),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_read_vectored(cx, bufs),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_read_vectored(cx, bufs),
        }
    }
}

impl AsyncWrite for AsyncIoStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_write(cx, buf),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_flush(cx),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_flush(cx),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            AsyncIoStream::Tcp(s) => Pin::new(s).poll_close(cx),
            #[cfg(unix)]
            AsyncIoStream::Unix(s) => Pin::new(s).poll_close(cx),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            AsyncIoStream::Unixpacket(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "kcp")]
            AsyncIoStream::Kcp(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "ws")]
            AsyncIoStream::Ws(s) => Pin::new(s).poll_close(cx),
            #[cfg(feature = "quic")]
            AsyncIoStream::Quic(s) => Pin::new(s).poll_close(cx),
        }
    }
}

/// A bound listener.
#[derive(Debug)]
#[non_exhaustive]
pub enum AsyncIoListener {
    /// TCP.
    Tcp(TcpListener),
    /// Unix domain, with its path (removed when the listener is dropped).
    #[cfg(unix)]
    Unix(UnixListener, std::path::PathBuf),
    /// Unix domain seqpacket (feature `unixpacket`); its path is removed when dropped.
    #[cfg(all(
        feature = "unixpacket",
        any(target_os = "linux", target_os = "android")
    ))]
    Unixpacket(crate::unixpacket::AsyncIoUnixpacketListener),
    /// KCP over UDP (feature `kcp`).
    #[cfg(feature = "kcp")]
    Kcp(crate::kcp::AsyncIoKcpListener),
    /// WebSocket (feature `ws`).
    #[cfg(feature = "ws")]
    Ws(crate::ws::AsyncIoWsListener),
    /// QUIC (feature `quic`).
    #[cfg(feature = "quic")]
    Quic(crate::quic::QuicListener),
}

#[cfg(unix)]
impl Drop for AsyncIoListener {
    fn drop(&mut self) {
        if let AsyncIoListener::Unix(_, path) = self {
            // Unless a graceful reboot handed the socket to a new process serving it there.
            if !erpc_peer::runtime::unix_socket_files_kept() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A resettable async-io timer.
#[derive(Debug)]
pub struct AsyncIoTimer(async_io::Timer);

impl Future for AsyncIoTimer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Timer for AsyncIoTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.set_at(deadline);
    }
}

pub(crate) fn timer(deadline: Instant) -> AsyncIoTimer {
    AsyncIoTimer(async_io::Timer::at(deadline))
}

fn tcp_connected(s: TcpStream, opts: SocketOptions) -> io::Result<Connected<AsyncIoStream>> {
    #[cfg(unix)]
    opts.apply(&s)?;
    #[cfg(not(unix))]
    s.set_nodelay(opts.nodelay)?;
    let (local, remote) = (s.local_addr()?.to_string(), s.peer_addr()?.to_string());
    Ok(Connected::new(AsyncIoStream::Tcp(s), local, remote))
}

/// A process-wide number for unix socket ends, which have no address of their own.
#[cfg(unix)]
fn next_unix_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn unsupported(endpoint: &Endpoint) -> io::Error {
    if let Endpoint::Quic(_) = endpoint {
        return io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{endpoint}: the quic network needs erpc-runtime-async-std's feature `quic`"),
        );
    }
    io::Error::new(io::ErrorKind::Unsupported, format!("network of {endpoint}"))
}

pub(crate) async fn connect(
    #[allow(unused_variables)] rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    opts: SocketOptions,
) -> io::Result<Connected<AsyncIoStream>> {
    match endpoint {
        Endpoint::Tcp { .. } => {
            // A host name is looked up on a blocking thread (async-net), so the peer's dial
            // timeout bounds the lookup too.
            let addrs = match endpoint.literal(false) {
                Some(a) => endpoint.filter_family([a])?,
                None => {
                    let target = endpoint.lookup_target(false)?;
                    endpoint.filter_family(async_net::resolve(target).await?)?
                }
            };
            let s = TcpStream::connect(&addrs[..]).await?;
            tcp_connected(s, opts)
        }
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let s = UnixStream::connect(path).await?;
            // The dialing end of a unix socket is unnamed; number it, since the session id
            // of a dialed session is its local address and must be unique.
            Ok(Connected::new(
                AsyncIoStream::Unix(s),
                format!("unix:{}#{}", path.display(), next_unix_id()),
                format!("unix:{}", path.display()),
            ))
        }
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        Endpoint::Unixpacket(path) => {
            let s = crate::unixpacket::AsyncIoUnixpacketStream::connect(path)?;
            Ok(Connected::new(
                AsyncIoStream::Unixpacket(s),
                format!("unixpacket:{}#{}", path.display(), next_unix_id()),
                format!("unixpacket:{}", path.display()),
            ))
        }
        #[cfg(feature = "kcp")]
        Endpoint::Kcp(_) => connect_kcp(rt, endpoint, &Default::default()).await,
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) => {
            let addrs = match endpoint.literal(false) {
                Some(a) => vec![a],
                None => async_net::resolve(endpoint.lookup_target(false)?).await?,
            };
            let s = TcpStream::connect(&addrs[..]).await?;
            #[cfg(unix)]
            opts.apply(&s)?;
            let s = crate::ws::connect(rt, s, ws).await?;
            let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
            Ok(Connected::new(
                AsyncIoStream::Ws(Box::new(s)),
                local,
                remote,
            ))
        }
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

pub(crate) async fn bind(
    #[allow(unused_variables)] rt: &crate::AsyncIo,
    endpoint: &Endpoint,
) -> io::Result<(AsyncIoListener, String)> {
    match endpoint {
        Endpoint::Tcp { .. } => {
            let addrs = endpoint.resolve(true)?;
            let l = TcpListener::bind(&addrs[..]).await?;
            let addr = l.local_addr()?.to_string();
            Ok((AsyncIoListener::Tcp(l), addr))
        }
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let l = UnixListener::bind(path)?;
            Ok((
                AsyncIoListener::Unix(l, path.clone()),
                path.display().to_string(),
            ))
        }
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        Endpoint::Unixpacket(path) => {
            let l = crate::unixpacket::AsyncIoUnixpacketListener::bind(path)?;
            Ok((AsyncIoListener::Unixpacket(l), path.display().to_string()))
        }
        #[cfg(feature = "kcp")]
        Endpoint::Kcp(_) => bind_kcp(rt, endpoint, &Default::default()),
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) => {
            let addrs = endpoint.resolve(true)?;
            let l = crate::ws::bind(rt, addrs[0], ws).await?;
            let addr = l.local_addr().to_string();
            Ok((AsyncIoListener::Ws(l), addr))
        }
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// Serves a listener inherited on a graceful reboot.
#[cfg(unix)]
pub(crate) fn adopt(
    #[cfg_attr(not(feature = "ws"), allow(unused_variables))] rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    listener: erpc_peer::InheritedListener,
) -> io::Result<(AsyncIoListener, String)> {
    use erpc_peer::InheritedListener as L;
    match (endpoint, listener) {
        (Endpoint::Tcp { .. }, L::Tcp(l)) => {
            let l = TcpListener::try_from(l)?;
            let addr = l.local_addr()?.to_string();
            Ok((AsyncIoListener::Tcp(l), addr))
        }
        (Endpoint::Unix(path), L::Unix(l)) => {
            let l = UnixListener::try_from(l)?;
            Ok((
                AsyncIoListener::Unix(l, path.clone()),
                path.display().to_string(),
            ))
        }
        #[cfg(feature = "ws")]
        (Endpoint::Ws(ws), L::Tcp(l)) => {
            let l = crate::ws::serve(rt, TcpListener::try_from(l)?, ws)?;
            let addr = l.local_addr().to_string();
            Ok((AsyncIoListener::Ws(l), addr))
        }
        (other, _) => Err(unsupported(other)),
    }
}

/// The socket a graceful reboot hands over.
#[cfg(unix)]
pub(crate) fn listener_fd(listener: &AsyncIoListener) -> Option<std::os::fd::BorrowedFd<'_>> {
    use std::os::fd::AsFd;
    match listener {
        AsyncIoListener::Tcp(l) => Some(l.as_fd()),
        AsyncIoListener::Unix(l, _) => Some(l.as_fd()),
        #[cfg(feature = "ws")]
        AsyncIoListener::Ws(l) => l.listener_fd(),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

pub(crate) async fn accept(
    listener: &AsyncIoListener,
    opts: SocketOptions,
) -> io::Result<Connected<AsyncIoStream>> {
    match listener {
        AsyncIoListener::Tcp(l) => {
            let (s, _) = l.accept().await?;
            tcp_connected(s, opts)
        }
        #[cfg(unix)]
        AsyncIoListener::Unix(l, path) => {
            let (s, _) = l.accept().await?;
            let n = next_unix_id();
            // Unix peers have no address of their own; number them for session ids.
            Ok(Connected::new(
                AsyncIoStream::Unix(s),
                path.display().to_string(),
                format!("unix:{}#{n}", path.display()),
            ))
        }
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        AsyncIoListener::Unixpacket(l) => {
            let s = l.accept().await?;
            Ok(Connected::new(
                AsyncIoStream::Unixpacket(s),
                l.path().display().to_string(),
                format!("unixpacket:{}#{}", l.path().display(), next_unix_id()),
            ))
        }
        #[cfg(feature = "kcp")]
        AsyncIoListener::Kcp(l) => {
            let s = l.accept().await;
            let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
            Ok(Connected::new(AsyncIoStream::Kcp(s), local, remote))
        }
        #[cfg(feature = "ws")]
        AsyncIoListener::Ws(l) => {
            let s = l.accept().await?;
            let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
            let id = s.session_id().map(str::to_owned);
            Ok(Connected::new(AsyncIoStream::Ws(Box::new(s)), local, remote).with_session_id(id))
        }
        #[cfg(feature = "quic")]
        AsyncIoListener::Quic(l) => {
            let s = l.accept().await?;
            let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
            Ok(Connected::new(AsyncIoStream::Quic(Box::new(s)), local, remote).secured())
        }
    }
}

/// Dials a KCP endpoint (the first IPv4 address of a name, as Go) with `config`.
#[cfg(feature = "kcp")]
pub(crate) async fn connect_kcp(
    rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    config: &crate::kcp::KcpConfig,
) -> io::Result<Connected<AsyncIoStream>> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let addrs = match endpoint.literal(false) {
        Some(a) => vec![a],
        None => async_net::resolve(endpoint.lookup_target(false)?).await?,
    };
    let remote = erpc_peer::kcp::dial_address(addrs)?;
    let s = crate::kcp::AsyncIoKcpStream::connect(rt, remote, config.clone())?;
    let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
    Ok(Connected::new(AsyncIoStream::Kcp(s), local, remote))
}

/// Binds a KCP listener whose sessions use `config`.
#[cfg(feature = "kcp")]
pub(crate) fn bind_kcp(
    rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    config: &crate::kcp::KcpConfig,
) -> io::Result<(AsyncIoListener, String)> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let addrs = endpoint.resolve(true)?;
    let l = crate::kcp::AsyncIoKcpListener::bind(
        rt,
        addrs[0],
        config.clone(),
        crate::kcp::DEFAULT_MAX_SESSIONS,
    )?;
    let addr = l.local_addr().to_string();
    Ok((AsyncIoListener::Kcp(l), addr))
}

/// Dials a QUIC endpoint on `rt`'s executor.
#[cfg(feature = "quic")]
pub(crate) async fn connect_quic(
    rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    dial: &crate::quic::QuicDial,
) -> io::Result<Connected<AsyncIoStream>> {
    endpoint.require(erpc_peer::Network::Quic)?;
    let addrs: Vec<_> = match endpoint.literal(false) {
        Some(a) => vec![a],
        None => async_net::resolve(endpoint.lookup_target(false)?).await?,
    };
    let remote = *addrs
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address"))?;
    let s = crate::quic::connect(rt, remote, dial).await?;
    let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
    Ok(Connected::new(AsyncIoStream::Quic(Box::new(s)), local, remote).secured())
}

/// Binds a QUIC listener whose tasks run on `rt`'s executor.
#[cfg(feature = "quic")]
pub(crate) fn bind_quic(
    rt: &crate::AsyncIo,
    endpoint: &Endpoint,
    listen: &crate::quic::QuicListen,
) -> io::Result<(AsyncIoListener, String)> {
    endpoint.require(erpc_peer::Network::Quic)?;
    let addrs = endpoint.resolve(true)?;
    let l = crate::quic::bind(rt, addrs[0], listen)?;
    let addr = l.local_addr().to_string();
    Ok((AsyncIoListener::Quic(l), addr))
}
