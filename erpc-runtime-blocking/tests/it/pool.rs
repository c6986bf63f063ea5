//! Worker-pool saturation: a full pool answers new calls with 500 at once and drops new
//! pushes with a count, instead of blocking the connection or dropping silently; it recovers
//! as soon as a worker is free.

use crate::common;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{background, eventually, local, wait, within, Gate};
use erpc_runtime_blocking::{builder, CallCtx, Code, PoolConfig, PushCtx, Status};

#[test]
fn full_pool_refuses_calls_with_500_and_counts_dropped_pushes() {
    let entered = Gate::default();
    let release = Gate::default();
    let pushes = Arc::new(AtomicUsize::new(0));
    let (e, r, p) = (entered.clone(), release.clone(), pushes.clone());
    let server = builder(local())
        .worker_pool(PoolConfig::new(1, 1))
        .call("/block", move |_ctx: CallCtx, n: i64| {
            e.open();
            r.wait();
            Ok::<_, Status>(n)
        })
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .push("/note", move |_ctx: PushCtx, _: i64| {
            p.fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();

    // The only worker is busy...
    let first = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/block", &1))
    };
    entered.wait();
    // ...the one queue place is taken...
    let queued = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/echo", &2))
    };
    eventually("second call queued", || server.pool_stats().queued == 1);

    // ...so the next call is refused at once, and a push is dropped and counted.
    let t = Instant::now();
    let err = {
        let s = sess.clone();
        within("refused call", move || s.call::<_, i64>("/echo", &3))
    }
    .unwrap_err();
    assert!(
        t.elapsed() < Duration::from_secs(2),
        "the refusal was not immediate"
    );
    assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR, "{err}");
    assert!(err.msg().contains("worker pool overload"), "{err}");
    sess.push("/note", &1).unwrap();
    eventually("push dropped", || server.pool_stats().dropped_pushes == 1);
    let stats = server.pool_stats();
    assert_eq!(stats.rejected_calls, 1);
    assert_eq!(stats.workers, 1);

    // Once the worker is free, the queued call runs and the pool takes work again.
    release.open();
    assert_eq!(wait("first call", &first).unwrap(), 1);
    assert_eq!(wait("queued call", &queued).unwrap(), 2);
    common::echo_ok(&sess, 4);
    sess.push("/note", &2).unwrap();
    eventually("push handled", || pushes.load(Ordering::SeqCst) == 1);
    within("close", move || {
        client.close();
        server.close();
    });
}

#[test]
fn idle_workers_exit_and_come_back() {
    let server = builder(local())
        .worker_pool(PoolConfig::new(4, 16).with_idle_timeout(Duration::from_millis(50)))
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    common::echo_ok(&sess, 1);
    assert!(server.pool_stats().workers >= 1);
    eventually("idle workers exit", || server.pool_stats().workers == 0);
    common::echo_ok(&sess, 2);
    within("close", move || {
        client.close();
        server.close();
    });
}
