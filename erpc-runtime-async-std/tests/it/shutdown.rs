//! Graceful shutdown (Go §7.1, §7.13): `Peer::close` lets calls in flight finish, refuses new
//! connections, and bounds the wait by `shutdown_timeout`.
#![cfg(feature = "smol")]

use crate::common;
use std::time::{Duration, Instant};

use common::{echo_ok, local, spawn, within, Gate};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, Code, Peer, PeerConfig, Status};

/// `/slow` opens `entered` and answers `n + 1` once `release` opens.
fn slow_server(rt: &AsyncIo, cfg: PeerConfig, entered: Gate, release: Gate) -> Peer {
    builder_on(rt.clone(), cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/slow", move |_ctx: CallCtx, n: i64| {
            entered.open();
            let release = release.clone();
            async move {
                release.wait().await;
                Ok::<_, Status>(n + 1)
            }
        })
        .build()
        .unwrap()
}

on_every_executor!(
    close_lets_the_call_in_flight_finish,
    close_gives_up_after_the_shutdown_timeout
);

async fn close_lets_the_call_in_flight_finish(rt: AsyncIo) {
    let (entered, release) = (Gate::default(), Gate::default());
    let server = slow_server(&rt, local(), entered.clone(), release.clone());
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt.clone(), PeerConfig::default())
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;

    let in_flight = spawn(&rt, {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/slow", &41).await }
    });
    within("/slow started", entered.wait()).await;

    let closing = spawn(&rt, {
        let server = server.clone();
        async move { server.close().await }
    });
    common::eventually("server is closing", || server.is_closing()).await;

    // New connections are refused once closing started.
    let late = builder_on(rt.clone(), PeerConfig::default())
        .build()
        .unwrap();
    let refused = within("late dial", async {
        match late.dial(&addr).await {
            Err(st) => st,
            // A dial that raced the listener's end must at least not work.
            Ok(s) => s.call::<_, i64>("/echo", &2).await.unwrap_err(),
        }
    })
    .await;
    assert!(
        matches!(refused.code(), Code::DIAL_FAILED | Code::CONN_CLOSED),
        "{refused}"
    );

    release.open();
    let got = within("in-flight call", in_flight).await.unwrap();
    assert_eq!(got.unwrap(), 42, "the call in flight got its answer");
    within("server close", closing).await.unwrap();
    within("client session ends", sess.closed()).await;

    // After close returned, the port refuses connections.
    common::eventually("listener gone", || {
        std::net::TcpStream::connect(&addr).is_err()
    })
    .await;
    let err = within("dial after close", late.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(server.count_sessions(), 0);

    within("client close", client.close()).await;
    within("late close", late.close()).await;
}

async fn close_gives_up_after_the_shutdown_timeout(rt: AsyncIo) {
    let entered = Gate::default();
    let server = slow_server(
        &rt,
        PeerConfig {
            shutdown_timeout: Duration::from_millis(200),
            ..local()
        },
        entered.clone(),
        Gate::default(),
    );
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt.clone(), PeerConfig::default())
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let in_flight = spawn(&rt, {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/slow", &1).await }
    });
    within("/slow started", entered.wait()).await;

    let t = Instant::now();
    within("close bounded by shutdown_timeout", server.close()).await;
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "close did not wait for the call in flight"
    );
    let err = within("abandoned call", in_flight)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    within("client close", client.close()).await;
}
