//! The `unixpacket` network (Go's seqpacket unix sockets) on threads: call and push both
//! ways with bodies far larger than one packet.

use crate::common;
use std::path::PathBuf;
use std::sync::{mpsc, Mutex};

use common::{echo_ok, within, STEP};
use erpc_runtime_blocking::{builder, CallCtx, Code, PeerConfig, PushCtx, Status};

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
        network: "unixpacket".into(),
        local_ip: local_ip.into(),
        ..common::client()
    }
}

#[test]
fn call_and_push_with_large_bodies() {
    let path = socket_path("packet.sock");
    let server = builder(config(&path.display().to_string()))
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/big", |ctx: CallCtx, body: String| {
            let _ = ctx.session().push("/back", &body);
            Ok::<_, Status>(body.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    assert_eq!(addr, path.display().to_string());

    let (tx, back) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = builder(config(""))
        .push("/back", move |_: PushCtx, body: String| {
            let _ = tx.lock().unwrap().send(body);
        })
        .build()
        .unwrap();
    let a = client.dial(&addr).unwrap();
    let b = client.dial(&addr).unwrap();
    echo_ok(&a, 1);
    echo_ok(&b, 2);
    assert_eq!(server.count_sessions(), 2, "two sessions, two ids");

    // 3 MiB: thousands of 1024-byte packets each way.
    let body: String = (0..3 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let len: usize = a.call_with("/big").send(&body).unwrap().body;
    assert_eq!(len, body.len());
    let pushed = back.recv_timeout(STEP).unwrap();
    assert!(pushed == body, "the pushed body came back intact");

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
    let client = builder(config("")).build().unwrap();
    let err = client
        .dial(socket_path("missing.sock").to_str().unwrap())
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
}
