//! [`ThreadStream`] and [`ThreadListener`]: what the blocking runtime connects, binds and
//! accepts, by network: std sockets (tcp, unix, unixpacket); with the feature `kcp`, KCP
//! sessions over a std UDP socket; with the feature `ws`, erpc-peer's websocket
//! ([`erpc_peer::ws`]) over those TCP sockets, its accept loop and upgrades on threads.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use erpc_peer::{Connected, Endpoint, SocketOptions};
use futures_io::{AsyncRead, AsyncWrite};

use crate::net::{self, Conns, SocketListener, SocketStream};
use crate::rt::Threads;

/// A connection of the blocking runtime (a socket, a std reader and writer, a KCP session, a
/// websocket).
#[derive(Debug)]
pub struct ThreadStream(StreamKind);

#[derive(Debug)]
enum StreamKind {
    Socket(SocketStream),
    Io(crate::io_stream::IoStream),
    #[cfg(feature = "kcp")]
    Kcp(erpc_peer::kcp::KcpStreamHandle),
    #[cfg(feature = "ws")]
    Ws(Box<erpc_peer::ws::WsStream>),
}

/// A listener of the blocking runtime (a listening socket with its accept thread, or a KCP
/// listener's UDP socket).
#[derive(Debug)]
pub struct ThreadListener(ListenerKind);

#[derive(Debug)]
enum ListenerKind {
    Socket(SocketListener),
    #[cfg(feature = "kcp")]
    Kcp(crate::kcp::KcpListener),
    #[cfg(feature = "ws")]
    Ws(erpc_peer::ws::WsListener),
}

impl ThreadStream {
    /// A connected std TCP stream, read and written as the runtime's own connections (for
    /// [`Peer::serve_conn`](crate::Peer::serve_conn)).
    pub(crate) fn from_tcp(
        conns: &Conns,
        stream: std::net::TcpStream,
    ) -> io::Result<Connected<ThreadStream>> {
        let c = net::adopt_stream(conns, stream)?;
        Ok(c.map(|s| ThreadStream(StreamKind::Socket(s))))
    }

    /// Any std reader and writer (for [`Peer::serve_io`](crate::Peer::serve_io)).
    pub(crate) fn from_io<R, W>(reader: R, writer: W) -> io::Result<ThreadStream>
    where
        R: io::Read + Send + 'static,
        W: io::Write + Send + 'static,
    {
        let s = crate::io_stream::IoStream::start(reader, writer)?;
        Ok(ThreadStream(StreamKind::Io(s)))
    }
}

impl ThreadListener {
    /// Serves a std TCP listener bound elsewhere (socket activation, options this crate does
    /// not set): see [`Peer::serve_listener`](crate::Peer::serve_listener).
    pub(crate) fn from_tcp(
        listener: std::net::TcpListener,
    ) -> io::Result<(ThreadListener, String)> {
        let (l, addr) = net::adopt_tcp(listener)?;
        Ok((ThreadListener(ListenerKind::Socket(l)), addr))
    }
}

/// Dials `endpoint`.
pub(crate) async fn connect(
    rt: Threads,
    conns: Conns,
    endpoint: Endpoint,
    opts: SocketOptions,
) -> io::Result<Connected<ThreadStream>> {
    match &endpoint {
        #[cfg(feature = "kcp")]
        Endpoint::Kcp(_) => connect_kcp(rt, endpoint, Default::default()).await,
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) => {
            let c = net::connect(conns, tcp_of(ws), opts).await?;
            let (local, peer) = (c.local_addr.parse(), c.remote_addr.parse());
            let (Ok(local), Ok(peer)) = (local, peer) else {
                return Err(io::Error::other("a TCP connection without IP addresses"));
            };
            let s = erpc_peer::ws::WsStream::connect(&rt, c.stream, local, peer, ws).await?;
            Ok(Connected::new(
                ThreadStream(StreamKind::Ws(Box::new(s))),
                local.to_string(),
                peer.to_string(),
            ))
        }
        _ => {
            let _ = rt;
            let c = net::connect(conns, endpoint, opts).await?;
            Ok(c.map(|s| ThreadStream(StreamKind::Socket(s))))
        }
    }
}

/// The TCP endpoint under a websocket one.
#[cfg(feature = "ws")]
fn tcp_of(ws: &erpc_peer::WsEndpoint) -> Endpoint {
    Endpoint::Tcp {
        addr: ws.addr.clone(),
        family: erpc_peer::IpFamily::Any,
    }
}

/// Serves `endpoint` on `tcp`, the accept loop and the upgrades on threads of `rt`.
#[cfg(feature = "ws")]
fn serve_ws(
    rt: &Threads,
    (tcp, addr): (SocketListener, String),
    endpoint: &erpc_peer::WsEndpoint,
) -> io::Result<(ThreadListener, String)> {
    let local: std::net::SocketAddr = addr
        .parse()
        .map_err(|_| io::Error::other("a TCP listener without an IP address"))?;
    #[cfg(unix)]
    let fd = tcp.as_fd().try_clone_to_owned()?;
    let tcp = std::sync::Arc::new(tcp);
    let conns = rt.conns().clone();
    let accept = move || {
        let (tcp, conns) = (std::sync::Arc::clone(&tcp), conns.clone());
        async move {
            let c = tcp.accept(conns, SocketOptions::default()).await?;
            match (c.local_addr.parse(), c.remote_addr.parse()) {
                (Ok(local), Ok(peer)) => Ok((c.stream, local, peer)),
                _ => Err(io::Error::other("a TCP connection without IP addresses")),
            }
        }
    };
    let l = erpc_peer::ws::WsListener::serve(rt, local, accept, endpoint);
    #[cfg(unix)]
    let l = l.with_listener_fd(fd);
    Ok((ThreadListener(ListenerKind::Ws(l)), local.to_string()))
}

