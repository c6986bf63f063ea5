//! Run logs: eRPC's per-call log lines, as `tracing` events, with the slow-call threshold and
//! "print detail" of Go's `PeerConfig`. Every runtime adapter logs through this one type, so
//! the lines are the same whichever runtime runs the peer.

use std::time::Duration;

use erpc_proto::session::{CallDone, Reply};
use erpc_proto::Message;

use crate::config::PeerConfig;

/// Logging knobs (from `PeerConfig`).
#[derive(Clone, Debug, Default)]
pub struct LogConfig {
    print_detail: bool,
    count_time: bool,
    /// Calls at least this slow are logged at WARN.
    slow: Option<Duration>,
}

impl LogConfig {
    /// The knobs `config` sets: `print_detail`, `count_time`, `slow_comet_duration`.
    pub fn new(config: &PeerConfig) -> Self {
        let slow = &config.slow_comet_duration;
        LogConfig {
            print_detail: config.print_detail,
            count_time: config.count_time,
            slow: (!slow.is_zero()).then_some(*slow),
        }
    }

    fn is_slow(&self, cost: Duration) -> bool {
        self.slow.is_some_and(|s| cost >= s)
    }

    /// A call arrived (its detail, with `print_detail`).
    pub fn call_received(&self, m: &Message) {
        if self.print_detail {
            tracing::debug!(seq = m.seq, service_method = %m.service_method, meta = ?m.meta, body = ?m.body, "CALL<- received");
        }
    }

    /// A push arrived (its detail, with `print_detail`).
    pub fn push_received(&self, m: &Message) {
        if self.print_detail {
            tracing::debug!(seq = m.seq, service_method = %m.service_method, meta = ?m.meta, body = ?m.body, "PUSH<- received");
        }
    }

    /// A call this side made completed (Go's `CALL->` line).
    pub fn call_done(&self, d: &CallDone) {
        let slow = self.is_slow(d.elapsed);
        if !slow
            && !self.count_time
            && !self.print_detail
            && !tracing::enabled!(tracing::Level::TRACE)
        {
            return;
        }
        let (sm, code): (&str, i32) = match &d.result {
            Ok(m) => (&m.service_method, 0),
            Err(st) => ("", st.code().0),
        };
        if slow {
            tracing::warn!(seq = d.id.seq(), service_method = sm, code, cost = ?d.elapsed, "CALL-> (slow)");
        } else if self.count_time {
            tracing::info!(seq = d.id.seq(), service_method = sm, code, cost = ?d.elapsed, "CALL->");
        } else {
            tracing::trace!(seq = d.id.seq(), service_method = sm, code, "CALL->");
        }
        if self.print_detail {
            if let Ok(m) = &d.result {
                tracing::debug!(seq = m.seq, meta = ?m.meta, body = ?m.body, "CALL-> reply detail");
            }
        }
    }

    /// A call this side handled (Go's `CALL<-` line).
    pub fn call_handled(&self, service_method: &str, cost: Duration, reply: &Reply) {
        let code = reply.result.as_ref().err().map_or(0, |s| s.code().0);
        if self.is_slow(cost) {
            tracing::warn!(service_method, code, cost = ?cost, "CALL<- (slow)");
        } else if self.count_time {
            tracing::info!(service_method, code, cost = ?cost, "CALL<-");
        } else {
            tracing::trace!(service_method, code, "CALL<-");
        }
        if self.print_detail {
            tracing::debug!(service_method, meta = ?reply.meta, body = ?reply.result, "CALL<- reply detail");
        }
    }
}
