//! The `ws` network on tokio (feature `ws`): WebSocket as Go eRPC's `mixer/websocket`,
//! written once in erpc-peer ([`erpc_peer::ws`]: one eRPC message per websocket message, the
//! upgrade with its path, token and [`handshake`](WsEndpoint::handshake) checks, files for
//! plain HTTP requests, `wss://`, the bounded upgrade tasks, flow control). Here: tokio's TCP
//! sockets, the streams in tokio's I/O traits, and mounting on an existing HTTP server.
//!
//! Mounting (Go's `NewServeHandler`): the server answers the upgrade (`101`,
//! [`accept_key`]) on its own route and hands the upgraded connection to [`serve_upgraded`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pub use erpc_peer::ws::{
    accept_key, upgrade, ACCEPT_BACKLOG, HANDSHAKE_TIMEOUT, MAX_HANDSHAKES, MAX_WRITE_BUFFER,
};
use erpc_peer::ws::{WsListener, WsStream};
use erpc_peer::WsEndpoint;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::compat::{Compat, FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};

use crate::Tokio;

/// A connection another HTTP server upgraded (hyper's `Upgraded` through
/// `hyper_util::rt::TokioIo`, say): any tokio byte stream.
pub trait UpgradedIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> UpgradedIo for T {}

/// A websocket connection as a stream of records (see [`erpc_peer::ws`]), in tokio's I/O
/// traits.
#[derive(Debug)]
pub struct TokioWsStream(Compat<WsStream>);

impl TokioWsStream {
    /// Dials `ws://<addr><path>[?access_token=T]` over a connected TCP stream (`wss://`, TLS
    /// first, when the endpoint's [`tls`](WsEndpoint::tls) has a client configuration); socket
    /// options already applied. The TLS and websocket handshakes together take at most
    /// [`HANDSHAKE_TIMEOUT`].
    pub async fn connect(tcp: TcpStream, endpoint: &WsEndpoint) -> io::Result<Self> {
        let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
        let ws = WsStream::connect(&Tokio, tcp.compat(), local, peer, endpoint).await?;
        Ok(TokioWsStream(ws.compat()))
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.get_ref().local_addr()
    }

    /// The session id the listener's [`handshake`](WsEndpoint::handshake) check gave (Go's
    /// `Erpc-Session-Id`); `None` on a dial or without a check.
    pub fn session_id(&self) -> Option<&str> {
        self.0.get_ref().session_id()
    }

    /// The other side's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.0.get_ref().peer_addr()
    }
}

impl AsyncRead for TokioWsStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for TokioWsStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

/// A websocket listener: TCP accepts and upgrades in tasks of the current tokio runtime
/// (see [`erpc_peer::ws`]); dropping it stops them.
#[derive(Debug)]
pub struct TokioWsListener(WsListener);

impl TokioWsListener {
    /// Binds `addr` and serves `endpoint`.
    pub async fn bind(addr: SocketAddr, endpoint: &WsEndpoint) -> io::Result<Self> {
        Self::serve(TcpListener::bind(addr).await?, endpoint)
    }

    /// Serves `endpoint` on a TCP listener bound elsewhere (one inherited on a graceful
    /// reboot).
    pub fn from_std(tcp: std::net::TcpListener, endpoint: &WsEndpoint) -> io::Result<Self> {
        tcp.set_nonblocking(true)?;
        Self::serve(TcpListener::from_std(tcp)?, endpoint)
    }

    fn serve(tcp: TcpListener, endpoint: &WsEndpoint) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        #[cfg(unix)]
        let fd = std::os::fd::AsFd::as_fd(&tcp).try_clone_to_owned()?;
        let tcp = Arc::new(tcp);
        let accept = move || {
            let tcp = Arc::clone(&tcp);
            async move {
                let (s, peer) = tcp.accept().await?;
                let _ = s.set_nodelay(true);
                let local = s.local_addr()?;
                Ok((s.compat(), local, peer))
            }
        };
        let listener = WsListener::serve(&Tokio, local, accept, endpoint);
        #[cfg(unix)]
        let listener = listener.with_listener_fd(fd);
        Ok(TokioWsListener(listener))
    }

    /// The listening socket (a graceful reboot hands it to the next process).
    #[cfg(unix)]
    pub(crate) fn listener_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.0.listener_fd()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// The next upgraded connection.
    pub async fn accept(&self) -> io::Result<TokioWsStream> {
        Ok(TokioWsStream(self.0.accept().await?.compat()))
    }
}

/// Serves on `peer` a websocket connection another HTTP server upgraded (Go's
/// `NewServeHandler`): the server checked the request and answered `101 Switching Protocols`
/// (with [`accept_key`]); `io` is the connection after that answer. The session speaks the
/// peer's websocket sub-protocol (`ws_subproto`), its id is `remote` (as for accepted
/// connections), and it is served in the background like [`Peer::serve_conn`](erpc_peer::Peer::serve_conn)'s.
///
/// ```no_run
/// # async fn demo(peer: erpc_runtime_tokio::Peer, upgraded: tokio::net::TcpStream) -> Result<(), erpc_runtime_tokio::Status> {
/// // In the HTTP server's handler for the route, after answering 101:
/// let local = "127.0.0.1:8080".parse().unwrap();
/// let remote = "127.0.0.1:50000".parse().unwrap();
/// let session = erpc_runtime_tokio::ws::serve_upgraded(&peer, upgraded, local, remote).await?;
/// session.push("/hello", &"over the mounted endpoint").await?;
/// # Ok(()) }
/// ```
pub async fn serve_upgraded(
    peer: &crate::Peer,
    io: impl UpgradedIo,
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<erpc_peer::Session, erpc_peer::Status> {
    let ws = WsStream::upgraded(io.compat(), local, remote).await;
    let stream = TokioWsStream(ws.compat());
    let conn = erpc_peer::Connected::new(
        crate::TokioStream::Ws(Box::new(stream)),
        local.to_string(),
        remote.to_string(),
    );
    peer.serve_ws_conn(conn).await
}
