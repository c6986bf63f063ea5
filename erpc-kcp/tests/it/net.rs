//! A virtual network between KCP endpoints: a clock, delays and seeded loss.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A tiny deterministic RNG (xorshift64*), so a seed replays a run.
#[derive(Debug)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Packets in flight one way, each with its arrival time.
#[derive(Debug, Default)]
pub(crate) struct Link {
    pub(crate) in_flight: VecDeque<(Instant, Vec<u8>)>,
    pub(crate) sent: u64,
    pub(crate) lost: u64,
}

impl Link {
    pub(crate) fn send(&mut self, now: Instant, packet: Vec<u8>, rng: &mut Rng, loss: u64) {
        self.sent += 1;
        if rng.chance(loss) {
            self.lost += 1;
            return;
        }
        self.in_flight
            .push_back((now + Duration::from_millis(5), packet));
    }

    pub(crate) fn arrived(&mut self, now: Instant) -> Option<Vec<u8>> {
        if self.in_flight.front().is_some_and(|(at, _)| *at <= now) {
            return self.in_flight.pop_front().map(|(_, p)| p);
        }
        None
    }
}
