//! Unix-domain sockets (Go network `unix`): `local_ip` is the socket path for listening, and
//! dialing takes the path.
#![cfg(unix)]

use crate::common;
use erpc_runtime_blocking::Network;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Mutex;

use common::{echo_ok, within, STEP};
use erpc_runtime_blocking::{builder, CallCtx, Code, PeerConfig, PushCtx, Status};

fn socket_path(name: &str) -> PathBuf {
    // A file in the temp dir itself (no directory to leave behind); the peer removes it when
    // it closes.
    let p = std::env::temp_dir().join(format!("erpc-rs-blocking-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn unix_config(path: &std::path::Path) -> PeerConfig {
    PeerConfig {
        network: Network::Unix,
        local_ip: path.display().to_string(),
        ..common::client()
    }
}

#[test]
fn listen_and_dial_by_path() {
    let path = socket_path("echo.sock");
    let server = builder(unix_config(&path))
        .call("/echo", |ctx: CallCtx, n: i64| {
            // Push back over the unix session before answering.
            let _ = ctx.session().push("/note", &n);
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    assert_eq!(addr, path.display().to_string());
    assert!(path.exists(), "the socket file exists while listening");

    let (tx, notes) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = builder(PeerConfig {
        network: Network::Unix,
        ..common::client()
    })
    .push("/note", move |_ctx: PushCtx, n: i64| {
        let _ = tx.lock().unwrap().send(n);
    })
    .build()
    .unwrap();
    let a = client.dial(&addr).unwrap();
    let b = client.dial(path.to_str().unwrap()).unwrap();
    echo_ok(&a, 1);
    echo_ok(&b, 2);
    let mut got = vec![
        notes.recv_timeout(STEP).unwrap(),
        notes.recv_timeout(STEP).unwrap(),
    ];
    got.sort();
    assert_eq!(got, [1, 2]);
    assert_eq!(
        server.count_sessions(),
        2,
        "two unix sessions have distinct ids"
    );
    assert_eq!(client.count_sessions(), 2, "on the dialing side too");

    within("close", move || {
        client.close();
        server.close();
    });
    assert!(
        !path.exists(),
        "the socket file is removed when the peer closes"
    );
}

#[test]
fn dialing_a_missing_path_fails() {
    let path = socket_path("missing.sock");
    let client = builder(PeerConfig {
        network: Network::Unix,
        ..common::client()
    })
    .build()
    .unwrap();
    let err = client.dial(path.to_str().unwrap()).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
}
