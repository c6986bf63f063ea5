//! The Go README example end to end on real loopback sockets: a call with meta, a push from
//! the server to every session (`range_sessions`), an unknown route.
#![cfg(feature = "smol")]

use crate::common;
use std::sync::{Arc, Mutex};

use common::{local, within};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, PushCtx, Runtime, Status};
use futures_util::StreamExt;

on_every_executor!(call_and_push);

async fn call_and_push(rt: AsyncIo) {
    let authors = Arc::new(Mutex::new(Vec::new()));
    let seen = authors.clone();
    let server = builder_on(rt.clone(), local())
        .call("/math/add", move |ctx: CallCtx, args: Vec<i64>| {
            seen.lock()
                .unwrap()
                .push(ctx.peek_meta("author").map(str::to_owned));
            async move { Ok::<_, Status>(args.iter().sum::<i64>()) }
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();

    let (push_tx, mut push_rx) = futures_channel::mpsc::unbounded();
    let client = builder_on(rt.clone(), PeerConfig::default())
        .push("/push/status", move |_ctx: PushCtx, msg: String| {
            let tx = push_tx.clone();
            async move {
                let _ = tx.unbounded_send(msg);
            }
        })
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let reply = within(
        "call",
        sess.call_with("/math/add")
            .meta("author", "henrylee2cn")
            .send::<_, i64>(&[1, 2, 3, 4, 5]),
    )
    .await
    .unwrap();
    assert_eq!(reply.body, 15);
    assert_eq!(
        authors.lock().unwrap().as_slice(),
        &[Some("henrylee2cn".to_owned())]
    );

    // Broadcast from the server.
    let mut n = 0;
    server.range_sessions(|s| {
        let s = s.clone();
        rt.spawn(async move { s.push("/push/status", "this is a broadcast").await.unwrap() });
        n += 1;
        true
    });
    assert_eq!(n, 1);
    let got = within("push", push_rx.next()).await.unwrap();
    assert_eq!(got, "this is a broadcast");

    // Unknown route.
    let err = within("unknown call", sess.call::<_, i64>("/no/such", &1))
        .await
        .unwrap_err();
    assert_eq!(err.code().0, 404);
    within("server close", server.close()).await;
    within("client close", client.close()).await;
}
