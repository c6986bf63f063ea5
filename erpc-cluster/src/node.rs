//! One node as a cluster client uses it: its sessions, calls in flight, breaker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use erpc_peer::{Code, Peer, Runtime, Session, Status};
use futures_util::lock::Mutex as AsyncMutex;

use crate::breaker::{Breaker, BreakerConfig, BreakerState};

#[derive(Debug)]
pub(crate) struct Node {
    pub(crate) addr: String,
    slots: Box<[AsyncMutex<Option<Session>>]>,
    next: AtomicUsize,
    in_flight: AtomicUsize,
    removed: AtomicBool,
    breaker: Option<Mutex<Breaker>>,
    /// Dial failures so far, and when the last one was (for `dial_backoff`).
    dial_failures: AtomicUsize,
    last_dial_failure: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Counts a call in flight to a node while it lives.
pub(crate) struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Node {
    pub(crate) fn new(addr: String, sessions: usize, breaker: Option<BreakerConfig>) -> Self {
        Node {
            addr,
            slots: (0..sessions).map(|_| AsyncMutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            removed: AtomicBool::new(false),
            breaker: breaker.map(|c| Mutex::new(Breaker::new(c))),
            dial_failures: AtomicUsize::new(0),
            last_dial_failure: Mutex::new(None),
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }

    pub(crate) fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(&self.in_flight)
    }

    fn breaker(&self) -> Option<std::sync::MutexGuard<'_, Breaker>> {
        self.breaker
            .as_ref()
            .map(|m| m.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub(crate) fn available(&self, now: Instant) -> bool {
        self.breaker().is_none_or(|mut b| b.available(now))
    }

    /// Whether a dial to it failed less than `backoff` ago.
    pub(crate) fn dial_failed_recently(&self, now: Instant, backoff: Duration) -> bool {
        lock(&self.last_dial_failure).is_some_and(|t| now < t + backoff)
    }

    pub(crate) fn allow(&self, now: Instant) -> bool {
        self.breaker().is_none_or(|mut b| b.allow(now))
    }

    pub(crate) fn record(&self, now: Instant, ok: bool) {
        if let Some(mut b) = self.breaker() {
            b.record(now, ok);
        }
    }

    pub(crate) fn breaker_state(&self, now: Instant) -> Option<BreakerState> {
        self.breaker().map(|mut b| b.state(now))
    }

    /// A live session to the node: the next slot's, dialed when it has none or its
    /// session ended (one dial per slot at a time; other callers of that slot wait for it).
    ///
    /// A caller that waited for another's dial which failed gets that failure (105) at once
    /// instead of dialing again, so callers queued on a dead node fail over together.
    pub(crate) async fn session<R: Runtime>(&self, peer: &Peer<R>) -> Result<Session, Status> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.slots.len();
        let failures = self.dial_failures.load(Ordering::Acquire);
        let mut slot = self.slots[i].lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(s.clone());
        }
        *slot = None;
        if self.dial_failures.load(Ordering::Acquire) != failures {
            return Err(Status::with_cause(
                Code::DIAL_FAILED,
                format!("dial {} failed just now", self.addr),
            ));
        }
        let s = match peer.dial(&self.addr).await {
            Ok(s) => s,
            Err(e) => {
                *lock(&self.last_dial_failure) = Some(peer.runtime().now());
                self.dial_failures.fetch_add(1, Ordering::AcqRel);
                return Err(e);
            }
        };
        *lock(&self.last_dial_failure) = None;
        if self.removed.load(Ordering::Acquire) {
            // Removed while dialing: the call goes on, the session closes after it.
            s.close();
        } else {
            *slot = Some(s.clone());
        }
        Ok(s)
    }

    /// Sessions open now.
    pub(crate) fn sessions(&self) -> usize {
        self.slots
            .iter()
            .filter(|m| {
                m.try_lock()
                    .is_some_and(|s| s.as_ref().is_some_and(|s| !s.is_closed()))
            })
            .count()
    }

    /// The node left: its sessions close gracefully (calls in flight finish).
    pub(crate) async fn remove(&self) {
        self.removed.store(true, Ordering::Release);
        for slot in self.slots.iter() {
            if let Some(s) = slot.lock().await.take() {
                s.close();
            }
        }
    }

    /// Like [`remove`](Node::remove) without waiting: a slot being dialed notices
    /// `removed` itself and closes its new session after the call.
    pub(crate) fn remove_now(&self) {
        self.removed.store(true, Ordering::Release);
        for slot in self.slots.iter() {
            if let Some(s) = slot.try_lock().and_then(|mut g| g.take()) {
                s.close();
            }
        }
    }
}
