//! TLS over TCP with rustls's blocking API and erpc-peer's certificate helpers: a self-signed
//! server, a client trusting its certificate, an insecure client, and mismatched sides
//! failing cleanly instead of hanging.
#![cfg(feature = "tls")]

use crate::common;
use common::{echo_ok, local, within};
use erpc_runtime_blocking::tls::{
    client_config_trusting, dangerous_client_config_skip_verify, self_signed_server,
};
use erpc_runtime_blocking::Network;
use erpc_runtime_blocking::{builder, CallCtx, Code, Peer, PeerConfig, Status};

fn tls_server() -> Peer {
    let (cfg, _cert) = self_signed_server(&["localhost"]).unwrap();
    builder(local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap()
}

#[test]
fn trusted_and_insecure_clients_call_over_tls() {
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let server = builder(local())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/big", |_ctx: CallCtx, s: String| Ok::<_, Status>(s))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();

    let trusting = builder(common::client())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .build()
        .unwrap();
    let sess = trusting.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    // Larger bodies cross several TLS records, in both directions at once.
    let big = "x".repeat(300_000);
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let (s, b) = (sess.clone(), big.clone());
            common::background(move || s.call::<_, String>("/big", &b))
        })
        .collect();
    for rx in &calls {
        assert_eq!(common::wait("big echo", rx).unwrap(), big);
    }

    let insecure = builder(common::client())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    let sess2 = insecure.dial(&addr).unwrap();
    echo_ok(&sess2, 2);
    assert_eq!(server.count_sessions(), 2);
    common::close_all(vec![trusting, insecure, server]);
    assert!(sess.is_closed() && sess2.is_closed());
}

#[test]
fn client_that_does_not_trust_the_certificate_fails_to_dial() {
    let server = tls_server();
    let addr = server.listen().unwrap();
    let (_, other) = self_signed_server(&["localhost"]).unwrap();
    let client = builder(common::client())
        .tls_client(client_config_trusting(&[other]).unwrap(), "localhost")
        .build()
        .unwrap();
    let err = client.dial(&addr).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert!(err.cause().unwrap_or("").contains("TLS"), "{err}");

    // The server is still fine for good clients.
    let good = builder(common::client())
        .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
        .build()
        .unwrap();
    echo_ok(&good.dial(&addr).unwrap(), 3);
    common::close_all(vec![server, client, good]);
}

#[test]
fn plain_client_against_a_tls_server_fails_cleanly() {
    let server = tls_server();
    let addr = server.listen().unwrap();
    let plain = builder(common::client()).build().unwrap();
    let p = plain.clone();
    let outcome = within("plain dial and call", move || {
        let sess = p.dial(&addr)?;
        sess.call::<_, i64>("/echo", &1)
    });
    let err = outcome.unwrap_err();
    assert!(
        matches!(err.code(), Code::CONN_CLOSED | Code::DIAL_FAILED),
        "{err}"
    );
    common::close_all(vec![server, plain]);
}

#[test]
fn tls_client_against_a_plain_server_fails_to_dial() {
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(PeerConfig {
        dial_timeout: std::time::Duration::from_millis(500),
        ..common::client()
    })
    .tls_client(dangerous_client_config_skip_verify().unwrap(), "localhost")
    .build()
    .unwrap();
    let c = client.clone();
    let a = addr.clone();
    let err = within("TLS dial to a plain server", move || c.dial(&a)).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    // The plain server shrugs it off.
    let plain = builder(common::client()).build().unwrap();
    echo_ok(&plain.dial(&addr).unwrap(), 5);
    common::close_all(vec![server, client, plain]);
}

/// The blocking adapter has no QUIC: listening and dialing say so, even with TLS configured.
#[test]
fn the_quic_network_is_refused_clearly() {
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let peer = builder(PeerConfig {
        network: Network::Quic,
        ..local()
    })
    .tls_server(cfg)
    .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
    .build()
    .unwrap();
    let st = peer.listen().unwrap_err();
    let text = st.to_string().to_lowercase();
    assert!(text.contains("quic") && text.contains("support"), "{st}");
    let st = within("dial", move || peer.dial("127.0.0.1:9")).unwrap_err();
    let text = st.to_string().to_lowercase();
    assert!(text.contains("quic") && text.contains("support"), "{st}");
}
