//! The sans-IO rule of a [`MultiClient`](super::MultiClient): which session a call goes on,
//! when to dial another, when an idle one is closed. Time is passed in; the sessions are any
//! `S` (tested with plain values).

use std::time::{Duration, Instant};

use super::MultiClientStats;

/// One session of the pool.
#[derive(Debug)]
struct Slot<S> {
    id: u64,
    session: S,
    /// Calls and pushes hired on it and not yet released.
    load: usize,
    /// Since when `load` is 0 (meaningful only then).
    idle_since: Instant,
}

/// What a caller should do, from [`PoolCore::pick`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pick<S> {
    /// Use this session (already hired: release `id` when done).
    Use(u64, S),
    /// Dial a new session (counted as dialing: report with [`PoolCore::dialed`] or
    /// [`PoolCore::dial_failed`]).
    Dial,
    /// Every allowed session is still being dialed: wait for a change and pick again.
    Wait,
    /// The pool is closed.
    Closed,
}

/// The state of one pool.
#[derive(Debug)]
pub(crate) struct PoolCore<S> {
    max_sessions: usize,
    max_idle: Duration,
    slots: Vec<Slot<S>>,
    next_id: u64,
    dialing: usize,
    closed: bool,
    created: u64,
    done: u64,
    max_load: usize,
    closed_idle: u64,
}

impl<S: Clone> PoolCore<S> {
    /// A pool of at most `max_sessions` (at least 1) sessions, closing those idle for
    /// `max_idle` (`Duration::ZERO`: never).
    pub(crate) fn new(max_sessions: usize, max_idle: Duration) -> Self {
        PoolCore {
            max_sessions: max_sessions.max(1),
            max_idle,
            slots: Vec::new(),
            next_id: 0,
            dialing: 0,
            closed: false,
            created: 0,
            done: 0,
            max_load: 0,
            closed_idle: 0,
        }
    }

    /// Chooses for one call: the least-loaded session, unless it is busy and another may be
    /// dialed. Sessions for which `is_closed` answers true are dropped first.
    pub(crate) fn pick(&mut self, is_closed: impl Fn(&S) -> bool) -> Pick<S> {
        if self.closed {
            return Pick::Closed;
        }
        self.slots.retain(|s| !is_closed(&s.session));
        let under_quota = self.slots.len() + self.dialing < self.max_sessions;
        // The first of the least loaded: the oldest sessions are kept busy, the newest go
        // idle first and are the ones closed.
        let least = self
            .slots
            .iter_mut()
            .enumerate()
            .min_by_key(|(i, s)| (s.load, *i))
            .map(|(_, s)| s);
        match least {
            Some(s) if s.load == 0 || !under_quota => {
                s.load += 1;
                self.max_load = self.max_load.max(s.load);
                Pick::Use(s.id, s.session.clone())
            }
            _ if under_quota => {
                self.dialing += 1;
                Pick::Dial
            }
            _ => Pick::Wait,
        }
    }

    /// A dial reported by [`Pick::Dial`] succeeded: the session joins the pool, hired once
    /// for the caller that dialed it. `None` (the session is the caller's to close) when the
    /// pool closed meanwhile.
    pub(crate) fn dialed(&mut self, session: S, now: Instant) -> Option<u64> {
        self.dialing = self.dialing.saturating_sub(1);
        if self.closed {
            return None;
        }
        self.created += 1;
        let id = self.next_id;
        self.next_id += 1;
        self.slots.push(Slot {
            id,
            session,
            load: 1,
            idle_since: now,
        });
        self.max_load = self.max_load.max(1);
        Some(id)
    }

    /// A dial reported by [`Pick::Dial`] failed (or was abandoned).
    pub(crate) fn dial_failed(&mut self) {
        self.dialing = self.dialing.saturating_sub(1);
    }

    /// The call hired on `id` is done.
    pub(crate) fn release(&mut self, id: u64, now: Instant) {
        self.done += 1;
        if let Some(s) = self.slots.iter_mut().find(|s| s.id == id) {
            s.load = s.load.saturating_sub(1);
            if s.load == 0 {
                s.idle_since = now;
            }
        }
    }

    /// Removes the sessions idle for the pool's idle timeout at `now`; the caller closes
    /// them.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<S> {
        if self.max_idle.is_zero() {
            return Vec::new();
        }
        let max_idle = self.max_idle;
        let mut gone = Vec::new();
        self.slots.retain(|s| {
            let idle = s.load == 0 && now.saturating_duration_since(s.idle_since) >= max_idle;
            if idle {
                gone.push(s.session.clone());
            }
            !idle
        });
        self.closed_idle += gone.len() as u64;
        gone
    }

    /// When the next idle session expires, if any does.
    pub(crate) fn next_expiry(&self) -> Option<Instant> {
        if self.max_idle.is_zero() {
            return None;
        }
        self.slots
            .iter()
            .filter(|s| s.load == 0)
            .map(|s| s.idle_since + self.max_idle)
            .min()
    }

    /// Closes the pool: no more picks; every session is returned to be closed.
    pub(crate) fn close(&mut self) -> Vec<S> {
        self.closed = true;
        self.slots.drain(..).map(|s| s.session).collect()
    }

    /// Whether [`close`](Self::close) was called.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// The figures.
    pub(crate) fn stats(&self) -> MultiClientStats {
        MultiClientStats {
            sessions: self.slots.len(),
            idle: self.slots.iter().filter(|s| s.load == 0).count(),
            dialing: self.dialing,
            in_flight: self.slots.iter().map(|s| s.load).sum(),
            loads: self.slots.iter().map(|s| s.load).collect(),
            created: self.created,
            done: self.done,
            max_load: self.max_load,
            closed_idle: self.closed_idle,
        }
    }
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;
