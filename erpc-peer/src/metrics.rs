//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): what a
//! peer served and made, per route, and its connection figures, recorded by whatever recorder
//! the application installed (`metrics-exporter-prometheus`, statsd, …).
//!
//! The metrics, their labels and the rules for them are in the crate docs ("Metrics").
//!
//! Without the feature every method here is an empty inline function.

use std::time::Duration;

use erpc_proto::{ServiceMethod, Status};

/// Service methods whose handles a peer keeps for the calls and pushes its connections make
/// (shared by its connections); further ones are registered on each use.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const MADE_CACHE: usize = 256;

/// Of those, how many one connection keeps at hand (looked up without a lock); a connection
/// that calls more service methods takes the others from the peer's shared ones.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const MADE_LOCAL: usize = 8;

/// The route label of the unknown-call and unknown-push handlers.
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) const UNKNOWN_ROUTE: &str = "<unknown>";

/// What a connection changed since it last published (see [`PeerMetrics::publish`]).
#[derive(Clone, Copy, Debug, Default)]
#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
pub(crate) struct MetricsDelta {
    pub(crate) bytes_in: u64,
    pub(crate) bytes_out: u64,
    pub(crate) queued_bytes: i64,
    pub(crate) handlers_running: i64,
    pub(crate) calls_pending: i64,
}

#[cfg(feature = "metrics")]
mod imp {
    use super::*;

    fn code_of(result: Result<(), &Status>) -> i32 {
        result.err().map_or(0, |st| st.code().0)
    }

    /// Which service method an outgoing call or push went to, kept for its metrics until it
    /// completes: the slot of its handles in the connection's [`MadeCache`] (no copy of the
    /// name per call), the peer's handles beyond the connection's, or the name itself once
    /// the peer's are full.
    pub(crate) enum RouteLabel {
        Cached(u32),
        Shared(Arc<MadeHandles>),
        Uncached(ServiceMethod),
    }
    use std::sync::{Arc, Mutex};

    use metrics::{Counter, Gauge, Histogram, Label};
    use rustc_hash::FxHashMap;

    /// The handles of one registered route.
    struct RouteHandles {
        name: String,
        served_ok: Counter,
        served_seconds: Histogram,
        pushes_served: Counter,
    }

    /// A peer's metric handles.
    pub(crate) struct PeerMetrics {
        peer: String,
        routes: Vec<Option<RouteHandles>>,
        bytes_in: Counter,
        bytes_out: Counter,
        connections: Gauge,
        sessions: Gauge,
        queued_bytes: Gauge,
        handlers_running: Gauge,
        calls_pending: Gauge,
        /// The handles of the service methods the peer's connections call and push to (at
        /// most [`MADE_CACHE`]), made once per peer: a connection only holds pointers to them.
        made: Mutex<FxHashMap<String, Arc<MadeHandles>>>,
    }

