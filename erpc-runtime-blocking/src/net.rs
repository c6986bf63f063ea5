//! Std sockets as the futures-io streams erpc-peer drives: [`SocketStream`] (on unix read and
//! written without blocking by the thread that polls it, which waits in `poll` when the socket
//! has nothing or takes nothing; elsewhere a reader thread per connection feeding a bounded
//! queue, and writes that block) and
//! [`SocketListener`] (an accept thread), plus connecting on a helper thread.

use std::collections::HashMap;
use std::io;
#[cfg(not(unix))]
use std::io::Read;
#[cfg(not(unix))]
use std::io::Write;
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::thread::JoinHandle;
use std::time::Duration;

use erpc_peer::{Connected, Endpoint, SocketOptions};
use futures_io::{AsyncRead, AsyncWrite};

use crate::pipe::{self, pipe};
#[cfg(not(unix))]
use crate::reader::ReadQueue;
use crate::rt::lock;
use crate::socket::{self, Listener, Socket};
#[cfg(unix)]
use crate::wait::{self, Ready};

/// The open connections of a runtime, to cut those a graceful close left behind.
#[derive(Clone, Debug)]
pub(crate) struct Conns {
    inner: Arc<ConnsInner>,
}

#[derive(Debug)]
struct ConnsInner {
    /// How long one write may block before it fails the connection (`None`: no bound).
    write_timeout: Option<Duration>,
    /// How long a connect helper thread tries (`None`: as long as the OS does).
    dial_timeout: Option<Duration>,
    next: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Socket>>>,
}

impl Conns {
    /// Connections whose writes block at most `write_timeout` each and whose connects try
    /// at most `dial_timeout` (zero: without limit).
    pub(crate) fn new(write_timeout: Duration, dial_timeout: Duration) -> Self {
        let bound = |d: Duration| (!d.is_zero()).then_some(d);
        Conns {
            inner: Arc::new(ConnsInner {
                write_timeout: bound(write_timeout),
                dial_timeout: bound(dial_timeout),
                next: AtomicU64::new(0),
                open: Mutex::new(HashMap::new()),
            }),
        }
    }

    fn add(&self, s: &Arc<Socket>) -> u64 {
        let id = self.inner.next.fetch_add(1, Ordering::Relaxed);
        lock(&self.inner.open).insert(id, Arc::clone(s));
        id
    }

    fn remove(&self, id: u64) {
        lock(&self.inner.open).remove(&id);
    }

    pub(crate) fn cut_all(&self) {
        let open: Vec<Arc<Socket>> = lock(&self.inner.open).values().cloned().collect();
        for s in open {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// A connection's stream.
///
/// On unix the thread that polls it reads and writes the socket without blocking
/// (`MSG_DONTWAIT`); when the socket has nothing to read or takes nothing, the stream asks
/// that thread's `block_on` to wait in `poll` on the socket (`crate::wait`), so a connection's
/// thread sleeps on its socket and its wakers at once, and goes on reading while a write is
/// pending (erpc-peer's `write_timeout` closes a connection whose bytes stop moving).
/// Elsewhere a reader thread feeds a bounded queue and a write blocks until the kernel takes
/// it, at most the peer's `write_timeout`.
#[derive(Debug)]
pub(crate) struct SocketStream {
    socket: Arc<Socket>,
    #[cfg(not(unix))]
    read: ReadQueue,
    conns: Conns,
    id: u64,
}

/// How long a stream polled outside this crate's `block_on` (nothing in this crate does that)
/// waits for its socket inside one poll before it asks to be polled again.
#[cfg(unix)]
const OUTSIDE_SLICE: Duration = Duration::from_millis(10);

impl SocketStream {
    /// Adopts `socket` (on non-unix platforms: starts its reader thread).
    fn start(socket: Socket, conns: Conns) -> io::Result<SocketStream> {
        socket.set_write_timeout(conns.inner.write_timeout)?;
        let socket = Arc::new(socket);
        #[cfg(not(unix))]
        let read = ReadQueue::start("erpc-reader", SharedSocket(Arc::clone(&socket)))?;
        let id = conns.add(&socket);
        Ok(SocketStream {
            socket,
            #[cfg(not(unix))]
            read,
            conns,
            id,
        })
    }

    /// One read or write that does not block: pending (with the polling `block_on` told to
    /// wait for the socket) when the socket has nothing or takes nothing.
    #[cfg(unix)]
    fn poll_io(
        &mut self,
        cx: &mut Context<'_>,
        what: Ready,
        mut op: impl FnMut(&Socket) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match op(&self.socket) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                r => return Poll::Ready(r),
            }
        }
        if !wait::wait_for(&self.socket, what) {
            wait::wait_slice(&self.socket, what, OUTSIDE_SLICE);
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

/// The reader thread's handle on the socket the connection writes to.
#[cfg(not(unix))]
struct SharedSocket(Arc<Socket>);

#[cfg(not(unix))]
impl Read for SharedSocket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&mut &*self.0).read(buf)
    }
}

impl AsyncRead for SocketStream {
    #[cfg(unix)]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, Ready::Read, |s| s.try_read(&mut *buf))
    }

