//! [`Balancer`]: which node takes a call. Four come with the crate: [`Random`]
//! (tp-micro's choice, the default), [`RoundRobin`], [`PowerOfTwo`] (fewer calls in flight
//! of two random nodes) and [`ConsistentHash`] (on a meta key).

mod hash;
mod p2c;
mod random;
mod round_robin;

pub use hash::ConsistentHash;
pub use p2c::PowerOfTwo;
pub use random::Random;
pub use round_robin::RoundRobin;

use std::fmt;

/// A node a balancer may pick, with what the cluster client knows of it now.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Candidate<'a> {
    /// Its `host:port`.
    pub addr: &'a str,
    /// Calls and pushes this client has in flight to it.
    pub in_flight: usize,
    /// Its announced weight.
    pub weight: u32,
}

impl<'a> Candidate<'a> {
    /// A candidate (for balancer tests and custom clients).
    pub fn new(addr: &'a str, in_flight: usize, weight: u32) -> Self {
        Candidate {
            addr,
            in_flight,
            weight,
        }
    }
}

/// The call being placed, as a balancer sees it.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct Pick<'a> {
    /// The service method.
    pub service_method: &'a str,
    /// The call's meta pairs.
    pub meta: &'a [(Vec<u8>, Vec<u8>)],
}

impl<'a> Pick<'a> {
    /// A pick for `service_method` with `meta`.
    pub fn new(service_method: &'a str, meta: &'a [(Vec<u8>, Vec<u8>)]) -> Self {
        Pick {
            service_method,
            meta,
        }
    }

    /// The first value of meta key `key`.
    pub fn meta(&self, key: &[u8]) -> Option<&'a [u8]> {
        self.meta
            .iter()
            .find(|(k, _)| k.as_slice() == key)
            .map(|(_, v)| v.as_slice())
    }
}

/// Chooses one of the candidates for a call (an index into `candidates`, never empty when
/// called). Implementations must be cheap and must not block: they run on every call.
pub trait Balancer: Send + Sync + fmt::Debug + 'static {
    /// The index of the chosen candidate; `None` only if none is acceptable.
    fn pick(&self, candidates: &[Candidate<'_>], call: &Pick<'_>) -> Option<usize>;
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// How many of `calls` picks each of three nodes got.
    pub(crate) fn spread(b: &dyn Balancer, calls: usize) -> [usize; 3] {
        let addrs = ["a:1", "b:1", "c:1"];
        let cands: Vec<_> = addrs.iter().map(|a| Candidate::new(a, 0, 1)).collect();
        let mut n = [0; 3];
        for _ in 0..calls {
            n[b.pick(&cands, &Pick::new("/x", &[])).unwrap()] += 1;
        }
        n
    }
}
