//! The `unixpacket` network (Go's seqpacket unix sockets): listen on a path, dial it, call
//! and push both ways, bodies far larger than one packet.

use crate::common;
use erpc_runtime_tokio::Network;
use std::path::PathBuf;

use common::{echo_ok, within};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, PushCtx, Status};

fn socket_path(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("erpc-rs-tests-{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&p);
    p
}

fn config(local_ip: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Unixpacket,
        local_ip: local_ip.into(),
        ..PeerConfig::default()
    }
}

#[tokio::test]
async fn call_and_push_with_large_bodies() {
    let path = socket_path("packet.sock");
    let server = builder(config(&path.display().to_string()))
        .call(
            "/echo",
            |_: CallCtx, n: i64| async move { Ok::<_, Status>(n) },
        )
        .call("/big", |ctx: CallCtx, body: String| async move {
            // Push the body back before answering with its length.
            let _ = ctx.session().push("/back", &body).await;
            Ok::<_, Status>(body.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    assert_eq!(addr, path.display().to_string());

    let (tx, mut back) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(config(""))
        .push("/back", move |_: PushCtx, body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(body);
            }
        })
        .build()
        .unwrap();
    let a = within("dial", client.dial(&addr)).await.unwrap();
    let b = within("second dial", client.dial(&addr)).await.unwrap();
    echo_ok(&a, 1).await;
    echo_ok(&b, 2).await;
    assert_eq!(server.count_sessions(), 2, "two sessions, two ids");

    // 3 MiB: thousands of 1024-byte packets each way, larger than the kernel's per-packet
    // limit (wmem_default) and than the read limit.
    let body: String = (0..3 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let len: usize = within("big call", a.call_with("/big").send(&body))
        .await
        .unwrap()
        .body;
    assert_eq!(len, body.len());
    let pushed = within("big push back", back.recv()).await.unwrap();
    assert!(pushed == body, "the pushed body came back intact");

    within("client close", client.close()).await;
    within("server close", server.close()).await;
    assert!(
        !path.exists(),
        "the socket file is removed when the peer closes"
    );
}

#[tokio::test]
async fn dial_to_a_missing_path_fails_clearly() {
    let client = builder(config("")).build().unwrap();
    let err = within(
        "dial",
        client.dial(socket_path("none.sock").to_str().unwrap()),
    )
    .await
    .expect_err("nothing listens");
    assert!(!err.to_string().is_empty());
    within("close", client.close()).await;
}
