//! [`Threads`]: erpc-peer's [`Runtime`] on std threads. A spawned future gets a thread of
//! its own and runs there under [`block_on`]; handler futures run on the peer's bounded
//! worker pool; timers are served by one timer thread per process.

use std::cell::Cell;
use std::collections::BinaryHeap;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::Instant;

use erpc_peer::{BoxFuture, Connected, Endpoint, PeerConfig, Runtime, SocketOptions};

use crate::net::Conns;
use crate::pool::{Pool, PoolConfig, PoolStats};
use crate::stream::{self, ThreadListener, ThreadStream};

/// Wakes one parked thread (or one waiting in `poll` on its sockets); the flag makes a wake
/// that comes before the wait count.
struct Signal {
    thread: Thread,
    notified: AtomicBool,
    #[cfg(unix)]
    poller: crate::wait::Poller,
}

impl Signal {
    fn new() -> Arc<Signal> {
        Arc::new(Signal {
            thread: std::thread::current(),
            notified: AtomicBool::new(false),
            #[cfg(unix)]
            poller: crate::wait::Poller::default(),
        })
    }
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // One unpark per wakeup: a thread already notified is not unparked again. Sequentially
        // consistent, against the waiting thread's "I am in poll" (see `crate::wait`).
        if !self.notified.swap(true, Ordering::SeqCst) {
            #[cfg(unix)]
            if self.poller.wake() {
                return;
            }
            self.thread.unpark();
        }
    }
}

thread_local! {
    /// This thread's waker, made once (no allocation per `block_on`), with whether a
    /// `block_on` is using it (a nested one makes its own).
    static PARKER: (Arc<Signal>, Waker, Cell<bool>) = {
        let signal = Signal::new();
        let waker = Waker::from(Arc::clone(&signal));
        (signal, waker, Cell::new(false))
    };
}

/// Runs `fut` to completion on the calling thread: polls it, parks until its waker is woken
/// (or, when it waits on sockets, waits in `poll` on them and on its wakers: `crate::wait`),
/// polls again.
pub(crate) fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = std::pin::pin!(fut);
    #[cfg(unix)]
    let _sockets = crate::wait::Frame::enter();
    let cached = PARKER.with(|(signal, waker, busy)| {
        (!busy.replace(true)).then(|| (Arc::clone(signal), waker.clone()))
    });
    let nested = cached.is_none();
    let (signal, waker) = cached.unwrap_or_else(|| {
        let signal = Signal::new();
        let waker = Waker::from(Arc::clone(&signal));
        (signal, waker)
    });
    /// Frees the thread's cached waker when the `block_on` ends, panics included.
    struct Release(bool);
    impl Drop for Release {
        fn drop(&mut self) {
            if !self.0 {
                PARKER.with(|(_, _, busy)| busy.set(false));
            }
        }
    }
    let _release = Release(nested);
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        wait(&signal);
    }
}

/// How often a caller's thread (a call, a push, a dial) yields before it parks: on a busy
/// machine the reply it waits for often comes while the threads it yields to run (the
/// connection's thread, other callers), and the wake then costs neither a sleep nor a futex
/// wake. Measured on the 2-core benchmark (`erpc bench --runtime blocking -c 100`): 1 yield
/// 105-125k calls/s and 15-17 µs of CPU per call, 3-5 yields 130-150k and 13-15 µs, 10 or
/// more worse again. With idle cores a yield returns at once, so this bounds the spin to a
/// few microseconds.
const CALLER_YIELDS: usize = 4;

/// How often a spawned task's thread (a connection's driver, an accept loop) yields before it
/// parks: once, so that the callers queueing the next calls run first (more yields measured
/// no better: the driver has its batch by then).
const TASK_YIELDS: usize = 1;

