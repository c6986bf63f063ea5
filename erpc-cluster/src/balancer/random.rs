//! [`Random`]: a uniformly random node (tp-micro's selector).

use super::{Balancer, Candidate, Pick};
use crate::rng::Rng;

/// Picks a node uniformly at random.
#[derive(Debug)]
pub struct Random {
    rng: Rng,
}

impl Default for Random {
    fn default() -> Self {
        Random { rng: Rng::new() }
    }
}

impl Random {
    /// Seeded from the process (different sequences in different processes).
    pub fn new() -> Self {
        Self::default()
    }

    /// A reproducible sequence.
    pub fn with_seed(seed: u64) -> Self {
        Random {
            rng: Rng::with_seed(seed),
        }
    }
}

impl Balancer for Random {
    fn pick(&self, candidates: &[Candidate<'_>], _: &Pick<'_>) -> Option<usize> {
        (!candidates.is_empty()).then(|| self.rng.below(candidates.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spreads_evenly() {
        // 30 000 picks: each node's share within 10% of 10 000 (about 10 standard deviations).
        let n = crate::balancer::tests::spread(&Random::with_seed(7), 30_000);
        for c in n {
            assert!((9_000..=11_000).contains(&c), "{n:?}");
        }
    }
}
