//! `graceful_shutdown_on_signal`: SIGTERM closes the peer; closing the peer otherwise ends
//! the wait too. Its own test binary, since it signals the whole process.
#![cfg(unix)]

use crate::common;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::{background, local, wait, STEP};
use erpc_runtime_blocking::{builder, graceful_shutdown_on_signal};

fn sigterm_self() {
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

#[test]
fn sigterm_closes_the_peer_and_a_close_ends_the_wait() {
    // Catch SIGTERM process-wide first, so that no signal can kill the test while the helper
    // is still registering its own handler.
    signal_hook::flag::register(
        signal_hook::consts::SIGTERM,
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();

    let server = builder(local()).build().unwrap();
    server.listen().unwrap();
    let done = {
        let s = server.clone();
        background(move || graceful_shutdown_on_signal(&s))
    };
    let end = std::time::Instant::now() + STEP;
    // Repeat: the helper may not have registered yet when the first signal arrives.
    while !server.is_closing() {
        assert!(
            std::time::Instant::now() < end,
            "SIGTERM did not close the peer"
        );
        sigterm_self();
        std::thread::sleep(Duration::from_millis(50));
    }
    wait("helper returns", &done).unwrap();

    // Without a signal: closing the peer ends the helper's wait.
    let other = builder(local()).build().unwrap();
    let done = {
        let s = other.clone();
        background(move || graceful_shutdown_on_signal(&s))
    };
    std::thread::sleep(Duration::from_millis(50));
    other.close();
    wait("helper returns after close", &done).unwrap();
}
