//! KCP on tokio (feature `kcp`): erpc-peer's runtime-independent KCP driving
//! ([`erpc_peer::kcp`]) over a tokio UDP socket and timer, its streams in tokio's I/O traits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

pub use erpc_peer::kcp::{FecConfig, KcpConfig, ACCEPT_BACKLOG, DEFAULT_MAX_SESSIONS};
use erpc_peer::kcp::{KcpIo, KcpListenerHandle, KcpStreamHandle};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;

#[allow(clippy::disallowed_methods)] // the clock of the KCP sessions
fn now() -> Instant {
    Instant::now()
}

/// A tokio UDP socket and sleep for the KCP driver.
struct TokioUdp {
    socket: UdpSocket,
    sleep: Pin<Box<tokio::time::Sleep>>,
}

impl TokioUdp {
    fn new(socket: UdpSocket) -> Self {
        TokioUdp {
            socket,
            sleep: Box::pin(tokio::time::sleep_until(now().into())),
        }
    }
}

impl KcpIo for TokioUdp {
    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        let mut rb = ReadBuf::new(buf);
        match self.socket.poll_recv_from(cx, &mut rb) {
            Poll::Ready(Ok(from)) => Poll::Ready(Ok((rb.filled().len(), from))),
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        to: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.socket.poll_send_to(cx, packet, to)
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        self.sleep.as_mut().reset(at.into());
        self.sleep.as_mut().poll(cx)
    }

    fn now(&self) -> Instant {
        now()
    }
}

/// A bound KCP listener: one UDP socket whose sessions are created by the peers' first data
/// packets (Go's `kcp.ServeConn`).
#[derive(Debug)]
pub struct TokioKcpListener(KcpListenerHandle);

impl TokioKcpListener {
    /// Binds a UDP socket at `addr`; sessions use `config`, at most `max_sessions` at once.
    pub async fn bind(
        addr: SocketAddr,
        config: KcpConfig,
        max_sessions: usize,
    ) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr).await?;
        let local = socket.local_addr()?;
        let (handle, driver) =
            KcpListenerHandle::new(TokioUdp::new(socket), now, local, config, max_sessions);
        tokio::spawn(driver);
        Ok(Self(handle))
    }

    /// Binds with kcp-go's parameters and [`DEFAULT_MAX_SESSIONS`].
    pub async fn bind_default(addr: SocketAddr) -> io::Result<Self> {
        Self::bind(addr, KcpConfig::default(), DEFAULT_MAX_SESSIONS).await
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Waits for the next new session.
    pub async fn accept(&self) -> io::Result<TokioKcpStream> {
        Ok(TokioKcpStream(self.0.accept().await))
    }
}

/// One KCP session as a byte stream (Go's `kcp.UDPSession` as erpc uses it).
#[derive(Debug)]
pub struct TokioKcpStream(KcpStreamHandle);

impl TokioKcpStream {
    /// Dials `remote` from a new UDP socket with a random conversation id (Go's
    /// `kcp.NewConn2`). KCP has no handshake: this returns at once, and a dead peer shows as
    /// end of stream once the link is found dead.
    pub async fn connect(remote: SocketAddr, config: KcpConfig) -> io::Result<Self> {
        let any: SocketAddr = if remote.is_ipv4() {
            "0.0.0.0:0".parse().expect("literal")
        } else {
            "[::]:0".parse().expect("literal")
        };
        let socket = UdpSocket::bind(any).await?;
        socket.connect(remote).await?;
        let local = socket.local_addr()?;
        let (handle, driver) =
            KcpStreamHandle::dial(TokioUdp::new(socket), now, local, remote, config)?;
        tokio::spawn(driver);
        Ok(Self(handle))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.0.peer_addr()
    }

    /// This side's address (the UDP socket's).
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.0.conv()
    }
}

impl AsyncRead for TokioKcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self.0.poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TokioKcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write(cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Like Go's `UDPSession.Write`, bytes are on their way once taken.
        Poll::Ready(Ok(()))
    }

    /// Waits until the peer acknowledged everything written (or the session is gone).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_shutdown(cx)
    }
}