thread_local! {
    /// Whether this thread runs a spawned task (see [`TASK_YIELDS`]).
    static TASK_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Waits for the signal, yielding [`CALLER_YIELDS`] or [`TASK_YIELDS`] times before it parks
/// (or waits in `poll` on the sockets the future waits on).
fn wait(signal: &Signal) {
    if signal.notified.swap(false, Ordering::AcqRel) {
        return;
    }
    let yields = if TASK_THREAD.with(Cell::get) {
        TASK_YIELDS
    } else {
        CALLER_YIELDS
    };
    for _ in 0..yields {
        std::thread::yield_now();
        if signal.notified.swap(false, Ordering::AcqRel) {
            return;
        }
    }
    #[cfg(unix)]
    if signal.poller.wait(&signal.notified) {
        return;
    }
    while !signal.notified.swap(false, Ordering::AcqRel) {
        std::thread::park();
    }
}

thread_local! {
    /// Set while [`Threads::spawn_handler`] polls a handler on the connection's thread because
    /// the worker pool is full: the handler wrappers of this crate answer "overloaded" then
    /// instead of running the user's function.
    static REFUSING: Cell<bool> = const { Cell::new(false) };
}

/// Whether the handler being polled must refuse (the worker pool is full).
pub(crate) fn refusing() -> bool {
    REFUSING.with(Cell::get)
}

/// erpc-peer's [`Runtime`] on std threads and sockets: what the blocking [`Peer`](crate::Peer)
/// runs on. Cheap to clone; the clones share the worker pool and the connection registry.
///
/// * `spawn` runs a future (a connection's driver, an accept loop) on a new thread;
/// * `spawn_handler` runs a handler on the worker pool; when the pool is full the handler is
///   polled once on the calling thread, where this crate's handlers answer at once (a call
///   with 500 `worker pool overload`, a push is dropped and counted) without running the
///   user's function;
/// * timers are served by one timer thread per process;
/// * streams are std sockets, read and written by the thread that polls them (see the crate
///   docs).
#[derive(Clone, Debug)]
pub struct Threads {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    pool: Pool<BoxFuture<()>>,
    conns: Conns,
}

impl Threads {
    /// A runtime for a peer with `config`: handlers run on a pool sized by `pool`; connect
    /// threads give up after `config.dial_timeout` (zero: never); on platforms without
    /// non-blocking writes, a connection fails when one write blocks longer than
    /// `config.write_timeout` (elsewhere erpc-peer's own write timeout applies).
    pub fn new(pool: PoolConfig, config: &PeerConfig) -> Self {
        Threads {
            inner: Arc::new(Inner {
                pool: Pool::new(pool),
                conns: Conns::new(config.write_timeout, config.dial_timeout),
            }),
        }
    }

    /// A snapshot of the worker pool.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.pool.stats()
    }

    pub(crate) fn conns(&self) -> &Conns {
        &self.inner.conns
    }

    pub(crate) fn pool(&self) -> &Pool<BoxFuture<()>> {
        &self.inner.pool
    }

    /// Cuts every connection still open (after a graceful close ran out of time, to free the
    /// threads of connections whose peers stopped reading).
    pub(crate) fn cut_connections(&self) {
        self.inner.conns.cut_all();
    }
}

