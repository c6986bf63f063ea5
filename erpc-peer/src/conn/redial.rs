//! [`RedialPolicy`]: Go eRPC's rule for retrying a dial and re-establishing a broken dialed
//! session, as a small state machine with time passed in (used by the first dial and by the
//! redial of a session, so the rule exists once).

use std::time::{Duration, Instant};

use crate::config::PeerConfig;

/// Attempts left and the pause between them: after a failed attempt, `redial_times` more
/// (forever if negative, none if 0), each `redial_interval` after the failure (Go: 100 ms
/// when zero).
#[derive(Debug, Clone)]
pub(crate) struct RedialPolicy {
    left: i32,
    interval: Duration,
}

impl RedialPolicy {
    pub(crate) fn new(config: &PeerConfig) -> Self {
        RedialPolicy {
            left: config.redial_times,
            interval: crate::setup::redial_interval(config),
        }
    }

    /// An attempt failed at `now`: when to try again, or `None` to give up.
    pub(crate) fn after_failure(&mut self, now: Instant) -> Option<Instant> {
        if self.left == 0 {
            return None;
        }
        if self.left > 0 {
            self.left -= 1;
        }
        Some(now.checked_add(self.interval).unwrap_or(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn origin() -> Instant {
        Instant::now()
    }

    fn policy(times: i32) -> RedialPolicy {
        RedialPolicy::new(&PeerConfig {
            redial_times: times,
            redial_interval: Duration::from_millis(150),
            ..PeerConfig::default()
        })
    }

    #[test]
    fn go_rule() {
        let t = origin();
        assert_eq!(policy(0).after_failure(t), None);
        let mut p = policy(2);
        assert_eq!(p.after_failure(t), Some(t + Duration::from_millis(150)));
        assert!(p.after_failure(t).is_some());
        assert_eq!(p.after_failure(t), None);
        let mut forever = policy(-1);
        for _ in 0..1000 {
            assert!(forever.after_failure(t).is_some());
        }
    }

    #[test]
    fn zero_interval_is_go_s_100_ms() {
        let t = origin();
        let mut p = RedialPolicy::new(&PeerConfig {
            redial_times: 1,
            redial_interval: Duration::ZERO,
            ..PeerConfig::default()
        });
        assert_eq!(p.after_failure(t), Some(t + Duration::from_millis(100)));
    }
}
