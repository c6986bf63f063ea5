//! [`MultiClientStats`]: the figures of a [`MultiClient`](super::MultiClient).

/// A [`MultiClient`](super::MultiClient)'s figures (Go's `WorkshopStats`, plus the load of
/// each session).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MultiClientStats {
    /// Sessions in the pool.
    pub sessions: usize,
    /// Of which idle (nothing in flight through the pool).
    pub idle: usize,
    /// Sessions being dialed.
    pub dialing: usize,
    /// Calls and pushes in flight through the pool (Go's `Doing`).
    pub in_flight: usize,
    /// What is in flight on each session, oldest session first.
    pub loads: Vec<usize>,
    /// Sessions dialed since the pool was made (Go's `Created`).
    pub created: u64,
    /// Calls and pushes done (Go's `Done`).
    pub done: u64,
    /// The most in flight on one session at once (Go's `MaxLoad`).
    pub max_load: usize,
    /// Sessions closed for being idle too long.
    pub closed_idle: u64,
}
