//! [`Breaker`]: a circuit breaker per node, sans-IO (the time is passed in), with
//! tp-micro's rule: a sliding window of successes and failures (10 s), open when failures
//! exceed a percentage (50 %) for a while (5 s), then half-open with a single probe.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Settings of a [`Breaker`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Length of the sliding window (default 10 s, tp-micro's).
    pub window: Duration,
    /// How many buckets the window is kept in (default 10: one per second); memory per node
    /// is bounded by it.
    pub buckets: u32,
    /// Opens when failures are more than this percentage of the window's outcomes
    /// (default 50, tp-micro's `ErrorPercentage`).
    pub error_percentage: u32,
    /// Fewest outcomes in the window before it may open (default 5; ours: one failed first
    /// call should not take a node out).
    pub min_calls: u32,
    /// How long it stays open (default 5 s, tp-micro's `BreakDuration`); also how long a
    /// half-open probe may take before another is allowed.
    pub break_duration: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            window: Duration::from_secs(10),
            buckets: 10,
            error_percentage: 50,
            min_calls: 5,
            break_duration: Duration::from_secs(5),
        }
    }
}

/// Where a [`Breaker`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakerState {
    /// Calls go through; outcomes are counted.
    Closed,
    /// Calls are refused until the break is over.
    Open,
    /// One probe may go; its outcome closes or reopens the breaker.
    HalfOpen,
}

#[derive(Debug)]
enum Mode {
    Closed,
    Open { until: Instant },
    HalfOpen { probe_since: Option<Instant> },
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    index: u64,
    ok: u32,
    failed: u32,
}

/// A circuit breaker for one node. Call [`allow`](Breaker::allow) before sending and
/// [`record`](Breaker::record) with the outcome; [`state`](Breaker::state) to look.
#[derive(Debug)]
pub struct Breaker {
    cfg: BreakerConfig,
    epoch: Option<Instant>,
    buckets: VecDeque<Bucket>,
    mode: Mode,
}