impl Runtime for Threads {
    type Stream = ThreadStream;
    type Listener = ThreadListener;
    type Timer = ThreadTimer;

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let spawned = std::thread::Builder::new()
            .name("erpc-conn".into())
            .spawn(move || {
                TASK_THREAD.with(|t| t.set(true));
                block_on(fut)
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "could not start a thread: task dropped");
        }
    }

    fn spawn_handler<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let Err(mut job) = self.inner.pool.try_submit(Box::pin(fut)) else {
            return;
        };
        // The pool is full. Blocking this thread until a worker is free could deadlock (the
        // busy handlers may wait for replies only this connection delivers), so the handler
        // is polled here, once, in refusing mode: this crate's handlers answer at once.
        REFUSING.with(|r| r.set(true));
        let mut cx = Context::from_waker(Waker::noop());
        let done = job.as_mut().poll(&mut cx).is_ready();
        REFUSING.with(|r| r.set(false));
        if !done {
            // Not one of this crate's handlers: run it anyway, over the pool's bound.
            tracing::warn!("worker pool full: a task is queued over its bound");
            self.inner.pool.force_submit(job);
        }
    }

    /// The handlers of this crate run whole, blocking, in their first step: never inside
    /// the connection's thread.
    fn inline_handlers_allowed(&self) -> bool {
        false
    }

    fn timer(&self, deadline: Instant) -> ThreadTimer {
        ThreadTimer::new(deadline)
    }

    fn connect(
        &self,
        endpoint: &Endpoint,
        opts: SocketOptions,
    ) -> impl Future<Output = io::Result<Connected<ThreadStream>>> + Send {
        stream::connect(
            self.clone(),
            self.inner.conns.clone(),
            endpoint.clone(),
            opts,
        )
    }

    fn bind(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = io::Result<(ThreadListener, String)>> + Send {
        std::future::ready(stream::bind(self, endpoint))
    }

    #[cfg(feature = "kcp")]
    fn connect_kcp(
        &self,
        endpoint: &Endpoint,
        _opts: SocketOptions,
        config: &crate::kcp::KcpConfig,
    ) -> impl Future<Output = io::Result<Connected<ThreadStream>>> + Send {
        stream::connect_kcp(self.clone(), endpoint.clone(), config.clone())
    }

    #[cfg(feature = "kcp")]
    fn bind_kcp(
        &self,
        endpoint: &Endpoint,
        config: &crate::kcp::KcpConfig,
    ) -> impl Future<Output = io::Result<(ThreadListener, String)>> + Send {
        std::future::ready(stream::bind_kcp(self, endpoint, config.clone()))
    }

    #[cfg(unix)]
    fn adopt(
        &self,
        endpoint: &Endpoint,
        listener: erpc_peer::InheritedListener,
    ) -> io::Result<(ThreadListener, String)> {
        stream::adopt(self, endpoint, listener)
    }

    #[cfg(unix)]
    fn listener_fd<'a>(&self, listener: &'a ThreadListener) -> Option<std::os::fd::BorrowedFd<'a>> {
        listener.as_fd()
    }

    fn accept(
        &self,
        listener: &ThreadListener,
        opts: SocketOptions,
    ) -> impl Future<Output = io::Result<Connected<ThreadStream>>> + Send {
        listener.accept(self.inner.conns.clone(), opts)
    }
}

// ---- timers ----

/// The state one timer shares with the timer thread.
#[derive(Debug)]
struct TimerState {
    deadline: Instant,
    /// The earliest entry of this timer in the timer thread's heap, if any.
    scheduled: Option<Instant>,
    waker: Option<Waker>,
}

/// A resettable timer future, woken by the process's timer thread.
#[derive(Debug)]
pub struct ThreadTimer {
    state: Arc<Mutex<TimerState>>,
}

/// Timers alive in this process (unit tests: an idle connection holds none).
#[cfg(test)]
static LIVE_TIMERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(test)]
impl Drop for ThreadTimer {
    fn drop(&mut self) {
        LIVE_TIMERS.fetch_sub(1, Ordering::SeqCst);
    }
}

impl ThreadTimer {
    pub(crate) fn new(deadline: Instant) -> Self {
        #[cfg(test)]
        LIVE_TIMERS.fetch_add(1, Ordering::SeqCst);
        ThreadTimer {
            state: Arc::new(Mutex::new(TimerState {
                deadline,
                scheduled: None,
                waker: None,
            })),
        }
    }
}

impl erpc_peer::Timer for ThreadTimer {
    fn reset(&mut self, deadline: Instant) {
        lock(&self.state).deadline = deadline;
    }
}

impl Future for ThreadTimer {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut st = lock(&self.state);
        if Instant::now() >= st.deadline {
            st.waker = None;
            return Poll::Ready(());
        }
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        // An earlier entry in the heap re-schedules this timer when it comes due; a later
        // one (or none) needs a new entry.
        if st.scheduled.is_none_or(|s| s > st.deadline) {
            st.scheduled = Some(st.deadline);
            let at = st.deadline;
            drop(st);
            timer_thread().schedule(at, Arc::downgrade(&self.state));
        }
        Poll::Pending
    }
}

struct Entry {
    at: Instant,
    timer: Weak<Mutex<TimerState>>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Earliest first in the max-heap.
        other.at.cmp(&self.at)
    }
}

/// The process's timer thread: a heap of deadlines; it wakes each timer when it is due.
struct TimerThread {
    heap: Mutex<BinaryHeap<Entry>>,
    cv: Condvar,
}

fn timer_thread() -> &'static TimerThread {
    static TIMERS: OnceLock<&'static TimerThread> = OnceLock::new();
    TIMERS.get_or_init(|| {
        let t: &'static TimerThread = Box::leak(Box::new(TimerThread {
            heap: Mutex::new(BinaryHeap::new()),
            cv: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("erpc-timer".into())
            .spawn(move || t.run())
            .expect("start the erpc timer thread");
        t
    })
}

