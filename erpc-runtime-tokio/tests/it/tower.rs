//! The `tower` feature: tower's layers around the calls a session makes, and around handlers.

#![cfg(feature = "tower")]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tower::{ServiceBuilder, ServiceExt};

use crate::common::{local, within};
use erpc_runtime_tokio::tower::{Call, HandlerRequest};
use erpc_runtime_tokio::{builder, CallCtx, Code, PeerConfig, Status};

/// A server whose `/sleep` handler sleeps the given milliseconds and records how many run at
/// once.
fn sleeper(running: Arc<AtomicUsize>, most: Arc<AtomicUsize>) -> erpc_runtime_tokio::Peer {
    builder(local())
        .call("/sleep", move |_ctx: CallCtx, ms: u64| {
            let (running, most) = (running.clone(), most.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                most.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Status>(ms)
            }
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn layers_wrap_the_calls_of_a_session() {
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let server = sleeper(running, most.clone());
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();

    // At most 2 in flight, each within 500 ms.
    let svc = ServiceBuilder::new()
        .concurrency_limit(2)
        .timeout(Duration::from_millis(500))
        .service(sess.tower::<u64, u64>());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let svc = svc.clone();
            tokio::spawn(async move { svc.oneshot(Call::new("/sleep", 30)).await })
        })
        .collect();
    for c in calls {
        let reply = within("limited call", c).await.unwrap().unwrap();
        assert_eq!(reply.body, 30);
    }
    assert!(
        most.load(Ordering::SeqCst) <= 2,
        "the limit held: {} ran at once",
        most.load(Ordering::SeqCst)
    );

    // The timeout layer's error, boxed as tower does.
    let err = within(
        "timed-out call",
        svc.clone().oneshot(Call::new("/sleep", 2_000)),
    )
    .await
    .unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");
    // The session's own statuses come through as `Status`.
    let err = within(
        "unknown route",
        svc.clone()
            .oneshot(Call::new("/nowhere", 1).with_meta("k", "v")),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.downcast_ref::<Status>().map(|s| s.code()),
        Some(Code::NOT_FOUND)
    );

    // A closed session is not ready.
    let mut closed = sess.tower::<u64, u64>();
    sess.close();
    within("closed", async {
        while !sess.is_closed() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let st = within("ready on a closed session", closed.ready())
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::CONN_CLOSED);
    for p in [&client, &server] {
        within("close", p.close()).await;
    }
}

#[tokio::test]
async fn handlers_as_tower_services_with_their_layers() {
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (r, m) = (running.clone(), most.clone());
    // One at a time, shedding what comes meanwhile; each within 200 ms.
    let handler = ServiceBuilder::new()
        .load_shed()
        .concurrency_limit(1)
        .timeout(Duration::from_millis(200))
        .service_fn(move |req: HandlerRequest<u64>| {
            let (r, m) = (r.clone(), m.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(req.args)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                assert_eq!(req.ctx.peek_meta("who"), Some("test"));
                Ok::<_, Status>(req.args * 2)
            }
        });
    let server = builder(local())
        .call_service("/work", handler)
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let call = |ms: u64| {
        let sess = sess.clone();
        async move {
            sess.call_with("/work")
                .meta("who", "test")
                .send::<_, u64>(&ms)
                .await
                .map(|r| r.body)
        }
    };
    assert_eq!(within("one call", call(5)).await.unwrap(), 10);

    // Ten at once: one runs, the others are shed with 500 "overloaded".
    let results = within(
        "ten at once",
        futures_util::future::join_all((0..10).map(|_| call(100))),
    )
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let shed: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(ok >= 1, "{results:?}");
    assert!(!shed.is_empty(), "{results:?}");
    for st in shed {
        assert_eq!(
            (st.code(), st.msg()),
            (Code::INTERNAL_SERVER_ERROR, "overloaded")
        );
    }
    assert_eq!(most.load(Ordering::SeqCst), 1);

    // Over the timeout layer: 408.
    let st = within("slow call", call(1_000)).await.unwrap_err();
    assert_eq!(st.code(), Code::HANDLE_TIMEOUT, "{st}");
    for p in [&client, &server] {
        within("close", p.close()).await;
    }
}
