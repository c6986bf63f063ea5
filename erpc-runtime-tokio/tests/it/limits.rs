//! The read limit (Go §1.5, §7.12): a frame above the receiver's `max_message_size` drops
//! that connection only; other sessions of the same peer carry on.

use crate::common;
use common::{echo_ok, local, within, within_for};
use erpc_runtime_tokio::{builder, CallCtx, Code, PeerConfig, Raw, Status};

#[tokio::test]
async fn oversized_frame_closes_only_its_session() {
    let server = builder(PeerConfig {
        max_message_size: 4096,
        ..local()
    })
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .call("/bytes", |_ctx: CallCtx, b: Raw| async move {
        Ok::<_, Status>(b.len())
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let victim = within("dial", client.dial(&addr)).await.unwrap();
    let bystander = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&victim, 1).await;
    echo_ok(&bystander, 2).await;

    // Under the limit: fine.
    let small = vec![7u8; 1000];
    let n: usize = within("small body", victim.call("/bytes", &Raw::from(small)))
        .await
        .unwrap();
    assert_eq!(n, 1000);

    // 10 KB: the server refuses the frame and drops the connection; the call fails with 102.
    let big = vec![7u8; 10 * 1024];
    let err = within(
        "oversized call",
        victim.call::<_, usize>("/bytes", &Raw::from(big)),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    within("victim session closes", victim.closed()).await;
    let err = victim.call::<_, i64>("/echo", &3).await.unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);

    // The other session on the same server is untouched.
    echo_ok(&bystander, 4).await;
    common::eventually("server dropped the victim only", || {
        server.count_sessions() == 1
    })
    .await;
    // And new sessions are welcome.
    let fresh = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&fresh, 5).await;

    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn sender_refuses_a_frame_above_its_own_limit() {
    let server = builder(local())
        .call("/bytes", |_ctx: CallCtx, b: Raw| async move {
            Ok::<_, Status>(b.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig {
        max_message_size: 4096,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    // Go's rawproto refuses to send above its own limit (104) and keeps the session.
    let err = within(
        "oversized send",
        sess.call::<_, usize>("/bytes", &Raw::from(vec![1u8; 10 * 1024])),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::WRITE_FAILED, "{err}");
    let n: usize = within(
        "small body",
        sess.call("/bytes", &Raw::from(vec![1u8; 100])),
    )
    .await
    .unwrap();
    assert_eq!(n, 100);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

/// A 16 MiB body goes there and back whole (read into a buffer of its own, written in one
/// vectored write with its header); one above the receiver's limit, though within the
/// sender's, closes the session instead of being read.
#[tokio::test]
async fn a_16_mib_body_arrives_whole_and_one_above_the_limit_is_refused() {
    let server = builder(PeerConfig {
        max_message_size: 20 << 20,
        ..local()
    })
    .call("/echo", |_ctx: CallCtx, b: Raw| async move {
        Ok::<_, Status>(b)
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig {
        max_message_size: 64 << 20,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let body: Vec<u8> = (0..16 << 20).map(|i| (i % 251) as u8).collect();
    for _ in 0..2 {
        let back: Raw = within_for(
            std::time::Duration::from_secs(60),
            "16 MiB echo",
            sess.call("/echo", &Raw::from(body.clone())),
        )
        .await
        .unwrap();
        assert!(back[..] == body[..], "the body came back whole");
    }
    let err = within_for(
        std::time::Duration::from_secs(60),
        "24 MiB call",
        sess.call::<_, Raw>("/echo", &Raw::from(vec![1u8; 24 << 20])),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
