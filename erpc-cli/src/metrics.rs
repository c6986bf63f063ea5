//! `erpc serve --metrics ADDR`: the peer's metrics (erpc-peer's `metrics` feature) in
//! Prometheus text at `http://ADDR/metrics`, through `metrics-exporter-prometheus`.

use std::net::SocketAddr;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

use crate::client::BoxError;

/// Bucket bounds of the latency histograms (`erpc_call_served_seconds`,
/// `erpc_call_made_seconds`), in seconds: 50 µs to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5, 5.0, 10.0,
];

/// Installs the process's metrics recorder with an HTTP listener on `addr` (a task on the
/// current tokio runtime). Must run before the peer is built: the peer registers its
/// per-route handles then.
pub(crate) fn serve_prometheus(addr: SocketAddr) -> Result<(), BoxError> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install()
        .map_err(|e| format!("cannot serve metrics on {addr}: {e}"))?;
    Ok(())
}
