//! Authentication over sockets (Go's `auth-bearer` / `auth-checker`, §9.4): a good token
//! opens the session, a bad one fails the dial with 105 and the checker's cause.

use crate::common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{echo_ok, local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, CodecId, Message, Peer, PeerConfig, Status};

fn guarded_server(checks: Arc<AtomicUsize>) -> Peer {
    builder(local())
        .auth_checker(CodecId::PLAIN, move |m: Message| {
            checks.fetch_add(1, Ordering::SeqCst);
            async move {
                if m.body.as_ref() == b"token" {
                    Ok(Bytes::from_static(b"pass"))
                } else {
                    Err(Status::new(
                        Code::UNAUTHORIZED,
                        "Unauthorized",
                        Some("bad token"),
                    ))
                }
            }
        })
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn good_token_opens_the_session() {
    let checks = Arc::new(AtomicUsize::new(0));
    let server = guarded_server(checks.clone());
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default())
        .auth_bearer(CodecId::PLAIN, "token")
        .build()
        .unwrap();
    let sess = within("authenticated dial", client.dial(&addr))
        .await
        .unwrap();
    echo_ok(&sess, 1).await;
    assert_eq!(checks.load(Ordering::SeqCst), 1);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn bad_token_fails_the_dial_with_105_and_the_cause() {
    let checks = Arc::new(AtomicUsize::new(0));
    let server = guarded_server(checks.clone());
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default())
        .auth_bearer(CodecId::PLAIN, "wrong")
        .build()
        .unwrap();
    let err = within("refused dial", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(err.cause(), Some("bad token"), "{err}");
    assert_eq!(client.count_sessions(), 0);
    common::eventually("server dropped the refused session", || {
        server.count_sessions() == 0
    })
    .await;

    // Retried under redial_times (Go retries a refused PostDial), then still refused.
    let retrying = builder(PeerConfig {
        redial_times: 2,
        redial_interval: Duration::from_millis(10),
        ..PeerConfig::default()
    })
    .auth_bearer(CodecId::PLAIN, "wrong")
    .build()
    .unwrap();
    let before = checks.load(Ordering::SeqCst);
    let err = within("refused dial with retries", retrying.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(err.cause(), Some("bad token"), "{err}");
    assert_eq!(
        checks.load(Ordering::SeqCst) - before,
        3,
        "first attempt plus 2 retries"
    );

    within("client close", client.close()).await;
    within("retrying close", retrying.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn client_without_auth_cannot_use_a_guarded_server() {
    let checks = Arc::new(AtomicUsize::new(0));
    let server = guarded_server(checks.clone());
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    // Without a bearer the dial itself sends nothing; the first call is not an AUTH_CALL, so
    // the server closes the connection and the call fails.
    let outcome = within("unauthenticated call", async {
        let sess = client.dial(&addr).await?;
        sess.call::<_, i64>("/echo", &1).await
    })
    .await;
    let err = outcome.unwrap_err();
    assert!(
        matches!(err.code(), Code::CONN_CLOSED | Code::DIAL_FAILED),
        "{err}"
    );
    assert_eq!(checks.load(Ordering::SeqCst), 0, "the checker never ran");

    // A server without a checker refuses a bearer.
    let open = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let open_addr = open.listen().await.unwrap();
    let bearer = builder(PeerConfig::default())
        .auth_bearer(CodecId::PLAIN, "token")
        .build()
        .unwrap();
    let err = within(
        "bearer to a server without checker",
        bearer.dial(&open_addr),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    for p in [&server, &client, &open, &bearer] {
        within("close", p.close()).await;
    }
}
