//! What a session and a peer report about themselves: [`SessionStats`], [`PeerStats`], and
//! the counters behind them. A connection publishes its figures once per turn of its loop
//! (a few relaxed stores), not per byte.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A snapshot of one session's figures, from [`Session::stats`](crate::Session::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionStats {
    /// Bytes encoded and waiting for the socket.
    pub queued_bytes: usize,
    /// Calls and pushes from handles waiting to be taken by the connection.
    pub queued_commands: usize,
    /// Handlers of this session running now.
    pub handlers_running: usize,
    /// Outgoing calls waiting for their reply.
    pub calls_pending: usize,
    /// Bytes read from the connection (every connection of a redialed session).
    pub bytes_in: u64,
    /// Bytes written to the connection.
    pub bytes_out: u64,
    /// Incoming calls whose handler finished (replies queued).
    pub calls_served: u64,
    /// Incoming pushes whose handler finished.
    pub pushes_served: u64,
    /// Handlers (call and push) whose first step ran inside the connection's task
    /// ([`HandlerTasks`](crate::HandlerTasks)) rather than in a task of their own.
    pub handlers_inline: u64,
}

/// A snapshot of a peer's figures, from [`Peer::stats`](crate::Peer::stats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// Sessions in the peer's table (dialed and accepted).
    pub sessions: usize,
    /// Connection tasks running (sessions, including those redialing, and listeners).
    pub connections: usize,
    /// Handlers running in the whole peer.
    pub handlers_running: usize,
    /// Bytes queued for sockets, summed over sessions.
    pub queued_bytes: usize,
    /// Bytes read, summed over every connection the peer had.
    pub bytes_in: u64,
    /// Bytes written, summed over every connection the peer had.
    pub bytes_out: u64,
    /// Incoming calls served.
    pub calls_served: u64,
    /// Incoming pushes served.
    pub pushes_served: u64,
}

/// The live counters of one session.
#[derive(Debug, Default)]
pub(crate) struct SessionCounters {
    pub(crate) queued_bytes: AtomicUsize,
    pub(crate) handlers_running: AtomicUsize,
    pub(crate) calls_pending: AtomicUsize,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) calls_served: AtomicU64,
    pub(crate) pushes_served: AtomicU64,
    pub(crate) handlers_inline: AtomicU64,
}

/// The live counters of a peer (sums over its sessions).
#[derive(Debug, Default)]
pub(crate) struct PeerCounters {
    pub(crate) queued_bytes: AtomicUsize,
    /// Connections with calls of this side in flight (as last published).
    pub(crate) calling: AtomicUsize,
    pub(crate) bytes_in: AtomicU64,
    pub(crate) bytes_out: AtomicU64,
    pub(crate) calls_served: AtomicU64,
    pub(crate) pushes_served: AtomicU64,
}

/// What a connection counted since it last published.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) calls_served: u64,
    pub(crate) pushes_served: u64,
    pub(crate) handlers_inline: u64,
}

/// The figures a connection publishes each turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Levels {
    pub(crate) queued_bytes: usize,
    pub(crate) handlers_running: usize,
    pub(crate) calls_pending: usize,
}

impl SessionCounters {
    /// Publishes `levels` (replacing the last ones, whose queued bytes are taken off the
    /// peer's sum) and adds `delta` to the session's and the peer's totals.
    pub(crate) fn publish(
        &self,
        peer: &PeerCounters,
        last: &mut Levels,
        levels: Levels,
        delta: &mut Delta,
    ) {
        if levels != *last {
            self.queued_bytes
                .store(levels.queued_bytes, Ordering::Relaxed);
            self.handlers_running
                .store(levels.handlers_running, Ordering::Relaxed);
            self.calls_pending
                .store(levels.calls_pending, Ordering::Relaxed);
            match (last.calls_pending > 0, levels.calls_pending > 0) {
                (false, true) => {
                    peer.calling.fetch_add(1, Ordering::Relaxed);
                }
                (true, false) => {
                    peer.calling.fetch_sub(1, Ordering::Relaxed);
                }
                _ => {}
            }
            if levels.queued_bytes != last.queued_bytes {
                peer.queued_bytes
                    .fetch_add(levels.queued_bytes, Ordering::Relaxed);
                peer.queued_bytes
                    .fetch_sub(last.queued_bytes, Ordering::Relaxed);
            }
            *last = levels;
        }
        let d = std::mem::take(delta);
        if d.bytes_in > 0 {
            self.bytes_in.fetch_add(d.bytes_in, Ordering::Relaxed);
            peer.bytes_in.fetch_add(d.bytes_in, Ordering::Relaxed);
        }
        if d.bytes_out > 0 {
            self.bytes_out.fetch_add(d.bytes_out, Ordering::Relaxed);
            peer.bytes_out.fetch_add(d.bytes_out, Ordering::Relaxed);
        }
        if d.calls_served > 0 {
            self.calls_served
                .fetch_add(d.calls_served, Ordering::Relaxed);
            peer.calls_served
                .fetch_add(d.calls_served, Ordering::Relaxed);
        }
        if d.pushes_served > 0 {
            self.pushes_served
                .fetch_add(d.pushes_served, Ordering::Relaxed);
            peer.pushes_served
                .fetch_add(d.pushes_served, Ordering::Relaxed);
        }
        if d.handlers_inline > 0 {
            self.handlers_inline
                .fetch_add(d.handlers_inline, Ordering::Relaxed);
        }
    }

    /// A snapshot.
    pub(crate) fn snapshot(&self, queued_commands: usize) -> SessionStats {
        SessionStats {
            queued_bytes: self.queued_bytes.load(Ordering::Relaxed),
            queued_commands,
            handlers_running: self.handlers_running.load(Ordering::Relaxed),
            calls_pending: self.calls_pending.load(Ordering::Relaxed),
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            calls_served: self.calls_served.load(Ordering::Relaxed),
            pushes_served: self.pushes_served.load(Ordering::Relaxed),
            handlers_inline: self.handlers_inline.load(Ordering::Relaxed),
        }
    }
}

/// The peer-wide handler slots.
#[derive(Debug)]
pub(crate) struct HandlerSlots {
    used: AtomicUsize,
    max: usize,
    freed: event_listener::Event,
}

impl HandlerSlots {
    pub(crate) fn new(max: usize) -> Self {
        HandlerSlots {
            used: AtomicUsize::new(0),
            max: max.max(1),
            freed: event_listener::Event::new(),
        }
    }

    /// Takes a slot if one is free.
    pub(crate) fn try_acquire(&self) -> bool {
        self.used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |u| {
                (u < self.max).then_some(u + 1)
            })
            .is_ok()
    }

    /// Gives a slot back and wakes a session waiting for one.
    pub(crate) fn release(&self) {
        self.used.fetch_sub(1, Ordering::AcqRel);
        self.freed.notify(1);
    }

    /// A listener for the next freed slot.
    pub(crate) fn listen(&self) -> event_listener::EventListener {
        self.freed.listen()
    }

    /// Slots in use.
    pub(crate) fn used(&self) -> usize {
        self.used.load(Ordering::Acquire)
    }
}
