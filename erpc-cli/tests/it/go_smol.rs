//! Live interop of the smol adapter with the real Go eRPC v6 peer over kcp and ws (each
//! sub-protocol): a smol client calls Go's `/math/add` and receives Go's broadcast pushes.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use erpc_peer::Network;
use std::time::Duration;

use crate::common;
use common::go::{go_peer, go_server, go_ws_client_config, go_ws_server};
use erpc_runtime_async_std::{builder, PeerConfig, PushCtx};
use futures_util::StreamExt;

const STEP: Duration = Duration::from_secs(20);

async fn within<F: std::future::Future>(what: &str, f: F) -> F::Output {
    let timer = async {
        async_io_timer(STEP).await;
        panic!("{what}: no answer within {STEP:?}");
    };
    futures_util::pin_mut!(f, timer);
    match futures_util::future::select(f, timer).await {
        futures_util::future::Either::Left((v, _)) => v,
        futures_util::future::Either::Right((never, _)) => never,
    }
}

async fn async_io_timer(d: Duration) {
    smol::Timer::after(d).await;
}

/// Calls Go's server on `addr` from smol with `config`; checks `/math/add` and one push of
/// Go's `/push/status` broadcast.
fn smol_against_go(config: PeerConfig, addr: &str, what: &str) {
    smol::block_on(async {
        let (tx, mut pushes) = futures_channel::mpsc::unbounded();
        let client = builder(config)
            .push("/push/status", move |_: PushCtx, s: String| {
                let tx = tx.clone();
                async move {
                    let _ = tx.unbounded_send(s);
                }
            })
            .build()
            .unwrap();
        let s = within("dial", client.dial(addr))
            .await
            .unwrap_or_else(|e| panic!("{what}: dial {addr}: {e}"));
        let sum: i64 = within("call", s.call_with("/math/add").send(&[1i64, 2, 3, 4, 5]))
            .await
            .unwrap_or_else(|e| panic!("{what}: /math/add: {e}"))
            .body;
        assert_eq!(sum, 15, "{what}");
        let pushed = within("push", pushes.next()).await;
        assert!(pushed.is_some(), "{what}: Go's broadcast arrived");
        within("close", client.close()).await;
    });
}

#[test]
fn smol_client_against_go_kcp_server() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--network", "kcp", "--push-interval", "200ms"]);
    let config = PeerConfig {
        network: Network::Kcp,
        ..PeerConfig::default()
    };
    smol_against_go(config, &s.addr, "smol over kcp");
}

#[test]
fn smol_client_against_go_ws_server_with_each_sub_protocol() {
    let Some(go) = go_peer() else { return };
    for sub in ["json", "pb", "proto"] {
        let s = go_ws_server(&go, sub);
        let config = go_ws_client_config(sub);
        smol_against_go(config, &s.addr, &format!("smol over ws {sub}"));
    }
}
