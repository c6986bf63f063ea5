//! The `quic` network (feature `quic`): peers listening and dialing over QUIC on loopback,
//! with the self-signed TLS helpers' certificates.

use erpc_runtime_tokio::Network;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{echo_ok, within, within_for};
use erpc_runtime_tokio::rustls::pki_types::CertificateDer;
use erpc_runtime_tokio::rustls::ServerConfig;
use erpc_runtime_tokio::tls::{client_config_trusting, self_signed_server};
use erpc_runtime_tokio::{
    builder, CallCtx, Code, Peer, PeerBuilder, PeerConfig, PushCtx, QuicConfig, Raw, Status,
};

fn quic_config() -> PeerConfig {
    PeerConfig {
        network: Network::Quic,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

fn certs() -> (Arc<ServerConfig>, CertificateDer<'static>) {
    self_signed_server(&["localhost"]).unwrap()
}

fn client_builder(cert: &CertificateDer<'static>) -> PeerBuilder {
    builder(quic_config()).tls_client(
        client_config_trusting(std::slice::from_ref(cert)).unwrap(),
        "localhost",
    )
}

fn server(tls: Arc<ServerConfig>) -> Peer {
    builder(quic_config())
        .tls_server(tls)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/raw", |_ctx: CallCtx, b: Raw| async move {
            Ok::<_, Status>(b)
        })
        .call("/push/back", |ctx: CallCtx, s: String| async move {
            ctx.session()
                .push("/client/note", &format!("back: {s}"))
                .await?;
            Ok::<_, Status>(())
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_many_at_once_and_a_large_body_over_quic() {
    let (tls, cert) = certs();
    let server = server(tls);
    let addr = server.listen().await.unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client = client_builder(&cert).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    assert_eq!(sess.remote_addr(), addr);
    for n in 0..10 {
        echo_ok(&sess, n).await;
    }
    // Many concurrent calls on the session.
    let calls = (0..500).map(|n| {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &n).await }
    });
    let got = within(
        "500 concurrent calls",
        futures_util::future::join_all(calls),
    )
    .await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))));
    // 5 MiB both ways.
    let big: Vec<u8> = (0..5 << 20).map(|i| (i % 251) as u8).collect();
    let back: Raw = within_for(
        Duration::from_secs(60),
        "5 MiB echo",
        sess.call("/echo/raw", &Raw::from(big.clone())),
    )
    .await
    .unwrap();
    assert_eq!(back.as_ref(), &big[..]);
    // A second session has its own connection.
    let other = within("dial again", client.dial(&addr)).await.unwrap();
    assert_ne!(other.local_addr(), sess.local_addr());
    echo_ok(&other, 42).await;
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn pushes_both_ways_over_quic() {
    let (tls, cert) = certs();
    let (srv_tx, mut srv_rx) = tokio::sync::mpsc::unbounded_channel();
    let server = builder(quic_config())
        .tls_server(tls)
        .push("/server/note", move |_ctx: PushCtx, s: String| {
            let tx = srv_tx.clone();
            async move {
                let _ = tx.send(s);
            }
        })
        .call("/ping", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let (cli_tx, mut cli_rx) = tokio::sync::mpsc::unbounded_channel();
    let client = client_builder(&cert)
        .push("/client/note", move |_ctx: PushCtx, s: String| {
            let tx = cli_tx.clone();
            async move {
                let _ = tx.send(s);
            }
        })
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    // Client to server.
    within("push", sess.push("/server/note", &"hi server"))
        .await
        .unwrap();
    assert_eq!(
        within("server got the push", srv_rx.recv()).await.unwrap(),
        "hi server"
    );
    // Server to client, on the session the server accepted.
    let mut accepted = None;
    server.range_sessions(|s| {
        accepted = Some(s.clone());
        false
    });
    let accepted = accepted.expect("the server has the session");
    within("push back", accepted.push("/client/note", &"hi client"))
        .await
        .unwrap();
    assert_eq!(
        within("client got the push", cli_rx.recv()).await.unwrap(),
        "hi client"
    );
    // And a call the server makes to the client? The client has no handler: 404.
    let st = within(
        "server calls the client",
        accepted.call::<_, i64>("/nope", &1),
    )
    .await
    .unwrap_err();
    assert_eq!(st.code(), Code::NOT_FOUND, "{st}");
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn quic_without_tls_is_a_clear_error() {
    // No server TLS: listening fails and says why.
    let plain = builder(quic_config()).build().unwrap();
    let st = plain.listen().await.unwrap_err();
    assert!(st.to_string().contains("needs TLS"), "{st}");
    // No client TLS: dialing fails and says why.
    let (tls, _) = certs();
    let server = server(tls);
    let addr = server.listen().await.unwrap();
    let st = within("dial without TLS", plain.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::DIAL_FAILED, "{st}");
    assert!(st.to_string().contains("needs TLS"), "{st}");
    // A client that does not trust the server's certificate: the handshake fails.
    let (_, stranger) = certs();
    let client = client_builder(&stranger).build().unwrap();
    let st = within("dial with the wrong trust", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::DIAL_FAILED, "{st}");
    within("close server", server.close()).await;
}

#[tokio::test]
async fn alpn_mismatch_fails_the_handshake_and_draft_29_works() {
    let (tls, cert) = certs();
    let server = server(tls);
    let addr = server.listen().await.unwrap();
    let other_alpn = QuicConfig {
        alpn: vec![b"erpc-other".to_vec()],
        ..QuicConfig::default()
    };
    let client = client_builder(&cert).quic(other_alpn).build().unwrap();
    let st = within("dial with another ALPN", client.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::DIAL_FAILED, "{st}");
    // Draft 29, Go eRPC's (quic-go v0.18's) version: the listener speaks it too.
    let draft = QuicConfig {
        version: erpc_runtime_tokio::quic::QUIC_DRAFT_29,
        ..QuicConfig::default()
    };
    let client = client_builder(&cert).quic(draft).build().unwrap();
    let sess = within("dial draft 29", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 29).await;
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

/// A server on its own runtime in its own thread; dropping that runtime is the closest a test
/// gets to a killed process (no goodbye on the wire).
fn spawn_server(
    tls: Arc<ServerConfig>,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<()>,
    std::sync::mpsc::Sender<()>,
    std::thread::JoinHandle<()>,
) {
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (kill_tx, kill_rx) = std::sync::mpsc::channel::<()>();
    let (entered_tx, entered_rx) = tokio::sync::mpsc::unbounded_channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = builder(quic_config())
                .tls_server(tls)
                .call("/echo", |_ctx: CallCtx, n: i64| async move {
                    Ok::<_, Status>(n)
                })
                .call("/hang", move |_ctx: CallCtx, _: i64| {
                    let _ = entered_tx.send(());
                    std::future::pending::<Result<i64, Status>>()
                })
                .build()
                .unwrap();
            addr_tx.send(server.listen().await.unwrap()).unwrap();
            let _ = tokio::task::spawn_blocking(move || kill_rx.recv()).await;
            std::mem::forget(server);
        });
        drop(rt);
    });
    let addr = addr_rx
        .recv_timeout(crate::common::STEP)
        .expect("server thread did not start");
    (addr, entered_rx, kill_tx, thread)
}

