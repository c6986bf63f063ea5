//! The `kcp` network's driving, written once for every async adapter (feature `kcp`): one
//! UDP socket and one driver future per listener or dialed session, around erpc-kcp's
//! sans-IO [`KcpListener`].
//!
//! The adapter gives a [`KcpIo`] (its UDP socket, a timer and the clock), spawns the
//! [`KcpDriver`] future, and wraps [`KcpStreamHandle`] / [`KcpListenerHandle`] in its own
//! I/O traits. The driver owns the socket: it feeds every datagram to the sessions, runs
//! their timers, and sends what they queue. Streams and the listener handle share the session
//! table with it behind a mutex (held for no await) and wake it when they queued bytes. A
//! session ends when its stream is dropped, or when its link dies (no ACK from a silent peer:
//! KCP has no FIN), which readers then see as end of stream.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

pub use erpc_kcp::{FecConfig, KcpConfig, DEFAULT_MAX_SESSIONS};
use erpc_kcp::{KcpConn, KcpListener, ListenerInput};

/// Accepted sessions waiting for `accept`, at most (kcp-go's `acceptBacklog`); a new session
/// past it is dropped, as kcp-go does.
pub const ACCEPT_BACKLOG: usize = 128;

/// The largest datagram the driver receives (a UDP datagram's limit).
const RECV_BUFFER: usize = 65536;

/// Receive errors in a row after which the driver yields (and is polled again at once).
const MAX_ERRORS_PER_POLL: usize = 16;

/// The address a KCP dial sends to, of those a name resolved to: the first IPv4 one, else the
/// first (Go's `net.ResolveUDPAddr` for `udp`, which kcp-go's dial uses). KCP has no
/// handshake, so a dial cannot fall back to the next address.
pub fn dial_address(addrs: impl IntoIterator<Item = SocketAddr>) -> io::Result<SocketAddr> {
    let mut first = None;
    for a in addrs {
        if a.is_ipv4() {
            return Ok(a);
        }
        first.get_or_insert(a);
    }
    first.ok_or_else(|| io::Error::new(io::ErrorKind::AddrNotAvailable, "no address"))
}

