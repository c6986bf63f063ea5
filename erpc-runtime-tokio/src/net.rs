//! The tokio side of the runtime abstraction: spawning, timers, TCP and unix sockets (and KCP
//! with feature `kcp`, websocket with feature `ws`, QUIC with feature `quic`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use erpc_peer::{Connected, Endpoint, Runtime, SocketOptions, Timer};
use tokio::net::{TcpListener, TcpStream};
#[cfg(unix)]
use tokio::net::{UnixListener, UnixStream};

use crate::io::TokioStream;

/// The tokio runtime (the one current where the peer's futures run).
#[derive(Clone, Copy, Debug, Default)]
#[allow(clippy::exhaustive_structs)] // the unit runtime handle
pub struct Tokio;

/// A listener.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokioListener {
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
    Unixpacket(crate::unixpacket::TokioUnixpacketListener),
    /// KCP over UDP (feature `kcp`).
    #[cfg(feature = "kcp")]
    Kcp(crate::kcp::TokioKcpListener),
    /// WebSocket (feature `ws`).
    #[cfg(feature = "ws")]
    Ws(crate::ws::TokioWsListener),
    /// QUIC (feature `quic`).
    #[cfg(feature = "quic")]
    Quic(crate::quic::QuicListener),
}

#[cfg(unix)]
impl Drop for TokioListener {
    fn drop(&mut self) {
        if let TokioListener::Unix(_, path) = self {
            // Unless a graceful reboot handed the socket to a new process serving it there.
            if !erpc_peer::runtime::unix_socket_files_kept() {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

/// A resettable tokio sleep.
#[derive(Debug)]
pub struct TokioTimer(Pin<Box<tokio::time::Sleep>>);

impl Future for TokioTimer {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl Timer for TokioTimer {
    fn reset(&mut self, deadline: Instant) {
        self.0.as_mut().reset(deadline.into());
    }
}

/// A process-wide number for unix connections, whose ends have no addresses of their own.
#[cfg(unix)]
fn next_unix_conn() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn tcp_connected(s: TcpStream, opts: SocketOptions) -> io::Result<Connected<TokioStream>> {
    opts.apply(&s)?;
    let (local, remote) = (s.local_addr()?.to_string(), s.peer_addr()?.to_string());
    Ok(Connected::new(TokioStream::Tcp(s), local, remote))
}

/// Dials a KCP endpoint (the first IPv4 address of a name, as Go) with `config`.
#[cfg(feature = "kcp")]
async fn kcp_connect(
    endpoint: &Endpoint,
    config: &crate::kcp::KcpConfig,
) -> io::Result<Connected<TokioStream>> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let addrs = match endpoint.literal(false) {
        Some(a) => vec![a],
        None => {
            let target = endpoint.lookup_target(false)?;
            tokio::net::lookup_host(target).await?.collect()
        }
    };
    let remote = erpc_peer::kcp::dial_address(addrs)?;
    let s = crate::kcp::TokioKcpStream::connect(remote, config.clone()).await?;
    let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
    Ok(Connected::new(TokioStream::Kcp(s), local, remote))
}

/// Binds a KCP listener whose sessions use `config`.
#[cfg(feature = "kcp")]
async fn kcp_bind(
    endpoint: &Endpoint,
    config: &crate::kcp::KcpConfig,
) -> io::Result<(TokioListener, String)> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let addrs = endpoint.resolve(true)?;
    let l = crate::kcp::TokioKcpListener::bind(
        addrs[0],
        config.clone(),
        crate::kcp::DEFAULT_MAX_SESSIONS,
    )
    .await?;
    let addr = l.local_addr().to_string();
    Ok((TokioListener::Kcp(l), addr))
}

impl Runtime for Tokio {
    type Stream = TokioStream;
    type Listener = TokioListener;
    type Timer = TokioTimer;

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        tokio::spawn(fut);
    }

    fn timer(&self, deadline: Instant) -> TokioTimer {
        TokioTimer(Box::pin(tokio::time::sleep_until(deadline.into())))
    }

    fn poll_read_spare(
        stream: &mut TokioStream,
        cx: &mut Context<'_>,
        buf: &mut bytes::BytesMut,
        max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        stream.poll_read_spare(cx, buf, max)
    }

    async fn connect(
        &self,
        endpoint: &Endpoint,
        opts: SocketOptions,
    ) -> io::Result<Connected<Self::Stream>> {
        match endpoint {
            Endpoint::Tcp { .. } => {
                // A host name is looked up on tokio's blocking pool, so the peer's dial
                // timeout bounds the lookup too.
                let addrs = match endpoint.literal(false) {
                    Some(a) => endpoint.filter_family([a])?,
                    None => {
                        let target = endpoint.lookup_target(false)?;
                        endpoint.filter_family(tokio::net::lookup_host(target).await?)?
                    }
                };
                let s = TcpStream::connect(&addrs[..]).await?;
                tcp_connected(s, opts)
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let s = UnixStream::connect(path).await?;
                // The dialing end of a unix socket is unnamed, and its local address is the
                // session id: number it, or two sessions to one path would share an id.
                let n = next_unix_conn();
                Ok(Connected::new(
                    TokioStream::Unix(s),
                    format!("unix:{}#{n}", path.display()),
                    format!("unix:{}", path.display()),
                ))
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Endpoint::Unixpacket(path) => {
                let s = crate::unixpacket::TokioUnixpacketStream::connect(path)?;
                // Unnamed like a unix stream's dialing end: numbered for the session id.
                let n = next_unix_conn();
                Ok(Connected::new(
                    TokioStream::Unixpacket(s),
                    format!("unixpacket:{}#{n}", path.display()),
                    format!("unixpacket:{}", path.display()),
                ))
            }
            #[cfg(feature = "kcp")]
            Endpoint::Kcp(_) => kcp_connect(endpoint, &Default::default()).await,
            #[cfg(feature = "ws")]
            Endpoint::Ws(ws) => {
                let addrs = match endpoint.literal(false) {
                    Some(a) => vec![a],
                    None => {
                        let target = endpoint.lookup_target(false)?;
                        tokio::net::lookup_host(target).await?.collect()
                    }
                };
                let s = TcpStream::connect(&addrs[..]).await?;
                opts.apply(&s)?;
                let s = crate::ws::TokioWsStream::connect(s, ws).await?;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                Ok(Connected::new(TokioStream::Ws(Box::new(s)), local, remote))
            }
            #[allow(unreachable_patterns)]
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("network of {other}"),
            )),
        }
    }

    #[cfg(feature = "kcp")]
    async fn connect_kcp(
        &self,
        endpoint: &Endpoint,
        _opts: SocketOptions,
        config: &crate::kcp::KcpConfig,
    ) -> io::Result<Connected<Self::Stream>> {
        kcp_connect(endpoint, config).await
    }

    #[cfg(feature = "kcp")]
    async fn bind_kcp(
        &self,
        endpoint: &Endpoint,
        config: &crate::kcp::KcpConfig,
    ) -> io::Result<(TokioListener, String)> {
        kcp_bind(endpoint, config).await
    }

    #[cfg(feature = "quic")]
    async fn connect_quic(
        &self,
        endpoint: &Endpoint,
        dial: &erpc_peer::quic::QuicDial,
    ) -> io::Result<Connected<Self::Stream>> {
        endpoint.require(erpc_peer::Network::Quic)?;
        let addrs: Vec<_> = match endpoint.literal(false) {
            Some(a) => vec![a],
            None => {
                let target = endpoint.lookup_target(false)?;
                tokio::net::lookup_host(target).await?.collect()
            }
        };
        let remote = *addrs
            .first()
            .ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address"))?;
        let s = crate::quic::connect(remote, dial).await?;
        let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
        let s = TokioStream::Quic(Box::new(s));
        Ok(Connected::new(s, local, remote).secured())
    }

    #[cfg(feature = "quic")]
    async fn bind_quic(
        &self,
        endpoint: &Endpoint,
        listen: &erpc_peer::quic::QuicListen,
    ) -> io::Result<(TokioListener, String)> {
        endpoint.require(erpc_peer::Network::Quic)?;
        let addrs = endpoint.resolve(true)?;
        let l = crate::quic::bind(addrs[0], listen)?;
        let addr = l.local_addr().to_string();
        Ok((TokioListener::Quic(l), addr))
    }

    async fn bind(&self, endpoint: &Endpoint) -> io::Result<(TokioListener, String)> {
        match endpoint {
            Endpoint::Tcp { .. } => {
                let addrs = endpoint.resolve(true)?;
                let l = TcpListener::bind(&addrs[..]).await?;
                let addr = l.local_addr()?.to_string();
                Ok((TokioListener::Tcp(l), addr))
            }
            #[cfg(unix)]
            Endpoint::Unix(path) => {
                let l = UnixListener::bind(path)?;
                Ok((
                    TokioListener::Unix(l, path.clone()),
                    path.display().to_string(),
                ))
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Endpoint::Unixpacket(path) => {
                let l = crate::unixpacket::TokioUnixpacketListener::bind(path)?;
                Ok((TokioListener::Unixpacket(l), path.display().to_string()))
            }
            #[cfg(feature = "kcp")]
            Endpoint::Kcp(_) => kcp_bind(endpoint, &Default::default()).await,
            #[cfg(feature = "ws")]
            Endpoint::Ws(ws) => {
                let addrs = endpoint.resolve(true)?;
                let l = crate::ws::TokioWsListener::bind(addrs[0], ws).await?;
                let addr = l.local_addr().to_string();
                Ok((TokioListener::Ws(l), addr))
            }
            #[allow(unreachable_patterns)]
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("network of {other}"),
            )),
        }
    }

