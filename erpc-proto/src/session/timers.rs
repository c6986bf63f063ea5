//! The session's timer queue: deadlines of outgoing calls and context ages of incoming ones.
//!
//! Entries are removed lazily: a call that completes leaves its entry behind, and the session
//! drops dead entries from the head (so the head it reports is live) and compacts the queue
//! when dead entries outnumber the live ones (so its size stays proportional to what is
//! pending). This module only orders the entries; which ones are live is the session's.
//!
//! Almost every deadline is later than the one queued before it: a session's calls mostly
//! share one timeout (and its handlers one context age), and time only moves forward. Such
//! deadlines go to the back of a FIFO, in O(1), and leave from its front in O(1); only a
//! deadline earlier than the FIFO's last (a call with a shorter timeout than the ones before
//! it) goes to a binary heap beside it. The earliest entry is the earlier of the two heads.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Instant;

/// What a timer entry is for.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
pub(super) enum Timer {
    /// Deadline of an outgoing call: its seq and serial.
    Call(i32, u64),
    /// Context age of an incoming call: its serial.
    Handler(u64),
}

/// A deadline and what it is for.
pub(super) type Entry = (Instant, Timer);

/// Timer entries, earliest first (see the [module docs](self)).
#[derive(Debug, Default)]
pub(super) struct Timers {
    /// Entries in the order they were pushed, each deadline no earlier than the one before.
    fifo: VecDeque<Entry>,
    /// Entries that came earlier than the FIFO's last one.
    heap: BinaryHeap<Reverse<Entry>>,
}

impl Timers {
    /// Queues `entry`.
    pub(super) fn push(&mut self, entry: Entry) {
        if self.fifo.back().is_none_or(|last| last.0 <= entry.0) {
            // A session holds few timers when it is quiet and lets the memory go when idle:
            // room for one to start with, not the four a first push makes.
            if self.fifo.capacity() == 0 {
                self.fifo.reserve_exact(1);
            }
            self.fifo.push_back(entry);
        } else {
            if self.heap.capacity() == 0 {
                self.heap.reserve_exact(1);
            }
            self.heap.push(Reverse(entry));
        }
    }

    /// The earliest entry.
    pub(super) fn peek(&self) -> Option<Entry> {
        match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(Reverse(h))) => Some(if h < f { *h } else { *f }),
            (Some(f), None) => Some(*f),
            (None, Some(Reverse(h))) => Some(*h),
            (None, None) => None,
        }
    }

    /// Removes and returns the earliest entry.
    pub(super) fn pop(&mut self) -> Option<Entry> {
        let from_heap = match (self.fifo.front(), self.heap.peek()) {
            (Some(f), Some(Reverse(h))) => h < f,
            (None, Some(_)) => true,
            _ => false,
        };
        if from_heap {
            self.heap.pop().map(|Reverse(e)| e)
        } else {
            self.fifo.pop_front()
        }
    }

    /// Drops entries from the head while `dead` says they are, so that the earliest entry
    /// left (if any) is live.
    pub(super) fn drop_dead_head(&mut self, mut dead: impl FnMut(Timer) -> bool) {
        while self.fifo.front().is_some_and(|e| dead(e.1)) {
            self.fifo.pop_front();
        }
        while self.heap.peek().is_some_and(|Reverse(e)| dead(e.1)) {
            self.heap.pop();
        }
    }

    /// Keeps only the entries `live` says are.
    pub(super) fn retain(&mut self, mut live: impl FnMut(Timer) -> bool) {
        self.fifo.retain(|e| live(e.1));
        self.heap.retain(|Reverse(e)| live(e.1));
    }

    /// How many entries, dead ones included.
    pub(super) fn len(&self) -> usize {
        self.fifo.len() + self.heap.len()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.fifo.is_empty() && self.heap.is_empty()
    }

    /// Drops every entry.
    pub(super) fn clear(&mut self) {
        self.fifo.clear();
        self.heap.clear();
    }

    /// Entries the queue has room for without allocating.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.fifo.capacity() + self.heap.capacity()
    }

    /// Frees the memory of an empty queue.
    pub(super) fn release_idle(&mut self) {
        if self.is_empty() {
            *self = Timers::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[allow(clippy::disallowed_methods)]
    fn origin() -> Instant {
        Instant::now()
    }

    /// A small deterministic generator (xorshift), so the test needs no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    #[test]
    fn entries_leave_earliest_first_whatever_order_they_came_in() {
        let origin = origin();
        for seed in 1..200u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut t = Timers::default();
            let mut reference: BinaryHeap<Reverse<Entry>> = BinaryHeap::new();
            let mut serial = 0u64;
            let mut now = origin;
            for _ in 0..300 {
                match rng.next() % 5 {
                    // Mostly in order (one timeout), sometimes a shorter or a longer one.
                    0..=2 => {
                        now += Duration::from_micros(rng.next() % 50);
                        let timeout = match rng.next() % 6 {
                            0 => Duration::from_millis(1),
                            1 => Duration::from_secs(60),
                            _ => Duration::from_secs(5),
                        };
                        serial += 1;
                        let e = (now + timeout, Timer::Call(serial as i32, serial));
                        t.push(e);
                        reference.push(Reverse(e));
                    }
                    3 => assert_eq!(t.pop(), reference.pop().map(|Reverse(e)| e)),
                    _ => {
                        // Calls with an odd serial completed: their entries go.
                        let dead = |x: Timer| matches!(x, Timer::Call(_, s) if s % 2 == 1);
                        t.retain(|x| !dead(x));
                        reference.retain(|Reverse(e)| !dead(e.1));
                    }
                }
                assert_eq!(t.len(), reference.len());
                assert_eq!(t.peek(), reference.peek().map(|Reverse(e)| *e));
            }
            while let Some(e) = reference.pop() {
                assert_eq!(t.pop(), Some(e.0));
            }
            assert!(t.is_empty() && t.pop().is_none());
        }
    }

    #[test]
    fn deadlines_in_order_stay_out_of_the_heap() {
        let origin = origin();
        let mut t = Timers::default();
        for i in 0..100u64 {
            t.push((origin + Duration::from_millis(i + 1), Timer::Handler(i)));
        }
        assert_eq!((t.fifo.len(), t.heap.len()), (100, 0));
        t.push((origin, Timer::Handler(1000)));
        assert_eq!(t.heap.len(), 1, "an earlier deadline goes to the heap");
        assert_eq!(t.pop(), Some((origin, Timer::Handler(1000))));
        assert_eq!(
            t.pop(),
            Some((origin + Duration::from_millis(1), Timer::Handler(0)))
        );
    }

    #[test]
    fn dead_heads_are_dropped_from_both_sides() {
        let origin = origin();
        let mut t = Timers::default();
        t.push((origin + Duration::from_secs(2), Timer::Handler(1)));
        t.push((origin + Duration::from_secs(3), Timer::Handler(2)));
        t.push((origin + Duration::from_secs(1), Timer::Handler(3)));
        t.drop_dead_head(|x| x != Timer::Handler(2));
        assert_eq!(t.len(), 1);
        assert_eq!(
            t.peek(),
            Some((origin + Duration::from_secs(3), Timer::Handler(2)))
        );
        t.clear();
        t.release_idle();
        assert_eq!(t.capacity(), 0);
    }
}
