//! [`PowerOfTwo`]: of two random nodes, the one with fewer calls in flight.

use super::{Balancer, Candidate, Pick};
use crate::rng::Rng;

/// "Power of two choices": draws two distinct nodes at random and takes the one with fewer
/// calls in flight from this client (ties: the first drawn). A slow node accumulates calls
/// in flight and so gets fewer new ones, without any global scan.
#[derive(Debug)]
pub struct PowerOfTwo {
    rng: Rng,
}

impl Default for PowerOfTwo {
    fn default() -> Self {
        PowerOfTwo { rng: Rng::new() }
    }
}

impl PowerOfTwo {
    /// Seeded from the process.
    pub fn new() -> Self {
        Self::default()
    }

    /// A reproducible sequence.
    pub fn with_seed(seed: u64) -> Self {
        PowerOfTwo {
            rng: Rng::with_seed(seed),
        }
    }
}

impl Balancer for PowerOfTwo {
    fn pick(&self, candidates: &[Candidate<'_>], _: &Pick<'_>) -> Option<usize> {
        match candidates.len() {
            0 => None,
            1 => Some(0),
            n => {
                let a = self.rng.below(n);
                let b = (a + 1 + self.rng.below(n - 1)) % n;
                Some(if candidates[b].in_flight < candidates[a].in_flight {
                    b
                } else {
                    a
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_when_idle() {
        let n = crate::balancer::tests::spread(&PowerOfTwo::with_seed(3), 30_000);
        for c in n {
            assert!((9_000..=11_000).contains(&c), "{n:?}");
        }
    }

    #[test]
    fn avoids_the_busy_node() {
        let p = PowerOfTwo::with_seed(11);
        let cands = [
            Candidate::new("a:1", 0, 1),
            Candidate::new("b:1", 9, 1),
            Candidate::new("c:1", 0, 1),
        ];
        let mut n = [0; 3];
        for _ in 0..30_000 {
            n[p.pick(&cands, &Pick::new("/x", &[])).unwrap()] += 1;
        }
        // b wins only when drawn with itself, which p2c never does: it gets nothing.
        assert_eq!(n[1], 0, "{n:?}");
        assert!(n[0] > 13_000 && n[2] > 13_000, "{n:?}");
    }
}
