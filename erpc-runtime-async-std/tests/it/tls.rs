//! TLS over TCP through erpc-peer's futures-rustls layer: a self-signed server, a client
//! trusting its certificate, an insecure client, and an untrusting client failing cleanly.
#![cfg(all(feature = "tls", feature = "smol"))]

use crate::common;
use common::{echo_ok, local, within};
use erpc_runtime_async_std::tls::{
    client_config_trusting, dangerous_client_config_skip_verify, self_signed_server,
};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, Code, PeerConfig, Status};

on_every_executor!(calls_over_tls, untrusted_certificate_fails_to_dial);

async fn calls_over_tls(rt: AsyncIo) {
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let server = builder_on(rt.clone(), local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/big", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();

    let trusting = builder_on(rt.clone(), PeerConfig::default())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .build()
        .unwrap();
    let sess = within("TLS dial", trusting.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    // A larger body crosses several TLS records.
    let big = "x".repeat(100_000);
    let back: String = within("big echo", sess.call("/big", &big)).await.unwrap();
    assert_eq!(back, big);

    let insecure = builder_on(rt, PeerConfig::default())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    let sess2 = within("insecure TLS dial", insecure.dial(&addr))
        .await
        .unwrap();
    echo_ok(&sess2, 2).await;
    assert_eq!(server.count_sessions(), 2);

    within("trusting close", trusting.close()).await;
    within("insecure close", insecure.close()).await;
    within("server close", server.close()).await;
}

async fn untrusted_certificate_fails_to_dial(rt: AsyncIo) {
    let (cfg, _cert) = self_signed_server(&["localhost"]).unwrap();
    let server = builder_on(rt.clone(), local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    // Trusts another certificate only.
    let (_, other) = self_signed_server(&["localhost"]).unwrap();
    let client = builder_on(rt.clone(), PeerConfig::default())
        .tls_client(client_config_trusting(&[other]).unwrap(), "localhost")
        .build()
        .unwrap();
    let err = within("untrusted TLS dial", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert!(err.cause().unwrap_or("").contains("TLS"), "{err}");

    // The server is still fine for good clients.
    let good = builder_on(rt, PeerConfig::default())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    echo_ok(&within("dial", good.dial(&addr)).await.unwrap(), 3).await;
    for p in [&server, &client, &good] {
        within("close", p.close()).await;
    }
}
