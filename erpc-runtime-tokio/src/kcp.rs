//! KCP on tokio (feature `kcp`): one UDP socket and one driver task per listener or dialed
//! session, around erpc-kcp's sans-IO [`KcpListener`].
//!
//! The driver task owns the socket: it feeds every datagram to the sessions, runs their
//! timers, and sends what they queue. Streams and the listener handle share the session table
//! with it behind a mutex (held for no await) and wake it when they queued bytes. A session
//! ends when its stream is dropped, or when its link dies (no ACK from a silent peer: KCP has
//! no FIN), which readers then see as end of stream.

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
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::UdpSocket;

/// Accepted sessions waiting for `accept`, at most (kcp-go's `acceptBacklog`); a new session
/// past it is dropped, as kcp-go does.
pub const ACCEPT_BACKLOG: usize = 128;

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

/// Receive errors in a row after which the driver yields (and is polled again at once).
const MAX_ERRORS_PER_POLL: usize = 16;

/// The task that owns a UDP socket.
struct Driver {
    socket: UdpSocket,
    shared: SharedRef,
    sleep: Pin<Box<tokio::time::Sleep>>,
    out: VecDeque<(SocketAddr, Vec<u8>)>,
    buf: Vec<u8>,
    /// The earliest session deadline as last computed (`None`: compute it): the session
    /// table is scanned for timers only when it is due.
    next_deadline: Option<Instant>,
}

impl Future for Driver {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        loop {
            let mut shared = lock(&this.shared);
            #[allow(clippy::disallowed_methods)]
            let now = Instant::now();
            let mut errors = 0;
            loop {
                let mut rb = ReadBuf::new(&mut this.buf);
                match this.socket.poll_recv_from(cx, &mut rb) {
                    Poll::Ready(Ok(from)) => {
                        let input = shared.sessions.handle_input(now, from, rb.filled());
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
                match this.socket.poll_send_to(cx, packet, *to) {
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
                this.sleep.as_mut().reset(at.into());
                if this.sleep.as_mut().poll(cx).is_ready() {
                    continue;
                }
            }
            return Poll::Pending;
        }
    }
}

fn start(socket: UdpSocket, sessions: KcpListener, accepting: bool) -> SharedRef {
    let shared = Arc::new(Mutex::new(Shared {
        sessions,
        wakers: HashMap::new(),
        accepted: VecDeque::new(),
        accept_waker: None,
        driver_waker: None,
        handles: 1,
        accepting,
    }));
    #[allow(clippy::disallowed_methods)]
    let now = Instant::now();
    tokio::spawn(Driver {
        socket,
        shared: shared.clone(),
        sleep: Box::pin(tokio::time::sleep_until(now.into())),
        out: VecDeque::new(),
        buf: vec![0; 65536],
        next_deadline: None,
    });
    shared
}

/// A bound KCP listener: one UDP socket whose sessions are created by the peers' first data
/// packets (Go's `kcp.ServeConn`).
#[derive(Debug)]
pub struct TokioKcpListener {
    shared: SharedRef,
    local_addr: SocketAddr,
}

impl TokioKcpListener {
    /// Binds a UDP socket at `addr`; sessions use `config`, at most `max_sessions` at once.
    pub async fn bind(
        addr: SocketAddr,
        config: KcpConfig,
        max_sessions: usize,
    ) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr).await?;
        let local_addr = socket.local_addr()?;
        let shared = start(socket, KcpListener::new(config, max_sessions), true);
        Ok(Self { shared, local_addr })
    }

    /// Binds with kcp-go's parameters and [`DEFAULT_MAX_SESSIONS`].
    pub async fn bind_default(addr: SocketAddr) -> io::Result<Self> {
        Self::bind(addr, KcpConfig::default(), DEFAULT_MAX_SESSIONS).await
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for the next new session.
    pub async fn accept(&self) -> io::Result<TokioKcpStream> {
        let (addr, conv) = std::future::poll_fn(|cx| {
            let mut shared = lock(&self.shared);
            match shared.accepted.pop_front() {
                Some(next) => {
                    shared.handles += 1;
                    Poll::Ready(next)
                }
                None => {
                    shared.accept_waker = Some(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await;
        Ok(TokioKcpStream {
            shared: self.shared.clone(),
            remote: addr,
            local: self.local_addr,
            conv,
        })
    }
}

impl Drop for TokioKcpListener {
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

/// One KCP session as a byte stream (Go's `kcp.UDPSession` as erpc uses it).
#[derive(Debug)]
pub struct TokioKcpStream {
    shared: SharedRef,
    remote: SocketAddr,
    local: SocketAddr,
    conv: u32,
}

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
        let conv = random_conv();
        #[allow(clippy::disallowed_methods)]
        let conn = KcpConn::new(conv, &config, Instant::now())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut sessions = KcpListener::new(config, 0);
        sessions.insert(remote, conn);
        let shared = start(socket, sessions, false);
        Ok(Self {
            shared,
            remote,
            local,
            conv,
        })
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
}

impl AsyncRead for TokioKcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut shared = lock(&this.shared);
        let Some(conn) = shared.session(&this.remote, this.conv) else {
            return Poll::Ready(Ok(())); // gone: end of stream
        };
        let n = conn.read(buf.initialize_unfilled());
        if n > 0 {
            buf.advance(n);
            // Reading opened the receive window: let the driver tell the peer.
            shared.kick();
            return Poll::Ready(Ok(()));
        }
        shared.wakers.entry(this.remote).or_default().read = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl AsyncWrite for TokioKcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let mut shared = lock(&this.shared);
        let Some(conn) = shared.session(&this.remote, this.conv) else {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        };
        #[allow(clippy::disallowed_methods)]
        let n = conn.send(Instant::now(), data);
        if n > 0 || data.is_empty() {
            shared.kick();
            return Poll::Ready(Ok(n));
        }
        tracing::trace!(
            conv = this.conv,
            unacknowledged = conn.unacknowledged(),
            remote_window = conn.remote_window(),
            "kcp write waits for the send window"
        );
        shared.wakers.entry(this.remote).or_default().write = Some(cx.waker().clone());
        Poll::Pending
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Like Go's `UDPSession.Write`, bytes are on their way once taken.
        Poll::Ready(Ok(()))
    }

    /// Waits until the peer acknowledged everything written (or the session is gone).
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut shared = lock(&this.shared);
        match shared.session(&this.remote, this.conv) {
            Some(conn) if conn.unacknowledged() > 0 => {
                shared.wakers.entry(this.remote).or_default().write = Some(cx.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl Drop for TokioKcpStream {
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
