//! A server that dies mid-call (its runtime is torn down, the closest a test gets to a killed
//! process): the caller's pending calls complete with 102 at once, nothing hangs.

use crate::common;
use std::time::Duration;

use common::{echo_ok, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, PeerConfig, Status};

/// Runs a server on its own runtime in its own thread. Returns its address, a channel that
/// reports each `/hang` call that started, and the switch that kills it.
fn spawn_server() -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered_rx) = tokio::sync::mpsc::unbounded_channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = builder(common::local())
                .call("/echo", |_ctx: CallCtx, n: i64| async move {
                    Ok::<_, Status>(n)
                })
                .call("/hang", move |_ctx: CallCtx, _: i64| {
                    let _ = entered_tx.send(());
                    std::future::pending::<Result<i64, Status>>()
                })
                .build()
                .unwrap();
            addr_tx.send(server.listen().await.unwrap()).unwrap();
            // Keep the peer alive until killed: no close, no goodbye.
            let _ = tokio::task::spawn_blocking(move || kill_rx.recv()).await;
            std::mem::forget(server);
        });
        // Dropping the runtime drops every connection task and so closes its sockets.
        drop(rt);
    });
    let addr = addr_rx
        .recv_timeout(common::STEP)
        .expect("server thread did not start");
    (addr, entered_rx, kill_tx, thread)
}

#[tokio::test]
async fn pending_calls_fail_with_102_when_the_server_dies() {
    let (addr, mut entered, kill, thread) = spawn_server();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;

    let calls: Vec<_> = (0..3)
        .map(|i| tokio::spawn(hang(sess.clone(), i)))
        .collect();
    for _ in 0..3 {
        within("/hang started", entered.recv()).await.unwrap();
    }

    kill.send(()).unwrap();
    for c in calls {
        // The default call timeout is 60 s and these calls have none: only the connection's
        // end can complete them, and it must do so promptly.
        let err = common::within_for(Duration::from_secs(5), "pending call after the kill", c)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    }
    within("session ends", sess.closed()).await;
    assert_eq!(client.count_sessions(), 0);
    let err = sess.call::<_, i64>("/echo", &2).await.unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    thread.join().unwrap();
    within("client close", client.close()).await;
}

/// A call without a deadline (the default call timeout would end it after 60 s).
async fn hang(sess: erpc_runtime_tokio::Session, i: i64) -> Result<i64, Status> {
    sess.call_with("/hang")
        .no_timeout()
        .send::<_, i64>(&i)
        .await
        .map(|r| r.body)
}

#[tokio::test]
async fn server_closing_the_session_mid_call_fails_the_pending_call() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let server = builder(common::local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/hang", move |_ctx: CallCtx, _: i64| {
            let _ = entered_tx.send(());
            std::future::pending::<Result<i64, Status>>()
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let other = within("dial", client.dial(&addr)).await.unwrap();
    let call = tokio::spawn(hang(sess.clone(), 0));
    within("/hang started", entered.recv()).await.unwrap();

    // The server drops that one session at once (no linger for its call in flight).
    let id = sess.local_addr();
    let on_server = server
        .session(&id)
        .expect("the server knows the session by the client's address");
    on_server.close_now();
    let err = common::within_for(Duration::from_secs(5), "pending call after close_now", call)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    within("client session ends", sess.closed()).await;
    echo_ok(&other, 9).await;
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
