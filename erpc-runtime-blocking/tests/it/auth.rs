//! Authentication (Go's `auth-bearer` / `auth-checker`): the checker runs on the worker pool;
//! a good token opens the session, a bad one fails the dial with 105 and the checker's cause.

use crate::common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{echo_ok, eventually, local, within};
use erpc_runtime_blocking::{builder, CallCtx, Code, CodecId, Message, Peer, PeerConfig, Status};

fn guarded_server(checks: Arc<AtomicUsize>) -> Peer {
    builder(local())
        .auth_checker(CodecId::PLAIN, move |m: Message| {
            checks.fetch_add(1, Ordering::SeqCst);
            if m.body.as_ref() == b"token" {
                Ok(Bytes::from_static(b"pass"))
            } else {
                Err(Status::new(
                    Code::UNAUTHORIZED,
                    "Unauthorized",
                    Some("bad token"),
                ))
            }
        })
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap()
}

#[test]
fn good_token_opens_the_session_and_a_bad_one_fails_the_dial() {
    let checks = Arc::new(AtomicUsize::new(0));
    let server = guarded_server(checks.clone());
    let addr = server.listen().unwrap();

    let good = builder(common::client())
        .auth_bearer(CodecId::PLAIN, "token")
        .build()
        .unwrap();
    let sess = good.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    assert_eq!(checks.load(Ordering::SeqCst), 1);

    let bad = builder(common::client())
        .auth_bearer(CodecId::PLAIN, "wrong")
        .build()
        .unwrap();
    let err = bad.dial(&addr).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(err.cause(), Some("bad token"), "{err}");
    // A refused session is out of the table by the time the dial answers.
    assert_eq!(bad.count_sessions(), 0);
    eventually("server dropped the refused session", || {
        server.count_sessions() == 1
    });

    // Retried under redial_times, then still refused.
    let retrying = builder(PeerConfig {
        redial_times: 2,
        redial_interval: Duration::from_millis(10),
        ..common::client()
    })
    .auth_bearer(CodecId::PLAIN, "wrong")
    .build()
    .unwrap();
    let before = checks.load(Ordering::SeqCst);
    let err = retrying.dial(&addr).unwrap_err();
    assert_eq!(err.cause(), Some("bad token"), "{err}");
    assert_eq!(
        checks.load(Ordering::SeqCst) - before,
        3,
        "first attempt plus 2 retries"
    );

    within("close", move || {
        for p in [good, bad, retrying, server] {
            p.close();
        }
    });
}
