//! [`ClusterConfig`]: the knobs of a [`ClusterClient`](crate::ClusterClient).

use std::time::Duration;

use crate::breaker::BreakerConfig;

/// Settings of a cluster client.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// Sessions kept per node, used in turn (default 1; at most 64). More than one helps
    /// only when a single connection's socket is the bottleneck.
    pub sessions_per_node: usize,
    /// Further nodes a call may be sent to after a connection error (105 `Dial Failed`,
    /// 102 `Connection Closed`), each failed node excluded (default 3; tp-micro retries
    /// too). 0: no failover.
    pub max_failover: usize,
    /// A circuit breaker per node (default `None`: off).
    pub breaker: Option<BreakerConfig>,
    /// After a failed dial, the node is not picked for this long while other nodes are
    /// available (default 1 s), so calls do not each wait for a dead node's connect
    /// timeout before failing over. Zero: no back-off.
    pub dial_backoff: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            sessions_per_node: 1,
            max_failover: 3,
            breaker: None,
            dial_backoff: Duration::from_secs(1),
        }
    }
}

impl ClusterConfig {
    /// With `n` sessions per node.
    pub fn sessions_per_node(mut self, n: usize) -> Self {
        self.sessions_per_node = n;
        self
    }

    /// With at most `n` failover attempts per call.
    pub fn max_failover(mut self, n: usize) -> Self {
        self.max_failover = n;
        self
    }

    /// With this back-off after a failed dial.
    pub fn dial_backoff(mut self, d: Duration) -> Self {
        self.dial_backoff = d;
        self
    }

    /// With a circuit breaker per node (`None`: off).
    pub fn breaker(mut self, breaker: Option<BreakerConfig>) -> Self {
        self.breaker = breaker;
        self
    }
}

/// Upper bound of [`ClusterConfig::sessions_per_node`].
pub const MAX_SESSIONS_PER_NODE: usize = 64;
