//! Live interop of the blocking adapter with the real Go eRPC v6 peer over kcp and ws (each
//! sub-protocol): a blocking client calls Go's `/math/add` and receives Go's broadcast pushes.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use erpc_peer::Network;
use std::sync::{mpsc, Mutex};
use std::time::Duration;

use crate::common;
use common::go::{go_peer, go_server, go_ws_client_config, go_ws_server};
use erpc_runtime_blocking::{builder, PeerConfig, PushCtx};

const STEP: Duration = Duration::from_secs(20);

/// Calls Go's server on `addr` from the blocking adapter with `config`; checks `/math/add`
/// and one push of Go's `/push/status` broadcast.
fn blocking_against_go(config: PeerConfig, addr: &str, what: &str) {
    let (tx, pushes) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = builder(PeerConfig {
        dial_timeout: STEP,
        call_timeout: STEP,
        ..config
    })
    .push("/push/status", move |_: PushCtx, s: String| {
        let _ = tx.lock().unwrap_or_else(|e| e.into_inner()).send(s);
    })
    .build()
    .unwrap();
    let s = client
        .dial(addr)
        .unwrap_or_else(|e| panic!("{what}: dial {addr}: {e}"));
    let sum: i64 = s
        .call_with("/math/add")
        .send(&[1i64, 2, 3, 4, 5])
        .unwrap_or_else(|e| panic!("{what}: /math/add: {e}"))
        .body;
    assert_eq!(sum, 15, "{what}");
    let pushed = pushes.recv_timeout(STEP);
    assert!(pushed.is_ok(), "{what}: Go's broadcast arrived");
    client.close();
}

#[cfg(feature = "kcp")]
#[test]
fn blocking_client_against_go_kcp_server() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--network", "kcp", "--push-interval", "200ms"]);
    let config = PeerConfig {
        network: Network::Kcp,
        ..PeerConfig::default()
    };
    blocking_against_go(config, &s.addr, "blocking over kcp");
}

#[cfg(feature = "ws")]
#[test]
fn blocking_client_against_go_ws_server_with_each_sub_protocol() {
    let Some(go) = go_peer() else { return };
    for sub in ["json", "pb", "proto"] {
        let s = go_ws_server(&go, sub);
        let config = go_ws_client_config(sub);
        blocking_against_go(config, &s.addr, &format!("blocking over ws {sub}"));
    }
}
