//! A small lock-free random number source for the balancers (SplitMix64 over an atomic
//! counter): not cryptographic, only well spread.

use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicU64, Ordering};

const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's finaliser: a well-mixed 64-bit value of `x`.
pub(crate) fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[derive(Debug)]
pub(crate) struct Rng(AtomicU64);

impl Rng {
    /// Seeded from the process's hash keys (different per process).
    pub(crate) fn new() -> Self {
        Rng(AtomicU64::new(RandomState::new().hash_one(0x5eed_u64)))
    }

    pub(crate) fn with_seed(seed: u64) -> Self {
        Rng(AtomicU64::new(seed))
    }

    pub(crate) fn next_u64(&self) -> u64 {
        mix(self
            .0
            .fetch_add(GAMMA, Ordering::Relaxed)
            .wrapping_add(GAMMA))
    }

    /// Uniform in `0..n` (`n` > 0), by Lemire's multiply-shift (bias below 2^-32 for the
    /// small `n` of a node list).
    pub(crate) fn below(&self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }
}
