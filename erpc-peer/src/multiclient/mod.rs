//! [`MultiClient`]: Go eRPC's `mixer/multiclient` — several sessions to one address, each
//! call on the least-loaded one.
//!
//! The pool starts empty. A call takes the session with the fewest calls in flight through
//! the pool; when even that one is busy and the pool holds fewer than
//! [`max_sessions`](MultiClientConfig::max_sessions) sessions (counting those being
//! dialed), the call dials a new session and goes on it. Sessions with nothing in flight for
//! [`max_idle`](MultiClientConfig::max_idle) are closed (checked on every call and by a
//! background task); sessions that closed (the server went away) leave the pool and are
//! replaced on demand. [`MultiClient::stats`] reports the figures.
//!
//! The load counted is what is in flight *through the pool* (counted when a call is
//! handed its session, so that many callers arriving at once spread at once rather than
//! all seeing the same idle session); calls made directly on a session from
//! [`MultiClient::hire`] count while the [`Hired`] handle lives.
//!
//! Nothing is queued by the pool: a caller waits only while every allowed session is being
//! dialed (the first dial's result wakes it). Each session keeps its own bounded command
//! queue and limits.
//!
//! It is generic over the [`Runtime`], so it serves the tokio and async-std adapters
//! directly; the blocking adapter wraps it as `erpc_runtime_blocking::MultiClient`, with
//! blocking calls.

mod core;
mod stats;

use std::ops::Deref;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use erpc_proto::codec::{DecodeBody, EncodeBody};
use erpc_proto::proto::Protocol;
use erpc_proto::session::CallOptions;
use erpc_proto::{Code, Message, Status};

use crate::peer::Peer;
use crate::runtime::Runtime;
use crate::session::{lock, Session};

use self::core::{Pick, PoolCore};
pub use stats::MultiClientStats;

/// The default [`MultiClientConfig::max_sessions`].
pub const DEFAULT_MAX_SESSIONS: usize = 8;
/// The default [`MultiClientConfig::max_idle`].
pub const DEFAULT_MAX_IDLE: Duration = Duration::from_secs(60);

/// The settings of a [`MultiClient`] (Go's `sessMaxQuota`, `sessMaxIdleDuration`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultiClientConfig {
    /// Most sessions at once, dialing ones included; at least 1. Default
    /// [`DEFAULT_MAX_SESSIONS`] (8).
    pub max_sessions: usize,
    /// A session with nothing in flight for this long is closed; `Duration::ZERO`: never.
    /// Default [`DEFAULT_MAX_IDLE`] (60 s).
    pub max_idle: Duration,
}

impl Default for MultiClientConfig {
    fn default() -> Self {
        MultiClientConfig {
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_idle: DEFAULT_MAX_IDLE,
        }
    }
}

impl MultiClientConfig {
    /// Sets [`max_sessions`](Self::max_sessions).
    pub fn max_sessions(mut self, n: usize) -> Self {
        self.max_sessions = n;
        self
    }

    /// Sets [`max_idle`](Self::max_idle).
    pub fn max_idle(mut self, d: Duration) -> Self {
        self.max_idle = d;
        self
    }
}

struct Inner<R: Runtime> {
    peer: Peer<R>,
    addr: String,
    protocol: Option<Arc<dyn Protocol>>,
    core: Mutex<PoolCore<Session>>,
    /// Notified when a dial ends (a waiter may pick again).
    changed: event_listener::Event,
}

impl<R: Runtime> Inner<R> {
    /// Closes the sessions idle too long.
    fn expire(&self) {
        let now = self.peer.runtime().now();
        let gone = lock(&self.core).expire(now);
        self.close_idle(gone);
    }

    /// Closes sessions that [`PoolCore::expire`] removed.
    fn close_idle(&self, gone: Vec<Session>) {
        for s in gone {
            tracing::debug!(addr = %self.addr, session = %s.id(), "multiclient: idle session closed");
            s.close();
        }
    }
}

