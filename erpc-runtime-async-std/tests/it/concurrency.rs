//! Many calls in flight on one session at once: every caller gets its own answer, and the
//! handlers of one session run concurrently.
#![cfg(feature = "smol")]

use crate::common;
use std::sync::Arc;

use common::{local, within, yield_now};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, Status};
use futures_util::stream::{FuturesUnordered, StreamExt};

const CALLS: i64 = 250;
/// The first this-many calls wait for each other inside the handler: they can only finish if
/// the server runs the handlers of one session concurrently.
const GATHER: usize = 50;

on_every_executor!(concurrent_calls_on_one_session);

async fn concurrent_calls_on_one_session(rt: AsyncIo) {
    let barrier = Arc::new(async_lock::Barrier::new(GATHER));
    let server = builder_on(rt.clone(), local())
        .call("/work", move |_ctx: CallCtx, (n, text): (i64, String)| {
            let barrier = barrier.clone();
            async move {
                if n < GATHER as i64 {
                    barrier.wait().await;
                }
                // Finish in a scrambled order so that replies overtake each other.
                for _ in 0..(n * 7919) % 5 {
                    yield_now().await;
                }
                Ok::<_, Status>((n * 3, format!("{text}!")))
            }
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt, PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();

    let mut calls: FuturesUnordered<_> = (0..CALLS)
        .map(|n| {
            let sess = sess.clone();
            async move {
                let arg = (n, format!("arg-{n}"));
                let r = sess.call::<_, (i64, String)>("/work", &arg).await;
                (n, r)
            }
        })
        .collect();
    let mut seen = vec![false; CALLS as usize];
    within("all calls", async {
        while let Some((n, r)) = calls.next().await {
            let (tripled, text) = r.unwrap_or_else(|st| panic!("call {n} failed: {st}"));
            assert_eq!(tripled, n * 3, "call {n} got another call's answer");
            assert_eq!(
                text,
                format!("arg-{n}!"),
                "call {n} got another call's answer"
            );
            assert!(!seen[n as usize], "call {n} answered twice");
            seen[n as usize] = true;
        }
    })
    .await;
    assert!(seen.iter().all(|s| *s));
    assert_eq!(
        server.count_sessions(),
        1,
        "all calls went over one session"
    );
    assert_eq!(client.count_sessions(), 1);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