    #[cfg(not(unix))]
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().read.poll_read(cx, buf)
    }
}

impl AsyncWrite for SocketStream {
    #[cfg(unix)]
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, Ready::Write, |s| s.try_write(buf))
    }

    #[cfg(unix)]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_io(cx, Ready::Write, |s| s.try_write_vectored(bufs))
    }

    #[cfg(not(unix))]
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(timed_out((&mut &*self.socket).write(buf)))
    }

    #[cfg(not(unix))]
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Poll::Ready(timed_out((&mut &*self.socket).write_vectored(bufs)))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(match self.socket.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        })
    }
}

/// A (blocking) write that ran into the socket's write timeout reports `WouldBlock` (EAGAIN); to the
/// driver of a blocking socket that is a timeout.
#[cfg(not(unix))]
fn timed_out(r: io::Result<usize>) -> io::Result<usize> {
    match r {
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "write timeout: the peer stopped reading",
        )),
        r => r,
    }
}

impl Drop for SocketStream {
    fn drop(&mut self) {
        // Ends the connection now, even while a `block_on` still holds the socket among the
        // ones it waits on (and, off unix, ends the reader thread: its read returns, or its
        // send fails).
        let _ = self.socket.shutdown(Shutdown::Both);
        #[cfg(not(unix))]
        self.read.close();
        self.conns.remove(self.id);
    }
}

fn stream(c: Connected<Socket>, conns: Conns) -> io::Result<Connected<SocketStream>> {
    let (local, remote) = (c.local_addr, c.remote_addr);
    Ok(Connected::new(
        SocketStream::start(c.stream, conns)?,
        local,
        remote,
    ))
}

/// Connects on a helper thread (so that the future can be dropped, by a timeout or a close,
/// while the connect still blocks; the helper then drops the socket it gets).
pub(crate) async fn connect(
    conns: Conns,
    endpoint: Endpoint,
    opts: SocketOptions,
) -> io::Result<Connected<SocketStream>> {
    // erpc-peer bounds the dial with a timer around this future; the same bound on the
    // helper's connect keeps an abandoned helper from lingering longer.
    let timeout = conns.inner.dial_timeout;
    let c = on_helper_thread(move || socket::connect(&endpoint, opts, timeout)).await?;
    stream(c, conns)
}

