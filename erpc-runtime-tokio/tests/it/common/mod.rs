//! Helpers shared by the integration tests: loopback configs and bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::time::Duration;

use erpc_runtime_tokio::{PeerConfig, Session};

/// The longest any single step of a test may take before it counts as hung.
pub const STEP: Duration = Duration::from_secs(10);

/// A config bound to 127.0.0.1 (never every interface) with a free port.
pub fn local() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

/// Awaits `fut`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    within_for(STEP, what, fut).await
}

/// Awaits `fut`, failing the test with `what` if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match tokio::time::timeout(limit, fut).await {
        Ok(v) => v,
        Err(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `cond` every few milliseconds until it holds; fails the test after [`STEP`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Calls `/echo` with `n` and checks the answer.
pub async fn echo_ok(sess: &Session, n: i64) {
    let got: i64 = within("echo call", sess.call("/echo", &n))
        .await
        .expect("echo call failed");
    assert_eq!(got, n);
}

/// Enables `RUST_LOG`-driven logging for a test (once per process; later calls do nothing).
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}