/// Several sessions to one address, dialed by one [`Peer`] (see the [module docs](self)).
/// Cheap to clone; the clones share the pool.
///
/// ```ignore
/// let pool = MultiClient::new(peer.clone(), "127.0.0.1:9090", MultiClientConfig::default().max_sessions(4));
/// let sum: i64 = pool.call("/math/add", &[1, 2, 3]).await?;
/// ```
pub struct MultiClient<R: Runtime> {
    inner: Arc<Inner<R>>,
}

impl<R: Runtime> Clone for MultiClient<R> {
    fn clone(&self) -> Self {
        MultiClient {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for MultiClient<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiClient")
            .field("addr", &self.inner.addr)
            .field("stats", &self.stats())
            .finish()
    }
}

impl<R: Runtime> MultiClient<R> {
    /// A pool of sessions to `addr` dialed by `peer` with its protocol. With an idle
    /// timeout it starts a background task on the peer's runtime (call it where the runtime
    /// can spawn) that closes idle sessions; the task ends once every clone is dropped.
    pub fn new(peer: Peer<R>, addr: impl Into<String>, config: MultiClientConfig) -> Self {
        MultiClient::build(peer, addr.into(), None, config)
    }

    /// The same, speaking `protocol` to `addr` whatever the peer's default.
    pub fn with_protocol(
        peer: Peer<R>,
        addr: impl Into<String>,
        protocol: Arc<dyn Protocol>,
        config: MultiClientConfig,
    ) -> Self {
        MultiClient::build(peer, addr.into(), Some(protocol), config)
    }

    fn build(
        peer: Peer<R>,
        addr: String,
        protocol: Option<Arc<dyn Protocol>>,
        config: MultiClientConfig,
    ) -> Self {
        let inner = Arc::new(Inner {
            peer,
            addr,
            protocol,
            core: Mutex::new(PoolCore::new(config.max_sessions, config.max_idle)),
            changed: event_listener::Event::new(),
        });
        if !config.max_idle.is_zero() {
            let rt = inner.peer.runtime().clone();
            rt.clone()
                .spawn(reaper(rt, Arc::downgrade(&inner), config.max_idle));
        }
        MultiClient { inner }
    }

    /// The address.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// The peer that dials.
    pub fn peer(&self) -> &Peer<R> {
        &self.inner.peer
    }

    /// The pool's figures.
    pub fn stats(&self) -> MultiClientStats {
        lock(&self.inner.core).stats()
    }

    /// A session for one call or push: the least-loaded one, or a new one when all are
    /// busy and the quota allows. It counts as loaded until the [`Hired`] handle drops.
    /// Fails with the dial's status (105 `Dial Failed`) when a needed session cannot be
    /// dialed, with 102 `Connection Closed` after [`close`](Self::close).
    pub async fn hire(&self) -> Result<Hired<R>, Status> {
        loop {
            if let Some(done) = self.try_pick() {
                return done.await;
            }
            // Every allowed session is being dialed: listen, then look once more so that a
            // dial ending in between is not missed.
            let listener = self.inner.changed.listen();
            if let Some(done) = self.try_pick() {
                return done.await;
            }
            listener.await;
        }
    }

    /// One pick (closing what expired first); `None` to wait for a dial to end.
    fn try_pick(&self) -> Option<impl std::future::Future<Output = Result<Hired<R>, Status>> + '_> {
        let inner = &self.inner;
        let now = inner.peer.runtime().now();
        let (gone, pick) = {
            let mut core = lock(&inner.core);
            (core.expire(now), core.pick(Session::is_closed))
        };
        inner.close_idle(gone);
        let ready = |r| Some(futures_util::future::Either::Left(std::future::ready(r)));
        match pick {
            Pick::Use(id, session) => ready(Ok(Hired {
                inner: inner.clone(),
                id,
                session,
            })),
            Pick::Closed => ready(Err(Status::from_code(Code::CONN_CLOSED))),
            Pick::Wait => None,
            Pick::Dial => Some(futures_util::future::Either::Right(self.dial())),
        }
    }

