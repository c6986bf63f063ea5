//! [`ConsistentHash`]: the same meta value goes to the same node.

use super::{Balancer, Candidate, Pick, Random};
use crate::rng::mix;

/// Rendezvous ("highest random weight") hashing on the value of one meta key: every node
/// gets a score from `(value, addr)` and the highest wins. The same value keeps going to the
/// same node while it is there; when a node leaves, only the values it had move (to their
/// second choice), and when one arrives it takes about 1/n of them. Calls without the key
/// are spread at random. The hash (FNV-1a, then SplitMix64) is the same in every process,
/// so several clients agree on the placement.
#[derive(Debug)]
pub struct ConsistentHash {
    key: Vec<u8>,
    fallback: Random,
}

impl ConsistentHash {
    /// Hashing on meta key `key` (e.g. `user-id`).
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        ConsistentHash {
            key: key.as_ref().to_vec(),
            fallback: Random::new(),
        }
    }

    /// The meta key it hashes on.
    pub fn key(&self) -> &[u8] {
        &self.key
    }
}

fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in *part {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    mix(h)
}

impl Balancer for ConsistentHash {
    fn pick(&self, candidates: &[Candidate<'_>], call: &Pick<'_>) -> Option<usize> {
        let Some(value) = call.meta(&self.key) else {
            return self.fallback.pick(candidates, call);
        };
        candidates
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| fnv1a(&[value, c.addr.as_bytes()]))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(h: &ConsistentHash, addrs: &[&str], user: &str) -> String {
        let cands: Vec<_> = addrs.iter().map(|a| Candidate::new(a, 0, 1)).collect();
        let meta = [(b"uid".to_vec(), user.as_bytes().to_vec())];
        let i = h.pick(&cands, &Pick::new("/x", &meta)).unwrap();
        addrs[i].to_owned()
    }

    #[test]
    fn stable_spread_and_minimal_moves() {
        let h = ConsistentHash::new("uid");
        let three = ["a:1", "b:1", "c:1"];
        let two = ["a:1", "c:1"];
        let mut per = std::collections::HashMap::new();
        let mut moved = 0;
        for u in 0..3_000 {
            let user = format!("user-{u}");
            let p = place(&h, &three, &user);
            assert_eq!(p, place(&h, &three, &user), "same key, same node");
            let after = place(&h, &two, &user);
            if p != "b:1" {
                assert_eq!(p, after, "only b's keys move when b leaves");
            } else {
                moved += 1;
            }
            *per.entry(p).or_insert(0) += 1;
        }
        for (node, n) in &per {
            assert!((800..=1_200).contains(n), "{node}: {n} of 3000");
        }
        assert_eq!(moved, per["b:1"]);
    }
}
