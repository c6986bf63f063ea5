//! The Go README example end to end on real loopback sockets: a call with meta, and a push
//! from the server to every session.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, PushCtx, Status};

fn local() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

#[tokio::test]
async fn call_and_push() {
    let authors = Arc::new(Mutex::new(Vec::new()));
    let seen = authors.clone();
    let server = builder(local())
        .call("/math/add", move |ctx: CallCtx, args: Vec<i64>| {
            seen.lock()
                .unwrap()
                .push(ctx.peek_meta("author").map(str::to_owned));
            async move { Ok::<_, Status>(args.iter().sum::<i64>()) }
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();

    let (push_tx, mut push_rx) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(PeerConfig::default())
        .push("/push/status", move |_ctx: PushCtx, msg: String| {
            let tx = push_tx.clone();
            async move {
                let _ = tx.send(msg);
            }
        })
        .build()
        .unwrap();
    let sess = client.dial(&addr).await.unwrap();
    let reply = sess
        .call_with("/math/add")
        .meta("author", "henrylee2cn")
        .send::<_, i64>(&[1, 2, 3, 4, 5])
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
        tokio::spawn(async move { s.push("/push/status", "this is a broadcast").await.unwrap() });
        n += 1;
        true
    });
    assert_eq!(n, 1);
    let got = tokio::time::timeout(Duration::from_secs(5), push_rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, "this is a broadcast");

    // Unknown route.
    let err = sess.call::<_, i64>("/no/such", &1).await.unwrap_err();
    assert_eq!(err.code().0, 404);
    server.close().await;
    client.close().await;
}
