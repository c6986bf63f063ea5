//! KCP on async-io (feature `kcp`; smol, async-std or any executor): erpc-peer's
//! runtime-independent KCP driving ([`erpc_peer::kcp`]) over an async-io UDP socket and
//! timer, its streams in futures-io's traits. The driver runs on the adapter's executor.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use async_io::{Async, Timer};
use erpc_peer::kcp::{dial_socket, listen_socket, KcpIo, KcpListenerHandle, KcpStreamHandle};
pub use erpc_peer::kcp::{FecConfig, KcpConfig, ACCEPT_BACKLOG, DEFAULT_MAX_SESSIONS};
use erpc_peer::Runtime;
use futures_io::{AsyncRead, AsyncWrite};

use crate::AsyncIo;

#[allow(clippy::disallowed_methods)] // the clock of the KCP sessions
fn now() -> Instant {
    Instant::now()
}

/// An async-io UDP socket and timer for the KCP driver.
struct AsyncIoUdp {
    socket: Async<UdpSocket>,
    timer: Timer,
}

impl AsyncIoUdp {
    fn new(socket: UdpSocket) -> io::Result<Self> {
        Ok(AsyncIoUdp {
            socket: Async::new(socket)?,
            timer: Timer::at(now()),
        })
    }
}

impl KcpIo for AsyncIoUdp {
    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        loop {
            match self.socket.get_ref().recv_from(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.socket.poll_readable(cx))?
                }
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        to: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.socket.get_ref().send_to(packet, to) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.socket.poll_writable(cx))?
                }
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        self.timer.set_at(at);
        Pin::new(&mut self.timer).poll(cx).map(|_| ())
    }

    fn now(&self) -> Instant {
        now()
    }
}

/// A bound KCP listener: one UDP socket whose sessions are created by the peers' first data
/// packets (Go's `kcp.ServeConn`).
#[derive(Debug)]
pub struct AsyncIoKcpListener(KcpListenerHandle);

impl AsyncIoKcpListener {
    /// Binds a UDP socket at `addr`, its driver on `rt`; sessions use `config`, at most
    /// `max_sessions` at once.
    pub fn bind(
        rt: &AsyncIo,
        addr: SocketAddr,
        config: KcpConfig,
        max_sessions: usize,
    ) -> io::Result<Self> {
        let (socket, local) = listen_socket(addr)?;
        let (handle, driver) =
            KcpListenerHandle::new(AsyncIoUdp::new(socket)?, now, local, config, max_sessions);
        rt.spawn(driver);
        Ok(Self(handle))
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Waits for the next new session.
    pub async fn accept(&self) -> AsyncIoKcpStream {
        AsyncIoKcpStream(self.0.accept().await)
    }
}

/// One KCP session as a byte stream (Go's `kcp.UDPSession` as erpc uses it).
#[derive(Debug)]
pub struct AsyncIoKcpStream(KcpStreamHandle);

impl AsyncIoKcpStream {
    /// Dials `remote` from a new UDP socket, its driver on `rt` (Go's `kcp.NewConn2`). KCP
    /// has no handshake: this returns at once, and a dead peer shows as end of stream once
    /// the link is found dead.
    pub fn connect(rt: &AsyncIo, remote: SocketAddr, config: KcpConfig) -> io::Result<Self> {
        let (socket, local) = dial_socket(remote)?;
        let (handle, driver) =
            KcpStreamHandle::dial(AsyncIoUdp::new(socket)?, now, local, remote, config)?;
        rt.spawn(driver);
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
}

impl AsyncRead for AsyncIoKcpStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for AsyncIoKcpStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    /// Waits until the peer acknowledged everything written (or the session is gone).
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_close(cx)
    }
}
