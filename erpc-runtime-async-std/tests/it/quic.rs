//! The `quic` network (feature `quic`) on every executor: calls, many at once, a large body,
//! pushes both ways, a server that closes mid-call, and the clear error without TLS.
#![cfg(all(feature = "quic", feature = "smol"))]

use erpc_runtime_async_std::Network;
use std::time::Duration;

use crate::common;
use common::{echo_ok, within, within_for};
use erpc_runtime_async_std::tls::{client_config_trusting, self_signed_server};
use erpc_runtime_async_std::{
    builder_on, AsyncIo, CallCtx, Code, PeerConfig, PushCtx, Raw, Status,
};

on_every_executor!(calls_pushes_and_a_large_body_over_quic, quic_needs_tls);

fn quic() -> PeerConfig {
    PeerConfig {
        network: Network::Quic,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

async fn calls_pushes_and_a_large_body_over_quic(rt: AsyncIo) {
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let (srv_tx, srv_rx) = futures_channel::mpsc::unbounded();
    let server = builder_on(rt.clone(), quic())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/raw", |_ctx: CallCtx, b: Raw| async move {
            Ok::<_, Status>(b)
        })
        .call("/push/back", |ctx: CallCtx, s: String| async move {
            ctx.session().push("/client/note", &s).await?;
            Ok::<_, Status>(())
        })
        .push("/server/note", move |_ctx: PushCtx, s: String| {
            let tx = srv_tx.clone();
            async move {
                let _ = tx.unbounded_send(s);
            }
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let (cli_tx, cli_rx) = futures_channel::mpsc::unbounded();
    let client = builder_on(rt.clone(), quic())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .push("/client/note", move |_ctx: PushCtx, s: String| {
            let tx = cli_tx.clone();
            async move {
                let _ = tx.unbounded_send(s);
            }
        })
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    let calls = (0..200).map(|n| {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &n).await }
    });
    let got = within(
        "200 concurrent calls",
        futures_util::future::join_all(calls),
    )
    .await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))));
    let big: Vec<u8> = (0..5 << 20).map(|i| (i % 251) as u8).collect();
    let back: Raw = within_for(
        Duration::from_secs(60),
        "5 MiB echo",
        sess.call("/echo/raw", &Raw::from(big.clone())),
    )
    .await
    .unwrap();
    assert_eq!(back.as_ref(), &big[..]);
    // Pushes both ways.
    use futures_util::StreamExt;
    let mut srv_rx = srv_rx;
    let mut cli_rx = cli_rx;
    within("push", sess.push("/server/note", &"to the server"))
        .await
        .unwrap();
    assert_eq!(
        within("server got it", srv_rx.next()).await.unwrap(),
        "to the server"
    );
    within(
        "push back",
        sess.call::<_, ()>("/push/back", &"to the client"),
    )
    .await
    .unwrap();
    assert_eq!(
        within("client got it", cli_rx.next()).await.unwrap(),
        "to the client"
    );
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

async fn quic_needs_tls(rt: AsyncIo) {
    let plain = builder_on(rt.clone(), quic()).build().unwrap();
    let st = within("listen", plain.listen()).await.unwrap_err();
    assert!(st.to_string().contains("needs TLS"), "{st}");
    let st = within("dial", plain.dial("127.0.0.1:9")).await.unwrap_err();
    assert_eq!(st.code(), Code::DIAL_FAILED, "{st}");
    assert!(st.to_string().contains("needs TLS"), "{st}");
}
