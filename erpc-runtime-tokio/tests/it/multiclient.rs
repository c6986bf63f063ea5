//! The multiclient pool (Go's `mixer/multiclient`) over real loopback sockets.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, Code, MultiClient, MultiClientConfig, Peer, Status};

use crate::common::{eventually, local, within};

/// A server whose `/slow` sleeps the given ms and records which client session called.
async fn server() -> (Peer, String, Arc<Mutex<HashSet<String>>>) {
    let callers = Arc::new(Mutex::new(HashSet::new()));
    let c2 = callers.clone();
    let peer = builder(local())
        .call("/slow", move |ctx: CallCtx, ms: u64| {
            c2.lock().unwrap().insert(ctx.remote_addr());
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, Status>(ms)
            }
        })
        .build()
        .unwrap();
    let addr = peer.listen().await.unwrap();
    (peer, addr, callers)
}

fn config(max: usize, idle: Duration) -> MultiClientConfig {
    MultiClientConfig::default()
        .max_sessions(max)
        .max_idle(idle)
}

#[tokio::test]
async fn concurrent_calls_spread_over_the_quota() {
    let (_server, addr, callers) = server().await;
    let client = builder(local()).build().unwrap();
    let pool = MultiClient::new(client, addr, config(4, Duration::ZERO));
    let calls = (0..100).map(|_| pool.call::<_, u64>("/slow", &30u64));
    let out = within("100 calls", futures_util::future::join_all(calls)).await;
    assert!(
        out.iter().all(|r| r.as_ref().is_ok_and(|&v| v == 30)),
        "{out:?}"
    );
    let st = pool.stats();
    assert_eq!((st.sessions, st.created, st.done), (4, 4, 100), "{st:?}");
    assert_eq!((st.in_flight, st.idle, st.dialing), (0, 4, 0), "{st:?}");
    // Least loaded: 100 calls on 4 sessions, none above its share (25) by much.
    assert!((25..=27).contains(&st.max_load), "{st:?}");
    assert_eq!(
        callers.lock().unwrap().len(),
        4,
        "the server saw 4 sessions"
    );
}

#[tokio::test]
async fn sequential_calls_keep_one_session() {
    let (_server, addr, callers) = server().await;
    let client = builder(local()).build().unwrap();
    let pool = MultiClient::new(client, addr, config(4, Duration::ZERO));
    for _ in 0..20 {
        let v: u64 = within("call", pool.call("/slow", &0u64)).await.unwrap();
        assert_eq!(v, 0);
    }
    let st = pool.stats();
    assert_eq!((st.sessions, st.created, st.max_load), (1, 1, 1), "{st:?}");
    assert_eq!(callers.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn idle_sessions_are_closed_after_the_timeout() {
    let (server, addr, _) = server().await;
    let client = builder(local()).build().unwrap();
    let pool = MultiClient::new(client, addr, config(3, Duration::from_millis(200)));
    let calls = (0..9).map(|_| pool.call::<_, u64>("/slow", &50u64));
    let out = within("9 calls", futures_util::future::join_all(calls)).await;
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    assert_eq!(pool.stats().sessions, 3);
    // The background task closes them (no call needed) and the server sees them go.
    eventually("idle sessions closed", || pool.stats().sessions == 0).await;
    eventually("the server saw them close", || server.count_sessions() == 0).await;
    assert_eq!(pool.stats().closed_idle, 3);
    // The next call dials again.
    let _: u64 = within("again", pool.call("/slow", &0u64)).await.unwrap();
    assert_eq!(pool.stats().created, 4);
}

#[tokio::test]
async fn a_failed_dial_is_the_callers_status_and_frees_the_quota() {
    let client = builder(local()).build().unwrap();
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let pool = MultiClient::new(client, dead, config(1, Duration::ZERO));
    for _ in 0..2 {
        let st = within("dial", pool.call::<_, u64>("/slow", &0u64))
            .await
            .unwrap_err();
        assert_eq!(st.code(), Code::DIAL_FAILED, "{st}");
    }
    let st = pool.stats();
    assert_eq!((st.sessions, st.dialing, st.created), (0, 0, 0), "{st:?}");
}

#[tokio::test]
async fn closed_sessions_are_replaced_and_close_refuses_calls() {
    let (server, addr, _) = server().await;
    let client = builder(local()).build().unwrap();
    let pool = MultiClient::new(client, addr, config(2, Duration::ZERO));
    let _: u64 = within("first", pool.call("/slow", &0u64)).await.unwrap();
    // The server drops every session: the pool notices and dials a new one.
    server.range_sessions(|s| {
        s.close_now();
        true
    });
    let hired = within("hire", pool.hire()).await.unwrap();
    eventually("the old session is seen closed", || hired.is_closed()).await;
    drop(hired);
    let v: u64 = within("after", pool.call("/slow", &1u64)).await.unwrap();
    assert_eq!(v, 1);
    assert_eq!(pool.stats().created, 2);

    // A hired session counts as loaded: with it held, the next call dials another.
    let held = within("hire", pool.hire()).await.unwrap();
    let _: u64 = within("second", pool.call("/slow", &0u64)).await.unwrap();
    assert_eq!(pool.stats().sessions, 2);
    drop(held);

    pool.close();
    let st = within("closed", pool.call::<_, u64>("/slow", &0u64))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::CONN_CLOSED);
    eventually("the server saw them close", || server.count_sessions() == 0).await;
}

#[tokio::test]
async fn callers_wait_for_the_one_dial_of_a_quota_of_one() {
    let (_server, addr, callers) = server().await;
    let client = builder(local()).build().unwrap();
    let pool = MultiClient::new(client, addr, config(1, Duration::ZERO));
    // 50 first calls at once: one dials, the others wait for it (none dials a second).
    let calls = (0..50).map(|_| pool.call::<_, u64>("/slow", &10u64));
    let out = within("50 calls", futures_util::future::join_all(calls)).await;
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    let st = pool.stats();
    assert_eq!((st.created, st.max_load, st.done), (1, 50, 50), "{st:?}");
    assert_eq!(callers.lock().unwrap().len(), 1);
}
