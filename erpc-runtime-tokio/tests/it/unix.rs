//! Unix-domain sockets (Go network `unix`): `local_ip` is the socket path for listening, and
//! dialing takes the path.
#![cfg(unix)]

use crate::common;
use erpc_runtime_tokio::Network;
use std::path::PathBuf;

use common::{echo_ok, within};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, PushCtx, Status};

fn socket_path(name: &str) -> PathBuf {
    // A file in the temp dir itself (no directory to leave behind); the peer removes it when
    // it closes.
    let p = std::env::temp_dir().join(format!("erpc-rs-tests-{}-{name}", std::process::id()));
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

#[tokio::test]
async fn listen_and_dial_by_path() {
    let path = socket_path("echo.sock");
    let server = builder(unix_config(&path))
        .call("/echo", |ctx: CallCtx, n: i64| async move {
            // Push back over the unix session before answering.
            let _ = ctx.session().push("/note", &n).await;
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    assert_eq!(addr, path.display().to_string());
    assert!(path.exists(), "the socket file exists while listening");

    let (tx, mut notes) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(PeerConfig {
        network: Network::Unix,
        ..PeerConfig::default()
    })
    .push("/note", move |_ctx: PushCtx, n: i64| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(n);
        }
    })
    .build()
    .unwrap();
    let a = within("dial by path", client.dial(&addr)).await.unwrap();
    let b = within("second dial by path", client.dial(path.to_str().unwrap()))
        .await
        .unwrap();
    echo_ok(&a, 1).await;
    echo_ok(&b, 2).await;
    let mut got = vec![
        within("note", notes.recv()).await.unwrap(),
        within("note", notes.recv()).await.unwrap(),
    ];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(
        server.count_sessions(),
        2,
        "two unix sessions have distinct ids"
    );

    within("client close", client.close()).await;
    within("server close", server.close()).await;
    assert!(
        !path.exists(),
        "the socket file is removed when the peer closes"
    );
}

#[tokio::test]
async fn dialing_a_missing_path_fails() {
    let path = socket_path("missing.sock");
    let client = builder(PeerConfig {
        network: Network::Unix,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let err = within(
        "dial to a missing path",
        client.dial(path.to_str().unwrap()),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), erpc_runtime_tokio::Code::DIAL_FAILED, "{err}");
}
