//! Where handlers run (`PeerConfig::handler_tasks`): routes proven fast run their first step
//! inside the connection's task; a route that then waits or computes goes back to tasks of
//! its own, so that handlers blocking their threads still run side by side.

use std::sync::Arc;
use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, HandlerTasks, PeerConfig, Session, Status};

use crate::common::{echo_ok, local, within};

/// `/work n`: 0 answers at once; -m blocks its thread for m ms; 1 blocks its thread until a
/// second `/work 1` runs (a `std` barrier: both finish only if they run on two threads at
/// once, neither inside the connection's task).
fn server(tasks: HandlerTasks) -> erpc_runtime_tokio::Peer {
    let barrier = Arc::new(std::sync::Barrier::new(2));
    builder(PeerConfig {
        handler_tasks: tasks,
        ..local()
    })
    .call("/work", move |_ctx: CallCtx, n: i64| {
        let b = barrier.clone();
        async move {
            if n < 0 {
                std::thread::sleep(Duration::from_millis(n.unsigned_abs()));
            } else if n == 1 {
                b.wait();
            }
            Ok::<_, Status>(n)
        }
    })
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .build()
    .unwrap()
}

/// Handlers the server's one session ran inline.
fn served_inline(server: &erpc_runtime_tokio::Peer) -> u64 {
    let mut n = None;
    server.range_sessions(|s| {
        n = Some(s.stats().handlers_inline);
        false
    });
    n.expect("the server has a session")
}

async fn work(sess: &Session, n: i64) {
    let got: i64 = within("work call", sess.call("/work", &n)).await.unwrap();
    assert_eq!(got, n);
}

/// Two `/work 1` at once, with an echo between them: they can only finish if neither runs
/// inside the connection's task.
async fn two_blocking_handlers_side_by_side(sess: &Session) {
    let first = tokio::spawn(sess.call_with("/work").send::<_, i64>(&1));
    echo_ok(sess, 7).await;
    let second = tokio::spawn(sess.call_with("/work").send::<_, i64>(&1));
    assert_eq!(within("first", first).await.unwrap().unwrap().body, 1);
    assert_eq!(within("second", second).await.unwrap().unwrap().body, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_proven_route_that_turns_slow_goes_back_to_tasks_of_its_own() {
    let server = server(HandlerTasks::Adaptive);
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    // Prove /work fast (one by one: each first step is measured).
    for _ in 0..500 {
        work(&sess, 0).await;
    }
    let inline = served_inline(&server);
    assert!(
        inline > 0,
        "a route answered 500 times at once never ran inline"
    );
    // Now inline; this one computes for 20 ms inside the connection's task, once...
    work(&sess, -20).await;
    // ...and sends the route back: two handlers that block their threads run side by side.
    two_blocking_handlers_side_by_side(&sess).await;
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn always_gives_every_handler_its_own_task() {
    let server = server(HandlerTasks::Always);
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    for _ in 0..200 {
        work(&sess, 0).await;
    }
    assert_eq!(served_inline(&server), 0);
    two_blocking_handlers_side_by_side(&sess).await;
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_runs_first_steps_inline_and_still_serves_handlers_that_wait() {
    let server = builder(PeerConfig {
        handler_tasks: HandlerTasks::Never,
        ..local()
    })
    .call("/sleep", |_ctx: CallCtx, ms: u64| async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok::<_, Status>(ms)
    })
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    // A handler that waits moves to its own task at its first .await: the connection answers
    // meanwhile.
    let slow = tokio::spawn(sess.call_with("/sleep").send::<_, u64>(&300));
    echo_ok(&sess, 3).await;
    assert!(!slow.is_finished(), "the echo did not wait for the sleeper");
    assert_eq!(within("sleeper", slow).await.unwrap().unwrap().body, 300);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[test]
fn handler_tasks_has_serde_keys() {
    let cfg: PeerConfig = serde_json::from_str(r#"{"handler_tasks":"always"}"#).unwrap();
    assert_eq!(cfg.handler_tasks, HandlerTasks::Always);
    assert_eq!(PeerConfig::default().handler_tasks, HandlerTasks::Adaptive);
    let text = serde_json::to_string(&PeerConfig::default()).unwrap();
    assert!(text.contains(r#""handler_tasks":"adaptive""#), "{text}");
}