    impl std::fmt::Debug for PeerMetrics {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("PeerMetrics")
                .field("peer", &self.peer)
                .finish_non_exhaustive()
        }
    }

    impl PeerMetrics {
        /// Handles for peer `name` whose routes are `routes` (indexed by route id).
        pub(crate) fn new(name: &str, routes: &[Option<String>]) -> PeerMetrics {
            let peer = name.to_owned();
            let labels = |route: &str| {
                vec![
                    Label::new("peer", peer.clone()),
                    Label::new("route", route.to_owned()),
                ]
            };
            let routes = routes
                .iter()
                .map(|r| {
                    r.as_deref().map(|route| {
                        let mut ok = labels(route);
                        ok.push(Label::new("code", "0"));
                        RouteHandles {
                            name: route.to_owned(),
                            served_ok: metrics::counter!("erpc_calls_served_total", ok),
                            served_seconds: metrics::histogram!(
                                "erpc_call_served_seconds",
                                labels(route)
                            ),
                            pushes_served: metrics::counter!(
                                "erpc_pushes_served_total",
                                labels(route)
                            ),
                        }
                    })
                })
                .collect();
            let p = || vec![Label::new("peer", peer.clone())];
            PeerMetrics {
                routes,
                bytes_in: metrics::counter!("erpc_bytes_received_total", p()),
                bytes_out: metrics::counter!("erpc_bytes_sent_total", p()),
                connections: metrics::gauge!("erpc_connections", p()),
                sessions: metrics::gauge!("erpc_sessions", p()),
                queued_bytes: metrics::gauge!("erpc_queued_bytes", p()),
                handlers_running: metrics::gauge!("erpc_handlers_running", p()),
                calls_pending: metrics::gauge!("erpc_calls_pending", p()),
                made: Mutex::default(),
                peer,
            }
        }

        /// The handles of calls and pushes to `route`, made at its first use (`None` once
        /// [`MADE_CACHE`] service methods have theirs).
        fn made_handles(&self, route: &str) -> Option<Arc<MadeHandles>> {
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(h) = made.get(route) {
                return Some(Arc::clone(h));
            }
            if made.len() >= MADE_CACHE {
                return None;
            }
            let labels = || {
                vec![
                    Label::new("peer", self.peer.clone()),
                    Label::new("route", route.to_owned()),
                ]
            };
            let ok = || {
                let mut l = labels();
                l.push(Label::new("code", "0"));
                l
            };
            let h = Arc::new(MadeHandles {
                route: route.to_owned(),
                calls_ok: metrics::counter!("erpc_calls_made_total", ok()),
                seconds: metrics::histogram!("erpc_call_made_seconds", labels()),
                pushes_ok: metrics::counter!("erpc_pushes_made_total", ok()),
            });
            made.insert(route.to_owned(), Arc::clone(&h));
            Some(h)
        }

        /// An incoming call on route `route` was answered after `cost`.
        pub(crate) fn call_served(
            &self,
            route: usize,
            cost: Duration,
            result: Result<(), &Status>,
        ) {
            let Some(Some(r)) = self.routes.get(route) else {
                return;
            };
            r.served_seconds.record(cost.as_secs_f64());
            match code_of(result) {
                0 => r.served_ok.increment(1),
                code => metrics::counter!(
                    "erpc_calls_served_total",
                    "peer" => self.peer.clone(),
                    "route" => r.name.clone(),
                    "code" => code.to_string()
                )
                .increment(1),
            }
        }

        /// An incoming push on route `route` was handled.
        pub(crate) fn push_served(&self, route: usize) {
            if let Some(Some(r)) = self.routes.get(route) {
                r.pushes_served.increment(1);
            }
        }

        /// A connection's byte counts and level changes of one turn.
        pub(crate) fn publish(&self, d: &MetricsDelta) {
            if d.bytes_in > 0 {
                self.bytes_in.increment(d.bytes_in);
            }
            if d.bytes_out > 0 {
                self.bytes_out.increment(d.bytes_out);
            }
            for (gauge, by) in [
                (&self.queued_bytes, d.queued_bytes),
                (&self.handlers_running, d.handlers_running),
                (&self.calls_pending, d.calls_pending),
            ] {
                if by > 0 {
                    gauge.increment(by as f64);
                } else if by < 0 {
                    gauge.decrement(-by as f64);
                }
            }
        }

        /// A connection task started (`true`) or ended.
        pub(crate) fn connection(&self, opened: bool) {
            if opened {
                self.connections.increment(1.0);
            } else {
                self.connections.decrement(1.0);
            }
        }

        /// The session table now holds `n` sessions.
        pub(crate) fn sessions(&self, n: usize) {
            self.sessions.set(n as f64);
        }

        fn made(&self, name: &'static str, route: &str, code: i32) -> Counter {
            metrics::counter!(
                name,
                "peer" => self.peer.clone(),
                "route" => route.to_owned(),
                "code" => code.to_string()
            )
        }
    }

    /// The handles of one service method a peer's connections call and push to.
    pub(crate) struct MadeHandles {
        route: String,
        calls_ok: Counter,
        seconds: Histogram,
        pushes_ok: Counter,
    }

    /// A connection's pointers to the handles of the service methods it calls (the first
    /// [`MADE_LOCAL`]; the peer holds the handles themselves). Empty until the first call, and
    /// one pointer for a connection that calls one service method.
    #[derive(Default)]
    pub(crate) struct MadeCache {
        handles: Vec<Arc<MadeHandles>>,
    }

    impl MadeCache {
        /// The label of a call or push to `service_method`.
        pub(crate) fn label(
            &mut self,
            m: &PeerMetrics,
            service_method: &ServiceMethod,
        ) -> RouteLabel {
            let route = service_method.as_str();
            if let Some(slot) = self.handles.iter().position(|h| h.route == route) {
                return RouteLabel::Cached(slot as u32);
            }
            let Some(h) = m.made_handles(route) else {
                return RouteLabel::Uncached(service_method.clone());
            };
            if self.handles.len() >= MADE_LOCAL {
                return RouteLabel::Shared(h);
            }
            if self.handles.capacity() == 0 {
                self.handles.reserve_exact(1);
            }
            self.handles.push(h);
            RouteLabel::Cached(self.handles.len() as u32 - 1)
        }

        /// The handles and the name of `route`.
        fn resolve<'a>(&'a self, route: &'a RouteLabel) -> (Option<&'a MadeHandles>, &'a str) {
            match route {
                RouteLabel::Cached(slot) => match self.handles.get(*slot as usize) {
                    Some(h) => (Some(h), &h.route),
                    None => (None, "?"),
                },
                RouteLabel::Shared(h) => (Some(h), &h.route),
                RouteLabel::Uncached(name) => (None, name.as_str()),
            }
        }

        /// An outgoing call to `route` completed after `elapsed` (`None`: it failed before it
        /// was sent).
        pub(crate) fn call_made(
            &mut self,
            m: &PeerMetrics,
            route: &RouteLabel,
            elapsed: Option<Duration>,
            result: Result<(), &Status>,
        ) {
            let code = code_of(result);
            let (h, name) = self.resolve(route);
            if let Some(e) = elapsed {
                match h {
                    Some(h) => h.seconds.record(e.as_secs_f64()),
                    None => metrics::histogram!(
                        "erpc_call_made_seconds",
                        "peer" => m.peer.clone(),
                        "route" => name.to_owned()
                    )
                    .record(e.as_secs_f64()),
                }
            }
            match (code, h) {
                (0, Some(h)) => h.calls_ok.increment(1),
                _ => m.made("erpc_calls_made_total", name, code).increment(1),
            }
        }

        /// An outgoing push to `route` was queued (or refused with a status).
        pub(crate) fn push_made(
            &mut self,
            m: &PeerMetrics,
            route: &RouteLabel,
            result: Result<(), &Status>,
        ) {
            let code = code_of(result);
            match (code, self.resolve(route)) {
                (0, (Some(h), _)) => h.pushes_ok.increment(1),
                (_, (_, name)) => m.made("erpc_pushes_made_total", name, code).increment(1),
            }
        }
    }
}

