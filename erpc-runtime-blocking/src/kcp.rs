//! The `kcp` network on std threads (feature `kcp`): erpc-peer's KCP driving
//! ([`erpc_peer::kcp`], shared with the async adapters) over a std UDP socket.
//!
//! A reader thread per socket blocks in `recv_from` and hands datagrams to the driver through
//! a bounded queue ([`RECV_QUEUE`]; when it is full the reader waits and the kernel drops
//! what else arrives, which KCP retransmits). The driver runs on a thread of its own (the
//! runtime's `spawn`), sends with `send_to` on the same socket, and sleeps on the process's
//! timer thread. The reader wakes every [`STOP_CHECK`] to see whether the driver is gone, so
//! a closed socket is released within that time.

use std::future::Future;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use erpc_peer::kcp::{dial_socket, listen_socket, KcpIo, KcpListenerHandle, KcpStreamHandle};
pub use erpc_peer::kcp::{FecConfig, KcpConfig, ACCEPT_BACKLOG, DEFAULT_MAX_SESSIONS};
use erpc_peer::{Runtime, Timer};

use crate::pipe::{self, pipe};
use crate::rt::{ThreadTimer, Threads};

/// Datagrams the reader thread queues for the driver, at most.
pub const RECV_QUEUE: usize = 256;
/// How often a reader thread with nothing to read checks whether its driver is gone.
pub const STOP_CHECK: Duration = Duration::from_millis(200);
/// The largest datagram received (a UDP datagram's limit).
const MAX_DATAGRAM: usize = 65536;

type Datagram = io::Result<(Bytes, SocketAddr)>;

#[allow(clippy::disallowed_methods)] // the clock of the KCP sessions
fn now() -> Instant {
    Instant::now()
}

/// A std UDP socket, its reader thread and a timer, for the KCP driver.
struct ThreadUdp {
    socket: Arc<UdpSocket>,
    rx: pipe::Receiver<Datagram>,
    timer: ThreadTimer,
}

impl ThreadUdp {
    fn new(socket: UdpSocket) -> io::Result<Self> {
        socket.set_read_timeout(Some(STOP_CHECK))?;
        let socket = Arc::new(socket);
        let (tx, rx) = pipe(RECV_QUEUE);
        let reader = Arc::clone(&socket);
        std::thread::Builder::new()
            .name("erpc-kcp-reader".into())
            .spawn(move || recv_loop(&reader, &tx))?;
        Ok(ThreadUdp {
            socket,
            rx,
            timer: ThreadTimer::new(now()),
        })
    }
}

fn recv_loop(socket: &UdpSocket, tx: &pipe::Sender<Datagram>) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !tx.is_closed() {
        let item = match socket.recv_from(&mut buf) {
            Ok((n, from)) => Ok((Bytes::copy_from_slice(&buf[..n]), from)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                continue
            }
            // An ICMP error of an earlier send and the like: the driver counts it and goes on.
            Err(e) => Err(e),
        };
        if tx.send(item).is_err() {
            break;
        }
    }
}

impl KcpIo for ThreadUdp {
    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(Some(Ok((d, from)))) => {
                let n = d.len().min(buf.len());
                buf[..n].copy_from_slice(&d[..n]);
                Poll::Ready(Ok((n, from)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Err(e)),
            Poll::Ready(None) => Poll::Ready(Err(io::Error::other("UDP reader thread ended"))),
            Poll::Pending => Poll::Pending,
        }
    }

    /// A UDP send blocks only while the socket's send buffer is full, briefly.
    fn poll_send_to(
        &mut self,
        _cx: &mut Context<'_>,
        packet: &[u8],
        to: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.socket.send_to(packet, to) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                r => return Poll::Ready(r),
            }
        }
    }

    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()> {
        self.timer.reset(at);
        Pin::new(&mut self.timer).poll(cx)
    }

    fn now(&self) -> Instant {
        now()
    }
}

/// A bound KCP listener: one UDP socket whose sessions are created by the peers' first data
/// packets (Go's `kcp.ServeConn`).
#[derive(Debug)]
pub(crate) struct KcpListener(KcpListenerHandle);

impl KcpListener {
    /// Binds a UDP socket at `addr`, its driver on a thread of `rt`; sessions use `config`,
    /// at most `max_sessions` at once.
    pub(crate) fn bind(
        rt: &Threads,
        addr: SocketAddr,
        config: KcpConfig,
        max_sessions: usize,
    ) -> io::Result<Self> {
        let (socket, local) = listen_socket(addr)?;
        let (handle, driver) =
            KcpListenerHandle::new(ThreadUdp::new(socket)?, now, local, config, max_sessions);
        rt.spawn(driver);
        Ok(Self(handle))
    }

    /// The bound address.
    pub(crate) fn local_addr(&self) -> SocketAddr {
        self.0.local_addr()
    }

    /// Waits for the next new session.
    pub(crate) async fn accept(&self) -> KcpStreamHandle {
        self.0.accept().await
    }
}

/// Dials `remote` from a new UDP socket, its driver on a thread of `rt` (Go's
/// `kcp.NewConn2`). KCP has no handshake: a dead peer shows as end of stream once the link
/// is found dead.
pub(crate) fn connect(
    rt: &Threads,
    remote: SocketAddr,
    config: KcpConfig,
) -> io::Result<KcpStreamHandle> {
    let (socket, local) = dial_socket(remote)?;
    let (handle, driver) =
        KcpStreamHandle::dial(ThreadUdp::new(socket)?, now, local, remote, config)?;
    rt.spawn(driver);
    Ok(handle)
}
