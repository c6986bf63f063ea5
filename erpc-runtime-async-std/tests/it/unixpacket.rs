//! The `unixpacket` network (Go's seqpacket unix sockets) on async-io: call and push both
//! ways with bodies far larger than one packet.

use crate::common;
use erpc_runtime_async_std::Network;
use std::path::PathBuf;

use common::{echo_ok, within};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, PushCtx, Status};
use futures_util::StreamExt;

fn socket_path(name: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let p = std::env::temp_dir().join(format!(
        "erpc-rs-async-io-packet-{}-{n}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&p);
    p
}

fn config(local_ip: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Unixpacket,
        local_ip: local_ip.into(),
        ..PeerConfig::default()
    }
}

on_every_executor!(call_and_push_with_large_bodies);

async fn call_and_push_with_large_bodies(rt: AsyncIo) {
    let path = socket_path("packet.sock");
    let server = builder_on(rt.clone(), config(&path.display().to_string()))
        .call(
            "/echo",
            |_: CallCtx, n: i64| async move { Ok::<_, Status>(n) },
        )
        .call("/big", |ctx: CallCtx, body: String| async move {
            let _ = ctx.session().push("/back", &body).await;
            Ok::<_, Status>(body.len())
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();

    let (tx, mut back) = futures_channel::mpsc::unbounded();
    let client = builder_on(rt, config(""))
        .push("/back", move |_: PushCtx, body: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.unbounded_send(body);
            }
        })
        .build()
        .unwrap();
    let a = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&a, 1).await;

    // 3 MiB: thousands of 1024-byte packets each way.
    let body: String = (0..3 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let len: usize = within("big call", a.call_with("/big").send(&body))
        .await
        .unwrap()
        .body;
    assert_eq!(len, body.len());
    let pushed = within("big push back", back.next()).await.unwrap();
    assert!(pushed == body, "the pushed body came back intact");

    within("client close", client.close()).await;
    within("server close", server.close()).await;
    assert!(
        !path.exists(),
        "the socket file is removed when the peer closes"
    );
}
