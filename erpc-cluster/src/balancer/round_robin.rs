//! [`RoundRobin`]: the nodes in turn.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{Balancer, Candidate, Pick};

/// Picks the nodes in turn (one counter shared by every route).
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
}

impl RoundRobin {
    /// Starting at the first node.
    pub fn new() -> Self {
        Self::default()
    }
}

impl Balancer for RoundRobin {
    fn pick(&self, candidates: &[Candidate<'_>], _: &Pick<'_>) -> Option<usize> {
        (!candidates.is_empty())
            .then(|| self.next.fetch_add(1, Ordering::Relaxed) % candidates.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_turns() {
        assert_eq!(
            crate::balancer::tests::spread(&RoundRobin::new(), 3_000),
            [1_000; 3]
        );
    }
}
