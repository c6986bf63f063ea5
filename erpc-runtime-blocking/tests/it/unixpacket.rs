//! The `unixpacket` network (Go's seqpacket unix sockets) on threads: call and push both
//! ways with bodies far larger than one packet.

use crate::common;
use erpc_runtime_blocking::Network;
use std::path::PathBuf;

use erpc_runtime_blocking::{builder, Code, PeerConfig};

fn socket_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!(
        "erpc-rs-blocking-packet-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

fn config(local_ip: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Unixpacket,
        local_ip: local_ip.into(),
        ..common::client()
    }
}

#[test]
fn call_and_push_with_large_bodies() {
    let path = socket_path("packet.sock");
    // 3 MiB: thousands of 1024-byte packets each way.
    let addr =
        common::large_bodies_both_ways(config(&path.display().to_string()), config(""), 3 << 20);
    assert_eq!(addr, path.display().to_string());
    assert!(
        !path.exists(),
        "the socket file is removed when the peer closes"
    );
}

#[test]
fn dialing_a_missing_path_fails() {
    let client = builder(config("")).build().unwrap();
    let err = client
        .dial(socket_path("missing.sock").to_str().unwrap())
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
}
