//! Unix-domain sockets (Go network `unix`): `local_ip` is the socket path for listening, and
//! dialing takes the path.
#![cfg(all(unix, feature = "smol"))]

use crate::common;
use erpc_runtime_async_std::Network;
use std::path::PathBuf;

use common::{echo_ok, within};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, Code, PeerConfig, PushCtx, Status};
use futures_util::StreamExt;

fn socket_path(name: &str) -> PathBuf {
    // A file in the temp dir itself (no directory to leave behind); the peer removes it when
    // it closes.
    let dir = std::env::temp_dir();
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = dir.join(format!(
        "erpc-rs-async-io-{}-{n}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

fn unix_config(path: &std::path::Path) -> PeerConfig {
    PeerConfig {
        network: Network::Unix,
        local_ip: path.display().to_string(),
        ..PeerConfig::default()
    }
}

on_every_executor!(listen_and_dial_by_path, dialing_a_missing_path_fails);

async fn listen_and_dial_by_path(rt: AsyncIo) {
    let path = socket_path("echo.sock");
    let server = builder_on(rt.clone(), unix_config(&path))
        .call("/echo", |ctx: CallCtx, n: i64| async move {
            // Push back over the unix session before answering.
            let _ = ctx.session().push("/note", &n).await;
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    assert_eq!(addr, path.display().to_string());
    assert!(path.exists(), "the socket file exists while listening");

    let (tx, mut notes) = futures_channel::mpsc::unbounded();
    let client = builder_on(
        rt,
        PeerConfig {
            network: Network::Unix,
            ..PeerConfig::default()
        },
    )
    .push("/note", move |_ctx: PushCtx, n: i64| {
        let tx = tx.clone();
        async move {
            let _ = tx.unbounded_send(n);
        }
    })
    .build()
    .unwrap();
    let a = within("dial by path", client.dial(&addr)).await.unwrap();
    let b = within("second dial", client.dial(path.to_str().unwrap()))
        .await
        .unwrap();
    echo_ok(&a, 1).await;
    echo_ok(&b, 2).await;
    let mut got = vec![
        within("note", notes.next()).await.unwrap(),
        within("note", notes.next()).await.unwrap(),
    ];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(
        server.count_sessions(),
        2,
        "two unix sessions have distinct ids"
    );
    assert_eq!(client.count_sessions(), 2, "on the dialing side too");

    within("client close", client.close()).await;
    within("server close", server.close()).await;
    common::eventually("socket file removed", || !path.exists()).await;
}

async fn dialing_a_missing_path_fails(rt: AsyncIo) {
    let path = socket_path("missing.sock");
    let client = builder_on(
        rt,
        PeerConfig {
            network: Network::Unix,
            ..PeerConfig::default()
        },
    )
    .build()
    .unwrap();
    let err = within(
        "dial to a missing path",
        client.dial(path.to_str().unwrap()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
}