    /// Dials one session for the pool (after [`Pick::Dial`]).
    async fn dial(&self) -> Result<Hired<R>, Status> {
        let inner = &self.inner;
        // Reports the dial's end even when the caller gives up (drops the future) mid-dial.
        let mut pending = DialPending(Some(inner));
        let dialed = match &inner.protocol {
            Some(p) => inner.peer.dial_with(&inner.addr, p.clone()).await,
            None => inner.peer.dial(&inner.addr).await,
        };
        pending.0 = None;
        let now = inner.peer.runtime().now();
        let result = match dialed {
            Ok(session) => match lock(&inner.core).dialed(session.clone(), now) {
                Some(id) => Ok(Hired {
                    inner: inner.clone(),
                    id,
                    session,
                }),
                None => {
                    session.close();
                    Err(Status::from_code(Code::CONN_CLOSED))
                }
            },
            Err(st) => {
                lock(&inner.core).dial_failed();
                Err(st)
            }
        };
        inner.changed.notify(usize::MAX);
        result
    }

    /// Calls `service_method` with `args` (the peer's default codec) on the least-loaded
    /// session and decodes the reply, like [`Session::call`].
    pub async fn call<A, T>(&self, service_method: &str, args: &A) -> Result<T, Status>
    where
        A: EncodeBody + ?Sized,
        T: DecodeBody,
    {
        let hired = self.hire().await?;
        hired.call(service_method, args).await
    }

    /// A raw CALL on the least-loaded session, like [`Session::call_message`].
    pub async fn call_message(&self, msg: Message, opts: CallOptions) -> Result<Message, Status> {
        let hired = self.hire().await?;
        hired.call_message(msg, opts).await
    }

    /// Pushes on the least-loaded session, like [`Session::push`].
    pub async fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        let hired = self.hire().await?;
        hired.push(service_method, args).await
    }

    /// Closes the sessions idle too long now (the background task does it too).
    pub fn close_idle(&self) {
        self.inner.expire();
    }

    /// Closes the pool: every session closes gracefully, calls through the pool fail with
    /// 102 from now on.
    pub fn close(&self) {
        let sessions = lock(&self.inner.core).close();
        for s in sessions {
            s.close();
        }
        self.inner.changed.notify(usize::MAX);
    }
}

/// Counts a dial as failed if its future is dropped before it ends.
struct DialPending<'a, R: Runtime>(Option<&'a Arc<Inner<R>>>);

impl<R: Runtime> Drop for DialPending<'_, R> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            lock(&inner.core).dial_failed();
            inner.changed.notify(usize::MAX);
        }
    }
}

/// Closes idle sessions about when they expire, until the pool is dropped.
async fn reaper<R: Runtime>(rt: R, pool: Weak<Inner<R>>, max_idle: Duration) {
    // Never spin: at least this long between two looks.
    let least = (max_idle / 4).max(Duration::from_millis(10));
    loop {
        let next = match pool.upgrade() {
            Some(inner) => {
                if lock(&inner.core).is_closed() {
                    return;
                }
                inner.expire();
                let now = rt.now();
                let next = lock(&inner.core).next_expiry().unwrap_or(now + max_idle);
                next.max(now + least)
            }
            None => return,
        };
        rt.timer(next).await;
    }
}

/// A session of a [`MultiClient`] hired for one call (or a few): use it like the
/// [`Session`] it derefs to; dropping it makes the load count go down again.
pub struct Hired<R: Runtime> {
    inner: Arc<Inner<R>>,
    id: u64,
    session: Session,
}

impl<R: Runtime> std::fmt::Debug for Hired<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hired")
            .field("session", &self.session)
            .finish()
    }
}

impl<R: Runtime> Deref for Hired<R> {
    type Target = Session;

    fn deref(&self) -> &Session {
        &self.session
    }
}

impl<R: Runtime> Drop for Hired<R> {
    fn drop(&mut self) {
        let now = self.inner.peer.runtime().now();
        lock(&self.inner.core).release(self.id, now);
    }
}
