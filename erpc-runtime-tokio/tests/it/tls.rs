//! TLS over TCP (Go §10.4, §10.7): a self-signed server, a client trusting its certificate, an
//! insecure client, and mismatched sides failing cleanly instead of hanging.

use crate::common;
use std::time::Duration;

use common::{echo_ok, local, within};
use erpc_runtime_tokio::tls::{
    client_config_trusting, dangerous_client_config_skip_verify, self_signed_server,
};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};

fn tls_server() -> Peer {
    let (cfg, _cert) = self_signed_server(&["localhost"]).unwrap();
    builder(local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn trusted_and_insecure_clients_call_over_tls() {
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let server = builder(local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/big", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();

    let trusting = builder(PeerConfig::default())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .build()
        .unwrap();
    let sess = within("TLS dial", trusting.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    // A larger body crosses several TLS records.
    let big = "x".repeat(100_000);
    let back: String = within("big echo", sess.call("/big", &big)).await.unwrap();
    assert_eq!(back, big);

    let insecure = builder(PeerConfig::default())
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

#[tokio::test]
async fn client_that_does_not_trust_the_certificate_fails_to_dial() {
    let server = tls_server();
    let addr = server.listen().await.unwrap();
    // Trusts another certificate only.
    let (_, other) = self_signed_server(&["localhost"]).unwrap();
    let client = builder(PeerConfig::default())
        .tls_client(client_config_trusting(&[other]).unwrap(), "localhost")
        .build()
        .unwrap();
    let err = within("untrusted TLS dial", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert!(err.cause().unwrap_or("").contains("TLS"), "{err}");

    // The wrong name fails too.
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let named = builder(local()).tls_server(cfg).build().unwrap();
    let addr2 = named.listen().await.unwrap();
    let wrong_name = builder(PeerConfig::default())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "example.org")
        .build()
        .unwrap();
    let err = within("wrong server name", wrong_name.dial(&addr2))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    // The server is still fine for good clients.
    let good = builder(PeerConfig::default())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    echo_ok(&within("dial", good.dial(&addr)).await.unwrap(), 3).await;

    for p in [&server, &named, &client, &wrong_name, &good] {
        within("close", p.close()).await;
    }
}

#[tokio::test]
async fn plain_client_against_a_tls_server_fails_cleanly() {
    let server = tls_server();
    let addr = server.listen().await.unwrap();
    let plain = builder(PeerConfig::default()).build().unwrap();
    // The TCP connection opens (no handshake on a plain client), but the first call is not
    // TLS: the server drops the connection and the call fails instead of hanging.
    let outcome = within("plain dial and call", async {
        let sess = plain.dial(&addr).await?;
        sess.call::<_, i64>("/echo", &1).await
    })
    .await;
    let err = outcome.unwrap_err();
    assert!(
        matches!(err.code(), Code::CONN_CLOSED | Code::DIAL_FAILED),
        "{err}"
    );

    // The server keeps serving TLS clients.
    let good = builder(PeerConfig::default())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    echo_ok(&within("dial", good.dial(&addr)).await.unwrap(), 4).await;
    for p in [&server, &plain, &good] {
        within("close", p.close()).await;
    }
}

#[tokio::test]
async fn tls_client_against_a_plain_server_fails_to_dial() {
    // A TLS ClientHello starts 16 03 01 xx: to a rawproto server that announces a frame of
    // some 370 MB, under the default 1 GiB limit, so the server waits for the rest (as Go
    // does) and only the client's dial timeout ends the handshake.
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig {
        dial_timeout: Duration::from_millis(300),
        ..PeerConfig::default()
    })
    .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
    .build()
    .unwrap();
    let err = within("TLS dial to a plain server", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert!(err.cause().unwrap_or("").contains("timeout"), "{err}");

    // With a sane read limit the server refuses the ClientHello at once and the handshake
    // fails without waiting for the timeout.
    let strict = builder(PeerConfig {
        max_message_size: 64 * 1024,
        ..local()
    })
    .build()
    .unwrap();
    let strict_addr = strict.listen().await.unwrap();
    let patient = builder(PeerConfig::default())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    let err = within(
        "TLS dial to a strict plain server",
        patient.dial(&strict_addr),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    // The plain server shrugs it off.
    let plain = builder(PeerConfig::default()).build().unwrap();
    echo_ok(&within("dial", plain.dial(&addr)).await.unwrap(), 5).await;
    for p in [&server, &client, &strict, &patient, &plain] {
        within("close", p.close()).await;
    }
}

#[test]
fn an_invalid_tls_server_name_is_its_own_build_error() {
    let err = builder(PeerConfig::default())
        .tls_client(
            dangerous_client_config_skip_verify().unwrap(),
            "not a name!",
        )
        .build()
        .unwrap_err();
    match &err {
        erpc_runtime_tokio::BuildError::TlsServerName { name, .. } => {
            assert_eq!(name, "not a name!")
        }
        other => panic!("expected TlsServerName, got {other:?}"),
    }
    assert!(err.to_string().contains("invalid TLS server name"), "{err}");
}