/// A std UDP socket for a dial to `remote`: bound to the unspecified address of `remote`'s
/// family on a free port and connected to `remote`, with its local address. The adapters
/// make it non-blocking or give it a reader thread.
pub fn dial_socket(remote: SocketAddr) -> io::Result<(std::net::UdpSocket, SocketAddr)> {
    let any: SocketAddr = if remote.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    #[allow(clippy::disallowed_methods)] // binding a UDP socket does not block
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(remote)?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

/// A std UDP socket bound at `addr` for a listener, with its local address.
pub fn listen_socket(addr: SocketAddr) -> io::Result<(std::net::UdpSocket, SocketAddr)> {
    #[allow(clippy::disallowed_methods)] // binding a UDP socket does not block
    let socket = std::net::UdpSocket::bind(addr)?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

/// What a runtime gives the driver: a UDP socket, one resettable timer, the clock.
pub trait KcpIo: Send + 'static {
    /// Receives one datagram (`Pending` with the waker registered when none waits).
    fn poll_recv_from(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>>;

    /// Sends one datagram to `to` (`Pending` with the waker registered when the socket is
    /// full).
    fn poll_send_to(
        &mut self,
        cx: &mut Context<'_>,
        packet: &[u8],
        to: SocketAddr,
    ) -> Poll<io::Result<usize>>;

    /// Sets the timer to `at` and polls it: `Ready` once `at` has passed.
    fn poll_timer(&mut self, cx: &mut Context<'_>, at: Instant) -> Poll<()>;

    /// The current time.
    fn now(&self) -> Instant;
}

/// The clock of the streams (the same as [`KcpIo::now`]).
pub type Clock = fn() -> Instant;

#[derive(Debug, Default)]
struct Wakers {
    read: Option<Waker>,
    write: Option<Waker>,
}

impl Wakers {
    fn wake(&mut self) {
        if let Some(w) = self.read.take() {
            w.wake();
        }
        if let Some(w) = self.write.take() {
            w.wake();
        }
    }
}

/// What the driver, the streams and the listener handle share.
#[derive(Debug)]
struct Shared {
    sessions: KcpListener,
    wakers: HashMap<SocketAddr, Wakers>,
    accepted: VecDeque<(SocketAddr, u32)>,
    accept_waker: Option<Waker>,
    driver_waker: Option<Waker>,
    /// Streams and listener handles alive; the driver stops at 0.
    handles: usize,
    /// A listener handle is alive to accept new sessions.
    accepting: bool,
    clock: Clock,
}

impl Shared {
    fn kick(&mut self) {
        if let Some(w) = self.driver_waker.take() {
            w.wake();
        }
    }

    /// The session of a stream, if it is still the same conversation.
    fn session(&mut self, addr: &SocketAddr, conv: u32) -> Option<&mut KcpConn> {
        self.sessions.session_mut(addr).filter(|c| c.conv() == conv)
    }
}

type SharedRef = Arc<Mutex<Shared>>;

fn lock(shared: &SharedRef) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock leaves plain data behind: keep going.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The future that owns a UDP socket: spawn it on the runtime; it ends once every stream
/// and listener handle of the socket is gone and its last packets are sent.
pub struct KcpDriver<I> {
    io: I,
    shared: SharedRef,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    buf: Vec<u8>,
    /// The earliest session deadline as last computed (`None`: compute it): the session
    /// table is scanned for timers only when it is due.
    next_deadline: Option<Instant>,
}

impl<I> std::fmt::Debug for KcpDriver<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KcpDriver")
            .field("queued", &self.out.len())
            .finish_non_exhaustive()
    }
}

impl<I: KcpIo + Unpin> Future for KcpDriver<I> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            let mut shared = lock(&this.shared);
            let now = this.io.now();
            let mut errors = 0;
            loop {
                match this.io.poll_recv_from(cx, &mut this.buf) {
                    Poll::Ready(Ok((n, from))) => {
                        let input = shared.sessions.handle_input(now, from, &this.buf[..n]);
                        match input {
                            ListenerInput::Delivered => {}
                            ListenerInput::Accepted { addr, conv }
                            | ListenerInput::Replaced { addr, conv, .. } => {
                                if let Some(c) = shared.sessions.session_mut(&addr) {
                                    let at = c.poll_timeout();
                                    this.next_deadline = this.next_deadline.map(|d| d.min(at));
                                }
                                if shared.accepting && shared.accepted.len() < ACCEPT_BACKLOG {
                                    shared.accepted.push_back((addr, conv));
                                    if let Some(w) = shared.accept_waker.take() {
                                        w.wake();
                                    }
                                } else {
                                    shared.sessions.remove(&addr);
                                }
                            }
                            _ => {}
                        }
                        if let Some(w) = shared.wakers.get_mut(&from) {
                            w.wake();
                        }
                    }
                    // Per-datagram errors (an ICMP "port unreachable" on a dialed socket):
                    // the socket stays usable. A run of them yields to the scheduler rather
                    // than spinning.
                    Poll::Ready(Err(e)) => {
                        errors += 1;
                        if errors >= MAX_ERRORS_PER_POLL {
                            tracing::debug!("kcp receive: {e}; yielding");
                            cx.waker().wake_by_ref();
                            break;
                        }
                    }
                    Poll::Pending => break,
                }
            }
            if this.next_deadline.is_none_or(|d| d <= now) {
                for (addr, _) in shared.sessions.handle_timeout(now) {
                    tracing::debug!(%addr, "kcp session dead: no answer from the peer");
                    if let Some(w) = shared.wakers.get_mut(&addr) {
                        w.wake();
                    }
                }
                this.next_deadline = shared.sessions.poll_timeout();
            }
            shared.sessions.drain_transmits(&mut this.out);
            let next = this.next_deadline;
            let stop = shared.handles == 0;
            shared.driver_waker = Some(cx.waker().clone());
            drop(shared);
            while let Some((to, packet)) = this.out.front() {
                match this.io.poll_send_to(cx, packet, *to) {
                    Poll::Ready(result) => {
                        if let Err(e) = result {
                            tracing::debug!(%to, "kcp send: {e}");
                        }
                        this.out.pop_front();
                    }
                    Poll::Pending => break,
                }
            }
            if stop && this.out.is_empty() {
                return Poll::Ready(());
            }
            if let Some(at) = next {
                if this.io.poll_timer(cx, at).is_ready() {
                    continue;
                }
            }
            return Poll::Pending;
        }
    }
}

fn start<I: KcpIo>(
    io: I,
    clock: Clock,
    sessions: KcpListener,
    accepting: bool,
) -> (SharedRef, KcpDriver<I>) {
    let shared = Arc::new(Mutex::new(Shared {
        sessions,
        wakers: HashMap::new(),
        accepted: VecDeque::new(),
        accept_waker: None,
        driver_waker: None,
        handles: 1,
        accepting,
        clock,
    }));
    let driver = KcpDriver {
        io,
        shared: shared.clone(),
        out: VecDeque::new(),
        buf: vec![0; RECV_BUFFER],
        next_deadline: None,
    };
    (shared, driver)
}

/// The accepting side of a KCP listener: sessions are created by the peers' first data
/// packets (Go's `kcp.ServeConn`).
#[derive(Debug)]
pub struct KcpListenerHandle {
    shared: SharedRef,
    local_addr: SocketAddr,
}