#[cfg(not(feature = "metrics"))]
mod imp {
    use super::*;

    /// Without the `metrics` feature: nothing.
    #[derive(Debug)]
    pub(crate) struct PeerMetrics;

    impl PeerMetrics {
        #[inline]
        pub(crate) fn new(_name: &str, _routes: &[Option<String>]) -> PeerMetrics {
            PeerMetrics
        }
        #[inline]
        pub(crate) fn call_served(&self, _: usize, _: Duration, _: Result<(), &Status>) {}
        #[inline]
        pub(crate) fn push_served(&self, _: usize) {}
        #[inline]
        pub(crate) fn publish(&self, _: &MetricsDelta) {}
        #[inline]
        pub(crate) fn connection(&self, _: bool) {}
        #[inline]
        pub(crate) fn sessions(&self, _: usize) {}
    }

    /// Without the `metrics` feature: nothing kept.
    #[derive(Clone, Copy, Debug)]
    pub(crate) struct RouteLabel;

    /// Without the `metrics` feature: nothing.
    #[derive(Default)]
    pub(crate) struct MadeCache;

    impl MadeCache {
        #[inline]
        pub(crate) fn label(&mut self, _: &PeerMetrics, _: &ServiceMethod) -> RouteLabel {
            RouteLabel
        }
        #[inline]
        pub(crate) fn call_made(
            &mut self,
            _: &PeerMetrics,
            _: &RouteLabel,
            _: Option<Duration>,
            _: Result<(), &Status>,
        ) {
        }
        #[inline]
        pub(crate) fn push_made(
            &mut self,
            _: &PeerMetrics,
            _: &RouteLabel,
            _: Result<(), &Status>,
        ) {
        }
    }
}

pub(crate) use imp::{MadeCache, PeerMetrics, RouteLabel};