/// Runs `work` (a connect, a name lookup: something that blocks) on a helper thread and
/// waits for it without blocking the calling task: dropping the future abandons the helper,
/// which then drops what it gets.
pub(crate) async fn on_helper_thread<T, F>(work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> io::Result<T> + Send + 'static,
{
    let (tx, mut rx) = pipe(1);
    std::thread::Builder::new()
        .name("erpc-connect".into())
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    match std::future::poll_fn(|cx| rx.poll_recv(cx)).await {
        Some(r) => r,
        None => Err(io::Error::other("connect thread ended")),
    }
}

/// Binds at once (binding does not block).
pub(crate) fn bind(endpoint: &Endpoint) -> io::Result<(SocketListener, String)> {
    let (l, addr) = socket::bind(endpoint)?;
    Ok((
        SocketListener {
            listener: Arc::new(l),
            acceptor: Mutex::new(None),
        },
        addr,
    ))
}

/// Serves a listener inherited on a graceful reboot.
#[cfg(unix)]
pub(crate) fn adopt(
    endpoint: &Endpoint,
    listener: erpc_peer::InheritedListener,
) -> io::Result<(SocketListener, String)> {
    let (l, addr) = socket::adopt(endpoint, listener)?;
    Ok((
        SocketListener {
            listener: Arc::new(l),
            acceptor: Mutex::new(None),
        },
        addr,
    ))
}

/// Serves a std TCP listener bound elsewhere.
pub(crate) fn adopt_tcp(l: std::net::TcpListener) -> io::Result<(SocketListener, String)> {
    let (l, addr) = socket::tcp_listener(l)?;
    Ok((
        SocketListener {
            listener: Arc::new(l),
            acceptor: Mutex::new(None),
        },
        addr,
    ))
}

/// A std TCP stream connected elsewhere, served as this runtime's own connections.
pub(crate) fn adopt_stream(
    conns: &Conns,
    s: std::net::TcpStream,
) -> io::Result<Connected<SocketStream>> {
    stream(socket::tcp_stream(s)?, conns.clone())
}

/// A listening socket; its accept thread starts with the first accept. Dropping it stops
/// that thread and closes the socket before the drop returns (the port is free then).
#[derive(Debug)]
pub(crate) struct SocketListener {
    listener: Arc<Listener>,
    acceptor: Mutex<Option<Acceptor>>,
}

struct Acceptor {
    rx: pipe::Receiver<io::Result<Connected<Socket>>>,
    /// Dropping this wakes the accept thread's `poll` (the other end hangs up).
    #[cfg(unix)]
    wake: std::os::unix::net::UnixStream,
    thread: JoinHandle<()>,
}

impl std::fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

impl SocketListener {
    pub(crate) async fn accept(
        &self,
        conns: Conns,
        opts: SocketOptions,
    ) -> io::Result<Connected<SocketStream>> {
        let next = std::future::poll_fn(|cx| {
            let mut acceptor = lock(&self.acceptor);
            if acceptor.is_none() {
                match self.start(opts) {
                    Ok(a) => *acceptor = Some(a),
                    Err(e) => return Poll::Ready(Some(Err(e))),
                }
            }
            acceptor.as_mut().expect("started").rx.poll_recv(cx)
        })
        .await;
        match next {
            Some(c) => stream(c?, conns),
            None => Err(io::Error::other("accept thread ended")),
        }
    }

    /// Starts the accept thread. On unix it waits in `poll` on the listener and a wake
    /// socket, then accepts without blocking; the listening socket is never shut down, so a
    /// graceful reboot can hand it over while this process still serves.
    #[cfg(unix)]
    fn start(&self, opts: SocketOptions) -> io::Result<Acceptor> {
        let (tx, rx) = pipe(1);
        let (wake, woken) = std::os::unix::net::UnixStream::pair()?;
        let l = Arc::clone(&self.listener);
        let thread = std::thread::Builder::new()
            .name("erpc-accept".into())
            .spawn(move || loop {
                let r = match l.wait_acceptable(&woken) {
                    Ok(true) => l.accept(opts),
                    Ok(false) => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => Err(e),
                };
                match &r {
                    // Another process (or thread) took it first, or the wait was spurious.
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    _ => {}
                }
                if tx.is_closed() || tx.send(r).is_err() {
                    break;
                }
            })?;
        Ok(Acceptor { rx, wake, thread })
    }

    #[cfg(not(unix))]
    fn start(&self, opts: SocketOptions) -> io::Result<Acceptor> {
        let (tx, rx) = pipe(1);
        let l = Arc::clone(&self.listener);
        let thread = std::thread::Builder::new()
            .name("erpc-accept".into())
            .spawn(move || loop {
                let r = l.accept(opts);
                if tx.is_closed() || tx.send(r).is_err() {
                    break;
                }
            })?;
        Ok(Acceptor { rx, thread })
    }

    /// The listening socket, which a graceful reboot hands to the next process.
    #[cfg(unix)]
    pub(crate) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.listener.as_fd()
    }
}

impl Drop for SocketListener {
    fn drop(&mut self) {
        let acceptor = lock(&self.acceptor).take();
        if let Some(a) = acceptor {
            // Closing the queue first makes the thread stop after its current accept; the
            // wake socket's hang-up (unix) or `wake` (elsewhere) ends the wait for one.
            drop(a.rx);
            #[cfg(unix)]
            drop(a.wake);
            #[cfg(not(unix))]
            self.listener.wake();
            let _ = a.thread.join();
        }
    }
}
