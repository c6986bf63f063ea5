//! A handler that panics answers its call with 500 and the panic's text (a push handler's
//! panic is logged), and its connection goes on serving: whether it panics in the function
//! itself, after its future waited, or often enough that its route runs inside the
//! connection's task.

use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, Code, PushCtx, Status};

use crate::common::{echo_ok, local, within};

fn server() -> erpc_runtime_tokio::Peer {
    let pushed = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = pushed.clone();
    builder(local())
        .call("/at_call", |_ctx: CallCtx, n: i64| {
            if n >= 0 {
                panic!("panicked at the call {n}");
            }
            async move { Ok::<_, Status>(n) }
        })
        .call("/after_wait", |_ctx: CallCtx, n: i64| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            if n >= 0 {
                panic!("panicked after a wait {n}");
            }
            Ok::<_, Status>(n)
        })
        .push("/push_boom", move |_ctx: PushCtx, n: i64| {
            let counted = counted.clone();
            async move {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::task::yield_now().await;
                panic!("push panicked {n}");
            }
        })
        .call("/pushed", move |_ctx: CallCtx, _: ()| {
            let n = pushed.load(std::sync::atomic::Ordering::Relaxed);
            async move { Ok::<_, Status>(n) }
        })
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

async fn expect_500(sess: &erpc_runtime_tokio::Session, route: &str, n: i64, text: &str) {
    let err = within(route, sess.call::<_, i64>(route, &n))
        .await
        .expect_err("a panicking handler answered OK");
    assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR, "{err}");
    assert!(
        err.to_string().contains(&format!("{text} {n}")),
        "the reply does not carry the panic's text: {err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_its_connection_goes_on() {
    let srv = server();
    let addr = srv.listen().await.unwrap();
    let client = builder(local()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();

    // Often enough for the route to be proven fast and run inside the connection's task.
    for n in 0..300 {
        expect_500(&sess, "/at_call", n, "panicked at the call").await;
    }
    let ok: i64 = within("no panic", sess.call("/at_call", &-5))
        .await
        .unwrap();
    assert_eq!(ok, -5);
    for n in 0..20 {
        expect_500(&sess, "/after_wait", n, "panicked after a wait").await;
    }
    // A body the handler cannot decode is refused, not a panic.
    let err = within("bad body", sess.call::<_, i64>("/after_wait", "text"))
        .await
        .expect_err("a string decoded as an integer");
    assert_eq!(err.code(), Code::BAD_MESSAGE, "{err}");

    for n in 0..10 {
        sess.push("/push_boom", &n).await.unwrap();
    }
    within("the ten pushes ran", async {
        loop {
            let pushed: u64 = sess.call("/pushed", &()).await.unwrap();
            if pushed == 10 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    echo_ok(&sess, 42).await;
    assert!(!sess.is_closed());
}