impl KcpListenerHandle {
    /// A listener on the bound socket `io` (at `local_addr`); sessions use `config`, at most
    /// `max_sessions` at once. Spawn the driver.
    pub fn new<I: KcpIo>(
        io: I,
        clock: Clock,
        local_addr: SocketAddr,
        config: KcpConfig,
        max_sessions: usize,
    ) -> (Self, KcpDriver<I>) {
        let (shared, driver) = start(io, clock, KcpListener::new(config, max_sessions), true);
        (Self { shared, local_addr }, driver)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The next new session, once one arrived.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<KcpStreamHandle> {
        let mut shared = lock(&self.shared);
        match shared.accepted.pop_front() {
            Some((addr, conv)) => {
                shared.handles += 1;
                Poll::Ready(KcpStreamHandle {
                    shared: self.shared.clone(),
                    remote: addr,
                    local: self.local_addr,
                    conv,
                })
            }
            None => {
                shared.accept_waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }

    /// Waits for the next new session.
    pub async fn accept(&self) -> KcpStreamHandle {
        std::future::poll_fn(|cx| self.poll_accept(cx)).await
    }
}

impl Drop for KcpListenerHandle {
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        shared.handles -= 1;
        shared.accepting = false;
        // Sessions never accepted go with the listener.
        while let Some((addr, conv)) = shared.accepted.pop_front() {
            if shared.session(&addr, conv).is_some() {
                shared.sessions.remove(&addr);
            }
        }
        shared.kick();
    }
}

/// A random conversation id (kcp-go's dialer takes one from `crypto/rand`; uniqueness per
/// socket is what matters, and each dialed session has its own socket).
fn random_conv() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    // RandomState is keyed at random per process.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    h.finish() as u32
}

/// One KCP session as a byte stream (Go's `kcp.UDPSession` as erpc uses it); the adapters
/// wrap it in their read and write traits.
#[derive(Debug)]
pub struct KcpStreamHandle {
    shared: SharedRef,
    remote: SocketAddr,
    local: SocketAddr,
    conv: u32,
}

impl KcpStreamHandle {
    /// A session to `remote` over `io`, a socket of its own bound at `local` and connected
    /// to `remote`, with a random conversation id (Go's `kcp.NewConn2`). KCP has no
    /// handshake: a dead peer shows as end of stream once the link is found dead. Spawn the
    /// driver.
    pub fn dial<I: KcpIo>(
        io: I,
        clock: Clock,
        local: SocketAddr,
        remote: SocketAddr,
        config: KcpConfig,
    ) -> io::Result<(Self, KcpDriver<I>)> {
        let conv = random_conv();
        let conn = KcpConn::new(conv, &config, clock())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut sessions = KcpListener::new(config, 0);
        sessions.insert(remote, conn);
        let (shared, driver) = start(io, clock, sessions, false);
        Ok((
            Self {
                shared,
                remote,
                local,
                conv,
            },
            driver,
        ))
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.remote
    }

    /// This side's address (the UDP socket's).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The conversation id.
    pub fn conv(&self) -> u32 {
        self.conv
    }

    /// Reads received bytes into `buf`; `Ready(Ok(0))` at the end of the session.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let mut shared = lock(&self.shared);
        let Some(conn) = shared.session(&self.remote, self.conv) else {
            return Poll::Ready(Ok(0)); // gone: end of stream
        };
        let n = conn.read(buf);
        if n > 0 || buf.is_empty() {
            // Reading opened the receive window: let the driver tell the peer.
            shared.kick();
            return Poll::Ready(Ok(n));
        }
        shared.wakers.entry(self.remote).or_default().read = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Queues bytes of `data` for sending (waits for the send window).
    pub fn poll_write(&self, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let mut shared = lock(&self.shared);
        let now = (shared.clock)();
        let Some(conn) = shared.session(&self.remote, self.conv) else {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        };
        let n = conn.send(now, data);
        if n > 0 || data.is_empty() {
            shared.kick();
            return Poll::Ready(Ok(n));
        }
        tracing::trace!(
            conv = self.conv,
            unacknowledged = conn.unacknowledged(),
            remote_window = conn.remote_window(),
            "kcp write waits for the send window"
        );
        shared.wakers.entry(self.remote).or_default().write = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Waits until the peer acknowledged everything written (or the session is gone).
    pub fn poll_shutdown(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut shared = lock(&self.shared);
        match shared.session(&self.remote, self.conv) {
            Some(conn) if conn.unacknowledged() > 0 => {
                shared.wakers.entry(self.remote).or_default().write = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

/// The stream in futures-io's traits (the blocking adapter uses it as is).
impl futures_io::AsyncRead for KcpStreamHandle {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        KcpStreamHandle::poll_read(&self, cx, buf)
    }
}

impl futures_io::AsyncWrite for KcpStreamHandle {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        KcpStreamHandle::poll_write(&self, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Waits until the peer acknowledged everything written (or the session is gone).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_shutdown(cx)
    }
}

impl Drop for KcpStreamHandle {
    fn drop(&mut self) {
        let mut shared = lock(&self.shared);
        if shared.session(&self.remote, self.conv).is_some() {
            shared.sessions.remove(&self.remote);
            shared.wakers.remove(&self.remote);
        }
        shared.handles -= 1;
        shared.kick();
    }
}

#[cfg(test)]
mod tests {
    use super::dial_address;
    use std::net::SocketAddr;

    #[test]
    fn a_dial_prefers_ipv4_as_go_does() {
        let v6: SocketAddr = "[::1]:7".parse().unwrap();
        let v4: SocketAddr = "127.0.0.1:7".parse().unwrap();
        assert_eq!(dial_address([v6, v4]).unwrap(), v4);
        assert_eq!(dial_address([v6]).unwrap(), v6);
        assert!(dial_address([]).is_err());
    }
}