impl TimerThread {
    fn schedule(&self, at: Instant, timer: Weak<Mutex<TimerState>>) {
        let mut heap = lock(&self.heap);
        let earliest = heap.peek().is_none_or(|e| at < e.at);
        heap.push(Entry { at, timer });
        if earliest {
            self.cv.notify_one();
        }
    }

    fn run(&self) {
        let mut heap = lock(&self.heap);
        loop {
            let now = Instant::now();
            let mut due = Vec::new();
            while heap.peek().is_some_and(|e| e.at <= now) {
                due.push(heap.pop().expect("peeked"));
            }
            if !due.is_empty() {
                drop(heap);
                for e in due {
                    self.fire(e, now);
                }
                heap = lock(&self.heap);
                continue;
            }
            heap = match heap.peek().map(|e| e.at) {
                Some(at) => {
                    self.cv
                        .wait_timeout(heap, at.saturating_duration_since(now))
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
                None => self.cv.wait(heap).unwrap_or_else(|e| e.into_inner()),
            };
        }
    }

    /// An entry came due: wake its timer, or re-schedule it if it was reset to later.
    fn fire(&self, e: Entry, now: Instant) {
        let Some(timer) = e.timer.upgrade() else {
            return;
        };
        let mut st = lock(&timer);
        if st.scheduled != Some(e.at) {
            // A stale entry: the timer has an earlier one.
            return;
        }
        st.scheduled = None;
        if st.deadline <= now {
            if let Some(w) = st.waker.take() {
                drop(st);
                w.wake();
            }
        } else if st.waker.is_some() {
            st.scheduled = Some(st.deadline);
            let at = st.deadline;
            drop(st);
            self.schedule(at, Arc::downgrade(&timer));
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    use erpc_peer::{Code, PeerConfig, Status};

    use crate::CallCtx;

    use super::LIVE_TIMERS;

    /// Polls `cond` every 10 ms for up to 5 s.
    fn eventually(mut cond: impl FnMut() -> bool) -> bool {
        (0..500).any(|_| {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
            false
        })
    }

    /// Connections that went quiet give their runtime timer back (an idle session costs no
    /// timer), and make a new one for the next deadline: a call after the quiet spell still
    /// ends with 408 while its handler is held (without a timer it would wait for the reply).
    #[test]
    fn quiet_connections_hold_no_timer_and_arm_a_new_one_when_needed() {
        let local = PeerConfig {
            local_ip: "127.0.0.1".into(),
            ..PeerConfig::default()
        };
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = std::sync::Mutex::new(held);
        let server = crate::builder(local)
            .call("/echo", |_ctx: CallCtx, v: i64| Ok::<_, Status>(v))
            .call("/held", move |_ctx: CallCtx, v: i64| {
                let _ = super::lock(&held).recv_timeout(Duration::from_secs(10));
                Ok::<_, Status>(v)
            })
            .build()
            .unwrap();
        let addr = server.listen().unwrap();
        let client = crate::builder(PeerConfig::default()).build().unwrap();
        let sessions: Vec<_> = (0..8).map(|_| client.dial(&addr).unwrap()).collect();
        for (i, s) in sessions.iter().enumerate() {
            assert_eq!(s.call::<_, i64>("/echo", &(i as i64)).unwrap(), i as i64);
        }
        // 16 connections (both ends of 8 sessions) each armed a timer for their calls.
        assert!(
            eventually(|| LIVE_TIMERS.load(Ordering::SeqCst) == 0),
            "idle connections still hold {} timers",
            LIVE_TIMERS.load(Ordering::SeqCst)
        );
        assert!(sessions.iter().all(|s| !s.is_closed()));
        assert_eq!(server.count_sessions(), 8);

        let late = sessions[0]
            .call_with("/held")
            .timeout(Duration::from_millis(200))
            .send::<_, i64>(&1);
        // The handler is let go only now: a reply could not have ended the call.
        release.send(()).unwrap();
        assert_eq!(late.unwrap_err().code(), Code::HANDLE_TIMEOUT);
        assert_eq!(sessions[1].call::<_, i64>("/echo", &7).unwrap(), 7);
        client.close();
        server.close();
    }
}