#[tokio::test]
async fn pending_calls_complete_when_the_server_vanishes() {
    let (tls, cert) = certs();
    let (addr, mut entered, kill, thread) = spawn_server(tls);
    // A vanished QUIC peer sends nothing more: the idle timeout finds it dead.
    let quick = QuicConfig {
        keep_alive: Some(Duration::from_millis(200)),
        idle_timeout: Duration::from_secs(1),
        ..QuicConfig::default()
    };
    let client = client_builder(&cert).quic(quick).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    let calls: Vec<_> = (0..3)
        .map(|i| {
            let sess = sess.clone();
            tokio::spawn(async move { sess.call::<_, i64>("/hang", &i).await })
        })
        .collect();
    for _ in 0..3 {
        within("/hang started", entered.recv()).await.unwrap();
    }
    kill.send(()).unwrap();
    thread.join().unwrap();
    for c in calls {
        let err = within_for(Duration::from_secs(20), "pending call after the kill", c)
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    }
    within("session ends", sess.closed()).await;
    assert_eq!(client.count_sessions(), 0);
}

#[tokio::test]
async fn pending_calls_complete_when_the_server_closes() {
    let (tls, cert) = certs();
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let server = builder(PeerConfig {
        // Close without waiting for the hanging handler.
        shutdown_timeout: Duration::from_millis(100),
        ..quic_config()
    })
    .tls_server(tls)
    .call("/hang", move |_ctx: CallCtx, _: i64| {
        let _ = entered_tx.send(());
        std::future::pending::<Result<i64, Status>>()
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = client_builder(&cert).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let call = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/hang", &1).await }
    });
    within("/hang started", entered.recv()).await.unwrap();
    within("close server", server.close()).await;
    let err = within("pending call after the close", call)
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.code() == Code::CONN_CLOSED, "{err}");
    within("close client", client.close()).await;
}

#[tokio::test]
async fn the_stream_alone() {
    use erpc_runtime_tokio::quic;
    use futures_util::io::{AsyncReadExt, AsyncWriteExt};
    let (tls, cert) = certs();
    let q = QuicConfig::default();
    let listen = q.listen(Some(&tls)).unwrap();
    let listener = quic::bind("127.0.0.1:0".parse().unwrap(), &listen).unwrap();
    let client_tls = client_config_trusting(&[cert]).unwrap();
    let dial = q.dial(Some((&client_tls, "localhost"))).unwrap();
    let mut a = within("connect", quic::connect(listener.local_addr(), &dial))
        .await
        .unwrap();
    let mut b = within("accept", listener.accept()).await.unwrap();
    assert_eq!(b.peer_addr().port(), a.local_addr().port());
    assert_eq!(
        a.connection().handshake_data().is_some(),
        b.connection().handshake_data().is_some()
    );
    a.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 5];
    within("read", b.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"hello");
    b.write_all(b"world").await.unwrap();
    within("read back", a.read_exact(&mut buf)).await.unwrap();
    assert_eq!(&buf, b"world");
    a.close().await.unwrap();
    let mut rest = Vec::new();
    within("end of stream", b.read_to_end(&mut rest))
        .await
        .unwrap();
    assert!(rest.is_empty());
}

#[tokio::test]
async fn the_accept_backlog_bounds_waiting_connections() {
    use erpc_runtime_tokio::quic;
    let (tls, cert) = certs();
    let q = QuicConfig {
        accept_backlog: 1,
        ..QuicConfig::default()
    };
    let listener = quic::bind(
        "127.0.0.1:0".parse().unwrap(),
        &q.listen(Some(&tls)).unwrap(),
    )
    .unwrap();
    let client_tls = client_config_trusting(&[cert]).unwrap();
    let dial = q.dial(Some((&client_tls, "localhost"))).unwrap();
    let addr = listener.local_addr();
    // The first connection takes the one place; nobody accepts it yet.
    let _first = within("first connect", quic::connect(addr, &dial))
        .await
        .unwrap();
    // The second is refused while the first waits.
    let err = within("second connect", quic::connect(addr, &dial))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    // Accepting the first frees the place.
    let _accepted = within("accept", listener.accept()).await.unwrap();
    within("third connect", quic::connect(addr, &dial))
        .await
        .unwrap();
}
