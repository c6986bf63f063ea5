//! The `kcp` network (feature `kcp`): a peer listening and dialing over KCP on loopback.

use std::time::{Duration, Instant};

use crate::common::{echo_ok, within, within_for};
use erpc_runtime_tokio::{builder, CallCtx, Peer, PeerConfig, Status};

fn kcp_config() -> PeerConfig {
    PeerConfig {
        network: "kcp".into(),
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

fn server() -> Peer {
    builder(kcp_config())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/string", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_and_a_large_body_over_kcp() {
    let server = server();
    let addr = server.listen().await.unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client = builder(kcp_config()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    for n in 0..20 {
        echo_ok(&sess, n).await;
    }
    // Concurrent calls on one session.
    let calls = (0..50).map(|n| {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &n).await }
    });
    let got = within("50 concurrent calls", futures_util::future::join_all(calls)).await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))));
    // 1 MiB both ways.
    let big: String = (0..1 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let t0 = Instant::now();
    let back: String = within_for(
        Duration::from_secs(120),
        "1 MiB echo",
        sess.call("/echo/string", &big),
    )
    .await
    .unwrap();
    eprintln!("kcp: 1 MiB echoed in {:?}", t0.elapsed());
    assert_eq!(back, big);
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn a_second_session_from_another_socket() {
    let server = server();
    let addr = server.listen().await.unwrap();
    let client = builder(kcp_config()).build().unwrap();
    let a = within("dial a", client.dial(&addr)).await.unwrap();
    let b = within("dial b", client.dial(&addr)).await.unwrap();
    assert_ne!(a.local_addr(), b.local_addr());
    echo_ok(&a, 1).await;
    echo_ok(&b, 2).await;
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}
