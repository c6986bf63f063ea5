//! `graceful_shutdown_on_signal`: SIGTERM closes the peer. Its own test binary, since it
//! signals the whole process.
#![cfg(all(unix, feature = "smol"))]

use crate::common;
use std::time::Duration;

use common::{local, sleep, spawn, within};
use erpc_runtime_async_std::{builder_on, graceful_shutdown_on_signal, AsyncIo};

fn sigterm_self() {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

async fn closes_on_sigterm(rt: AsyncIo) {
    // Catch SIGTERM process-wide first, so that no signal can kill the test while the helper
    // is still registering its own handler.
    let _guard = async_signal::Signals::new([async_signal::Signal::Term]).unwrap();
    let server = builder_on(rt.clone(), local()).build().unwrap();
    within("listen", server.listen()).await.unwrap();
    let done = spawn(&rt, {
        let server = server.clone();
        async move { graceful_shutdown_on_signal(&server).await }
    });
    within("peer closes on SIGTERM", async {
        // Repeat: the helper may not have registered yet when the first signal arrives.
        while !server.is_closing() {
            sigterm_self();
            sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    within("helper returns", done).await.unwrap().unwrap();
}

#[test]
#[cfg(feature = "async-std")]
fn closes_on_sigterm_under_async_std() {
    async_std::task::block_on(closes_on_sigterm(AsyncIo::async_std()));
}

#[test]
fn closes_on_sigterm_under_smol() {
    smol::block_on(closes_on_sigterm(AsyncIo::smol()));
}
