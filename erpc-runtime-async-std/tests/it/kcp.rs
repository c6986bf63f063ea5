//! The `kcp` network (feature `kcp`) on async-io: calls, a body of many datagrams, pushes
//! both ways, on loopback.

use crate::common;
use erpc_runtime_async_std::Network;

use common::{echo_ok, within};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, PushCtx, Raw, Status};
use futures_util::StreamExt;

fn kcp_config() -> PeerConfig {
    PeerConfig {
        network: Network::Kcp,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

on_every_executor!(call_and_push_over_kcp, tuned_kcp_parameters);

async fn call_and_push_over_kcp(rt: AsyncIo) {
    let server = builder_on(rt.clone(), kcp_config())
        .call("/echo", |ctx: CallCtx, n: i64| async move {
            let _ = ctx.session().push("/note", &n).await;
            Ok::<_, Status>(n)
        })
        .call("/len", |_: CallCtx, body: Raw| async move {
            Ok::<_, Status>(body.0.len())
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();

    let (tx, mut notes) = futures_channel::mpsc::unbounded();
    let client = builder_on(rt, kcp_config())
        .push("/note", move |_: PushCtx, n: i64| {
            let tx = tx.clone();
            async move {
                let _ = tx.unbounded_send(n);
            }
        })
        .build()
        .unwrap();
    let s = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&s, 7).await;
    assert_eq!(within("push back", notes.next()).await, Some(7));
    let big = Raw(vec![5u8; 256 << 10].into());
    let n: usize = within("256 KiB call", s.call_with("/len").send(&big))
        .await
        .unwrap()
        .body;
    assert_eq!(n, 256 << 10);

    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

/// `PeerBuilder::kcp` on both sides: larger windows and `nodelay` move 2 MiB at once.
async fn tuned_kcp_parameters(rt: AsyncIo) {
    let mut tuned = erpc_runtime_async_std::kcp::KcpConfig::default();
    tuned.send_window = 512;
    tuned.recv_window = 512;
    tuned.nodelay = true;
    tuned.interval_ms = 10;
    let server = builder_on(rt.clone(), kcp_config())
        .kcp(tuned.clone())
        .call("/len", |_: CallCtx, body: Raw| async move {
            Ok::<_, Status>(body.0.len())
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt, kcp_config()).kcp(tuned).build().unwrap();
    let s = within("dial", client.dial(&addr)).await.unwrap();
    let big = Raw(vec![9u8; 2 << 20].into());
    let n: usize = within("2 MiB call", s.call_with("/len").send(&big))
        .await
        .unwrap()
        .body;
    assert_eq!(n, 2 << 20);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