    #[cfg(unix)]
    fn adopt(
        &self,
        endpoint: &Endpoint,
        listener: erpc_peer::InheritedListener,
    ) -> io::Result<(TokioListener, String)> {
        use erpc_peer::InheritedListener as L;
        match (endpoint, listener) {
            (Endpoint::Tcp { .. }, L::Tcp(l)) => {
                l.set_nonblocking(true)?;
                let l = TcpListener::from_std(l)?;
                let addr = l.local_addr()?.to_string();
                Ok((TokioListener::Tcp(l), addr))
            }
            (Endpoint::Unix(path), L::Unix(l)) => {
                l.set_nonblocking(true)?;
                let l = UnixListener::from_std(l)?;
                Ok((
                    TokioListener::Unix(l, path.clone()),
                    path.display().to_string(),
                ))
            }
            #[cfg(feature = "ws")]
            (Endpoint::Ws(ws), L::Tcp(l)) => {
                let l = crate::ws::TokioWsListener::from_std(l, ws)?;
                let addr = l.local_addr().to_string();
                Ok((TokioListener::Ws(l), addr))
            }
            (other, _) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("an inherited listener for {other}"),
            )),
        }
    }

    #[cfg(unix)]
    fn listener_fd<'a>(&self, listener: &'a TokioListener) -> Option<std::os::fd::BorrowedFd<'a>> {
        use std::os::fd::AsFd;
        match listener {
            TokioListener::Tcp(l) => Some(l.as_fd()),
            TokioListener::Unix(l, _) => Some(l.as_fd()),
            #[cfg(feature = "ws")]
            TokioListener::Ws(l) => l.listener_fd(),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }

    async fn accept(
        &self,
        listener: &TokioListener,
        opts: SocketOptions,
    ) -> io::Result<Connected<Self::Stream>> {
        match listener {
            TokioListener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                tcp_connected(s, opts)
            }
            #[cfg(unix)]
            TokioListener::Unix(l, path) => {
                let (s, _) = l.accept().await?;
                let n = next_unix_conn();
                // Unix peers have no address of their own; number them for session ids.
                Ok(Connected::new(
                    TokioStream::Unix(s),
                    path.display().to_string(),
                    format!("unix:{}#{n}", path.display()),
                ))
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            TokioListener::Unixpacket(l) => {
                let s = l.accept().await?;
                let n = next_unix_conn();
                Ok(Connected::new(
                    TokioStream::Unixpacket(s),
                    l.path().display().to_string(),
                    format!("unixpacket:{}#{n}", l.path().display()),
                ))
            }
            #[cfg(feature = "kcp")]
            TokioListener::Kcp(l) => {
                let s = l.accept().await?;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                Ok(Connected::new(TokioStream::Kcp(s), local, remote))
            }
            #[cfg(feature = "ws")]
            TokioListener::Ws(l) => {
                let s = l.accept().await?;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                let id = s.session_id().map(str::to_owned);
                Ok(Connected::new(TokioStream::Ws(Box::new(s)), local, remote).with_session_id(id))
            }
            #[cfg(feature = "quic")]
            TokioListener::Quic(l) => {
                let s = l.accept().await?;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                let s = TokioStream::Quic(Box::new(s));
                Ok(Connected::new(s, local, remote).secured())
            }
        }
    }
}
