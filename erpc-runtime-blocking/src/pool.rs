//! The worker pool that runs handlers: at most `max_workers` threads (started on demand, idle
//! ones exit after a while) and a bounded queue. A full pool refuses new work at once — the
//! caller decides what refusing means (a 500 reply, a logged drop) — rather than blocking the
//! connection thread, which would deadlock handlers waiting for replies on that connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use erpc_peer::BoxFuture;

use crate::rt::{block_on, lock};

/// Work for the pool.
pub(crate) trait Job: Send + 'static {
    fn run(self);
}

/// A handler's future: the worker runs it to completion (this crate's handlers complete on
/// their first poll).
impl Job for BoxFuture<()> {
    fn run(self) {
        block_on(self);
    }
}

/// Sizing of the handler worker pool (see [`PeerBuilder::worker_pool`](crate::PeerBuilder::worker_pool)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolConfig {
    /// Most handler threads running at once (at least 1). Default 64.
    pub max_workers: usize,
    /// Most handler runs waiting for a free thread once every thread is busy. Default 1024.
    /// Beyond it incoming calls are answered with status 500 and pushes are dropped (logged
    /// at WARN and counted in [`PoolStats`]).
    pub queue: usize,
    /// How long an idle thread waits for work before it exits. Default 30 s.
    pub idle_timeout: Duration,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            max_workers: 64,
            queue: 1024,
            idle_timeout: Duration::from_secs(30),
        }
    }
}

impl PoolConfig {
    /// A pool of at most `max_workers` threads with `queue` places.
    pub fn new(max_workers: usize, queue: usize) -> Self {
        PoolConfig {
            max_workers: max_workers.max(1),
            queue,
            ..PoolConfig::default()
        }
    }

    /// Sets how long an idle thread waits for work before it exits.
    pub fn with_idle_timeout(mut self, idle_timeout: Duration) -> Self {
        self.idle_timeout = idle_timeout;
        self
    }
}

/// A snapshot of the worker pool, from [`Peer::pool_stats`](crate::Peer::pool_stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Threads alive.
    pub workers: usize,
    /// Threads running a handler.
    pub busy: usize,
    /// Handler runs waiting for a thread.
    pub queued: usize,
    /// Incoming calls answered with 500 because the pool was full.
    pub rejected_calls: u64,
    /// Incoming pushes dropped because the pool was full.
    pub dropped_pushes: u64,
}

struct State<J> {
    cfg: PoolConfig,
    jobs: VecDeque<J>,
    workers: usize,
    /// Threads waiting for work.
    idle: usize,
    /// Idle threads woken and not yet running (at most one at a time: each woken thread
    /// wakes the next if work is left, so a burst of small jobs wakes only as many threads
    /// as it keeps busy).
    waking: usize,
    closed: bool,
}

impl<J> State<J> {
    /// Wakes an idle thread for the queued work unless one is already on its way.
    fn wake_one(&mut self, cv: &Condvar) {
        if !self.jobs.is_empty() && self.idle > self.waking && self.waking == 0 {
            self.waking += 1;
            cv.notify_one();
        }
    }
}

struct Inner<J> {
    state: Mutex<State<J>>,
    work: Condvar,
    rejected_calls: AtomicU64,
    dropped_pushes: AtomicU64,
}

/// A bounded thread pool. Cheap to clone.
pub(crate) struct Pool<J> {
    inner: Arc<Inner<J>>,
}

impl<J> std::fmt::Debug for Pool<J> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cfg = lock(&self.inner.state).cfg;
        f.debug_struct("Pool").field("config", &cfg).finish()
    }
}

impl<J> Clone for Pool<J> {
    fn clone(&self) -> Self {
        Pool {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<J: Job> Pool<J> {
    pub(crate) fn new(cfg: PoolConfig) -> Self {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    cfg: PoolConfig {
                        max_workers: cfg.max_workers.max(1),
                        ..cfg
                    },
                    jobs: VecDeque::new(),
                    workers: 0,
                    idle: 0,
                    waking: 0,
                    closed: false,
                }),
                work: Condvar::new(),
                rejected_calls: AtomicU64::new(0),
                dropped_pushes: AtomicU64::new(0),
            }),
        }
    }

    /// Queues `job` unless the pool is full (or closed); gives it back then.
    pub(crate) fn try_submit(&self, job: J) -> Result<(), J> {
        let inner = &self.inner;
        let mut st = lock(&inner.state);
        if st.closed {
            return Err(job);
        }
        // Jobs not yet taken by an idle thread.
        let backlog = st.jobs.len().saturating_sub(st.idle);
        if st.jobs.len() < st.idle {
            st.jobs.push_back(job);
            st.wake_one(&inner.work);
            return Ok(());
        }
        if st.workers < st.cfg.max_workers {
            let me = self.clone();
            let spawned = std::thread::Builder::new()
                .name("erpc-worker".into())
                .spawn(move || me.work());
            if spawned.is_ok() {
                st.workers += 1;
                st.jobs.push_back(job);
                return Ok(());
            }
            tracing::warn!("could not start a worker thread");
        }
        if backlog < st.cfg.queue {
            st.jobs.push_back(job);
            st.wake_one(&inner.work);
            return Ok(());
        }
        Err(job)
    }

    /// Queues `job` even when the pool is full (for work that cannot be refused).
    pub(crate) fn force_submit(&self, job: J) {
        if let Err(job) = self.try_submit(job) {
            let mut st = lock(&self.inner.state);
            st.jobs.push_back(job);
            if st.workers == 0 {
                let me = self.clone();
                if std::thread::Builder::new()
                    .name("erpc-worker".into())
                    .spawn(move || me.work())
                    .is_ok()
                {
                    st.workers += 1;
                }
            }
            st.wake_one(&self.inner.work);
        }
    }

    fn work(self) {
        let inner = &self.inner;
        let mut st = lock(&inner.state);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                st.wake_one(&inner.work);
                drop(st);
                // Handlers catch their own panics; this keeps the count right if anything
                // else in a job does.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job.run()));
                st = lock(&inner.state);
                continue;
            }
            if st.closed {
                break;
            }
            st.idle += 1;
            let idle_timeout = st.cfg.idle_timeout;
            let (guard, waited) = inner
                .work
                .wait_timeout(st, idle_timeout)
                .unwrap_or_else(|e| e.into_inner());
            st = guard;
            st.idle -= 1;
            st.waking = st.waking.saturating_sub(1);
            if waited.timed_out() && st.jobs.is_empty() {
                break;
            }
        }
        st.workers -= 1;
    }

    /// Lets idle threads exit; queued work still runs. Later submissions are refused.
    pub(crate) fn close(&self) {
        lock(&self.inner.state).closed = true;
        self.inner.work.notify_all();
    }

    pub(crate) fn count_rejected_call(&self) {
        self.inner.rejected_calls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_dropped_push(&self) {
        self.inner.dropped_pushes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn config(&self) -> PoolConfig {
        lock(&self.inner.state).cfg
    }

    /// Changes the sizing (before the pool runs anything).
    pub(crate) fn resize(&self, cfg: PoolConfig) {
        lock(&self.inner.state).cfg = PoolConfig {
            max_workers: cfg.max_workers.max(1),
            ..cfg
        };
    }

    pub(crate) fn stats(&self) -> PoolStats {
        let st = lock(&self.inner.state);
        PoolStats {
            workers: st.workers,
            busy: st.workers - st.idle,
            queued: st.jobs.len(),
            rejected_calls: self.inner.rejected_calls.load(Ordering::Relaxed),
            dropped_pushes: self.inner.dropped_pushes.load(Ordering::Relaxed),
        }
    }
}