/// Dials a KCP endpoint with `config`, its driver on a thread of `rt`.
#[cfg(feature = "kcp")]
pub(crate) async fn connect_kcp(
    rt: Threads,
    endpoint: Endpoint,
    config: crate::kcp::KcpConfig,
) -> io::Result<Connected<ThreadStream>> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let remote = match endpoint.literal(false) {
        Some(a) => a,
        // A name: looked up on a helper thread, so the dial timeout still holds.
        None => {
            net::on_helper_thread(move || erpc_peer::kcp::dial_address(endpoint.resolve(false)?))
                .await?
        }
    };
    let s = crate::kcp::connect(&rt, remote, config)?;
    let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
    Ok(Connected::new(
        ThreadStream(StreamKind::Kcp(s)),
        local,
        remote,
    ))
}

/// Binds a KCP listener whose sessions use `config`, its driver on a thread of `rt`.
#[cfg(feature = "kcp")]
pub(crate) fn bind_kcp(
    rt: &Threads,
    endpoint: &Endpoint,
    config: crate::kcp::KcpConfig,
) -> io::Result<(ThreadListener, String)> {
    endpoint.require(erpc_peer::Network::Kcp)?;
    let addr = endpoint.resolve(true)?[0];
    let l = crate::kcp::KcpListener::bind(rt, addr, config, crate::kcp::DEFAULT_MAX_SESSIONS)?;
    let addr = l.local_addr().to_string();
    Ok((ThreadListener(ListenerKind::Kcp(l)), addr))
}

/// Binds `endpoint` (binding does not block; a KCP listener's driver starts on a thread of
/// `rt`).
pub(crate) fn bind(rt: &Threads, endpoint: &Endpoint) -> io::Result<(ThreadListener, String)> {
    match endpoint {
        #[cfg(feature = "kcp")]
        Endpoint::Kcp(_) => bind_kcp(rt, endpoint, Default::default()),
        #[cfg(feature = "ws")]
        Endpoint::Ws(ws) => serve_ws(rt, net::bind(&tcp_of(ws))?, ws),
        _ => {
            let _ = rt;
            let (l, addr) = net::bind(endpoint)?;
            Ok((ThreadListener(ListenerKind::Socket(l)), addr))
        }
    }
}

/// Serves a listener inherited on a graceful reboot (tcp and unix).
#[cfg(unix)]
pub(crate) fn adopt(
    #[cfg_attr(not(feature = "ws"), allow(unused_variables))] rt: &Threads,
    endpoint: &Endpoint,
    listener: erpc_peer::InheritedListener,
) -> io::Result<(ThreadListener, String)> {
    #[cfg(feature = "ws")]
    if let Endpoint::Ws(ws) = endpoint {
        return serve_ws(rt, net::adopt(&tcp_of(ws), listener)?, ws);
    }
    let (l, addr) = net::adopt(endpoint, listener)?;
    Ok((ThreadListener(ListenerKind::Socket(l)), addr))
}

impl ThreadListener {
    pub(crate) async fn accept(
        &self,
        conns: Conns,
        opts: SocketOptions,
    ) -> io::Result<Connected<ThreadStream>> {
        match &self.0 {
            ListenerKind::Socket(l) => {
                let c = l.accept(conns, opts).await?;
                Ok(c.map(|s| ThreadStream(StreamKind::Socket(s))))
            }
            #[cfg(feature = "ws")]
            ListenerKind::Ws(l) => {
                let s = l.accept().await?;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                let id = s.session_id().map(str::to_owned);
                Ok(
                    Connected::new(ThreadStream(StreamKind::Ws(Box::new(s))), local, remote)
                        .with_session_id(id),
                )
            }
            #[cfg(feature = "kcp")]
            ListenerKind::Kcp(l) => {
                let s = l.accept().await;
                let (local, remote) = (s.local_addr().to_string(), s.peer_addr().to_string());
                Ok(Connected::new(
                    ThreadStream(StreamKind::Kcp(s)),
                    local,
                    remote,
                ))
            }
        }
    }

    /// The listening socket a graceful reboot hands to the next process (tcp and unix).
    #[cfg(unix)]
    pub(crate) fn as_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        match &self.0 {
            ListenerKind::Socket(l) => Some(l.as_fd()),
            #[cfg(feature = "kcp")]
            ListenerKind::Kcp(_) => None,
            #[cfg(feature = "ws")]
            ListenerKind::Ws(l) => l.listener_fd(),
        }
    }
}

/// Runs `$body` with `$s` bound to the stream inside, pinned.
macro_rules! each {
    ($self:expr, $s:ident => $body:expr) => {
        match &mut $self.get_mut().0 {
            StreamKind::Socket(s) => {
                let $s = Pin::new(s);
                $body
            }
            StreamKind::Io(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(feature = "kcp")]
            StreamKind::Kcp(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(feature = "ws")]
            StreamKind::Ws(s) => {
                let $s = Pin::new(&mut **s);
                $body
            }
        }
    };
}

impl AsyncRead for ThreadStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for ThreadStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_close(cx))
    }
}