impl Breaker {
    /// A closed breaker. Absurd settings are made sane: at least one bucket, a window of at
    /// least one millisecond per bucket, a percentage of at most 100.
    pub fn new(mut cfg: BreakerConfig) -> Self {
        cfg.buckets = cfg.buckets.clamp(1, 1_000);
        cfg.window = cfg
            .window
            .max(Duration::from_millis(u64::from(cfg.buckets)));
        cfg.error_percentage = cfg.error_percentage.min(100);
        Breaker {
            cfg,
            epoch: None,
            buckets: VecDeque::with_capacity(cfg.buckets as usize),
            mode: Mode::Closed,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &BreakerConfig {
        &self.cfg
    }

    fn bucket_index(&mut self, now: Instant) -> u64 {
        let epoch = *self.epoch.get_or_insert(now);
        let width = self.cfg.window / self.cfg.buckets;
        (now.saturating_duration_since(epoch).as_nanos() / width.as_nanos().max(1)) as u64
    }

    fn trim(&mut self, index: u64) {
        let oldest = index.saturating_sub(u64::from(self.cfg.buckets) - 1);
        while self.buckets.front().is_some_and(|b| b.index < oldest) {
            self.buckets.pop_front();
        }
    }

    fn advance(&mut self, now: Instant) {
        if let Mode::Open { until } = self.mode {
            if now >= until {
                self.mode = Mode::HalfOpen { probe_since: None };
            }
        }
    }

    /// Where it stands at `now`.
    pub fn state(&mut self, now: Instant) -> BreakerState {
        self.advance(now);
        match self.mode {
            Mode::Closed => BreakerState::Closed,
            Mode::Open { .. } => BreakerState::Open,
            Mode::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }

    /// Whether a call may be sent at `now` without taking the probe: closed, or half-open
    /// with the probe free (for choosing among nodes).
    pub fn available(&mut self, now: Instant) -> bool {
        self.advance(now);
        match self.mode {
            Mode::Closed => true,
            Mode::Open { .. } => false,
            Mode::HalfOpen { probe_since } => {
                probe_since.is_none_or(|t| now >= t + self.cfg.break_duration)
            }
        }
    }

    /// Asks to send a call at `now`: always when closed, never when open, and once when
    /// half-open (that call is the probe; if its outcome is not recorded within
    /// `break_duration`, another probe is allowed).
    pub fn allow(&mut self, now: Instant) -> bool {
        if !self.available(now) {
            return false;
        }
        if let Mode::HalfOpen { probe_since } = &mut self.mode {
            *probe_since = Some(now);
        }
        true
    }

    /// Records the outcome of a call sent at or before `now`.
    pub fn record(&mut self, now: Instant, ok: bool) {
        self.advance(now);
        match self.mode {
            Mode::Open { .. } => {}
            Mode::HalfOpen { .. } => {
                self.buckets.clear();
                self.mode = if ok {
                    Mode::Closed
                } else {
                    Mode::Open {
                        until: now + self.cfg.break_duration,
                    }
                };
            }
            Mode::Closed => {
                let index = self.bucket_index(now);
                self.trim(index);
                match self.buckets.back_mut() {
                    Some(b) if b.index == index => {
                        if ok {
                            b.ok = b.ok.saturating_add(1)
                        } else {
                            b.failed = b.failed.saturating_add(1)
                        }
                    }
                    _ => self.buckets.push_back(Bucket {
                        index,
                        ok: u32::from(ok),
                        failed: u32::from(!ok),
                    }),
                }
                let (ok, failed) = self.buckets.iter().fold((0u64, 0u64), |(o, f), b| {
                    (o + u64::from(b.ok), f + u64::from(b.failed))
                });
                let total = ok + failed;
                if total >= u64::from(self.cfg.min_calls)
                    && failed * 100 > u64::from(self.cfg.error_percentage) * total
                {
                    self.buckets.clear();
                    self.mode = Mode::Open {
                        until: now + self.cfg.break_duration,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(t0: Instant, n: u64) -> Instant {
        t0 + Duration::from_millis(n)
    }

    #[test]
    fn opens_above_half_then_probes_once() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig::default());
        // 5 ok + 5 failed = exactly 50 %: stays closed (tp-micro opens *above* the percentage).
        for i in 0..5 {
            assert!(b.allow(ms(t0, i)));
            b.record(ms(t0, i), true);
            b.record(ms(t0, i), false);
        }
        assert_eq!(b.state(ms(t0, 10)), BreakerState::Closed);
        b.record(ms(t0, 10), false);
        assert_eq!(b.state(ms(t0, 10)), BreakerState::Open);
        assert!(!b.allow(ms(t0, 5_009)), "open for 5 s");
        assert_eq!(b.state(ms(t0, 5_010)), BreakerState::HalfOpen);
        assert!(b.allow(ms(t0, 5_010)), "the probe");
        assert!(!b.allow(ms(t0, 5_011)), "a single probe");
        b.record(ms(t0, 5_100), false);
        assert_eq!(
            b.state(ms(t0, 5_100)),
            BreakerState::Open,
            "failed probe reopens"
        );
        assert!(b.allow(ms(t0, 10_100)));
        b.record(ms(t0, 10_150), true);
        assert_eq!(
            b.state(ms(t0, 10_150)),
            BreakerState::Closed,
            "probe ok closes"
        );
        assert!(b.allow(ms(t0, 10_151)));
    }

    #[test]
    fn old_failures_leave_the_window() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig::default());
        for i in 0..4 {
            b.record(ms(t0, i), false);
        }
        // 11 s later the four failures are out of the 10 s window: one more is 1 of 1 but
        // below min_calls, so the breaker stays closed.
        b.record(ms(t0, 11_000), false);
        assert_eq!(b.state(ms(t0, 11_000)), BreakerState::Closed);
        for i in 1..4 {
            b.record(ms(t0, 11_000 + i), false);
        }
        b.record(ms(t0, 11_004), false);
        assert_eq!(b.state(ms(t0, 11_004)), BreakerState::Open);
    }

    #[test]
    fn lost_probe_is_replaced_and_absurd_config_is_sane() {
        let t0 = Instant::now();
        let mut b = Breaker::new(BreakerConfig {
            buckets: 0,
            window: Duration::ZERO,
            error_percentage: 1_000,
            min_calls: 1,
            ..BreakerConfig::default()
        });
        assert_eq!(b.config().buckets, 1);
        assert_eq!(b.config().error_percentage, 100);
        b.record(t0, false);
        // 100 % failures are not *above* 100 %: closed.
        assert_eq!(b.state(t0), BreakerState::Closed);
        let mut b = Breaker::new(BreakerConfig {
            min_calls: 1,
            ..BreakerConfig::default()
        });
        b.record(t0, false);
        assert!(b.allow(ms(t0, 5_000)));
        assert!(!b.allow(ms(t0, 6_000)));
        assert!(
            b.allow(ms(t0, 10_000)),
            "probe never answered: another after 5 s"
        );
    }
}
