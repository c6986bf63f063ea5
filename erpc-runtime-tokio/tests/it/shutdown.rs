//! Graceful shutdown (Go §7.1 "Closing a peer", §7.13): `Peer::close` lets calls in flight
//! finish, refuses new connections, and bounds the wait by `shutdown_timeout`.

use crate::common;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{echo_ok, local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};
use tokio::sync::{mpsc, Notify};

/// `/slow` tells `entered` it started and answers `n + 1` once `release` is notified.
fn slow_server(cfg: PeerConfig, entered: mpsc::UnboundedSender<()>, release: Arc<Notify>) -> Peer {
    builder(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/slow", move |_ctx: CallCtx, n: i64| {
            let _ = entered.send(());
            let release = release.clone();
            async move {
                release.notified().await;
                Ok::<_, Status>(n + 1)
            }
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn close_lets_the_call_in_flight_finish_and_refuses_new_dials() {
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let server = slow_server(local(), entered_tx, release.clone());
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;

    let in_flight = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/slow", &41).await }
    });
    within("/slow started", entered.recv()).await.unwrap();

    let closing = tokio::spawn({
        let server = server.clone();
        async move { server.close().await }
    });
    // The peer is closing but waits for the call in flight.
    common::eventually("server is closing", || server.is_closing()).await;
    assert!(
        !closing.is_finished(),
        "close returned while a call was still in flight"
    );
    assert!(!in_flight.is_finished());

    // New connections are refused once closing started.
    let late = builder(PeerConfig::default()).build().unwrap();
    let refused = within("late dial", async {
        match late.dial(&addr).await {
            Err(st) => st,
            // A dial that raced the listener's end must at least not work.
            Ok(s) => s.call::<_, i64>("/echo", &2).await.unwrap_err(),
        }
    })
    .await;
    assert!(
        matches!(refused.code(), Code::DIAL_FAILED | Code::CONN_CLOSED),
        "{refused}"
    );

    release.notify_one();
    let got = within("in-flight call", in_flight).await.unwrap();
    assert_eq!(got.unwrap(), 42, "the call in flight got its answer");
    within("server close", closing).await.unwrap();
    within("client session ends", sess.closed()).await;

    // After close returned, the port is free and refuses connections.
    let err = within("dial after close", late.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(server.count_sessions(), 0);

    within("client close", client.close()).await;
    within("late close", late.close()).await;
}

#[tokio::test]
async fn close_gives_up_after_the_shutdown_timeout() {
    let (entered_tx, mut entered) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let server = slow_server(
        PeerConfig {
            shutdown_timeout: Duration::from_millis(200),
            ..local()
        },
        entered_tx,
        release,
    );
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let in_flight = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/slow", &1).await }
    });
    within("/slow started", entered.recv()).await.unwrap();

    let t = Instant::now();
    within("close bounded by shutdown_timeout", server.close()).await;
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "close did not wait for the call in flight"
    );
    let err = within("abandoned call", in_flight)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    within("client close", client.close()).await;
}

#[tokio::test]
async fn closing_the_client_peer_fails_its_new_calls_and_dials() {
    let (entered_tx, _entered) = mpsc::unbounded_channel();
    let server = slow_server(local(), entered_tx, Arc::new(Notify::new()));
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    within("client close", client.close()).await;
    assert!(sess.is_closed());
    let err = sess.call::<_, i64>("/echo", &1).await.unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    let err = client.dial(&addr).await.unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED);
    common::eventually("server forgets the session", || {
        server.count_sessions() == 0
    })
    .await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn an_idle_peer_stops_listening_when_close_returns() {
    for _ in 0..3 {
        let (entered_tx, _entered) = mpsc::unbounded_channel();
        let server = slow_server(local(), entered_tx, Arc::new(Notify::new()));
        let addr = server.listen().await.unwrap();
        within("server close", server.close()).await;
        // Nothing was in flight, so close had nothing to wait for; the listener must be gone
        // all the same, and a dial must not reach a peer that is closed.
        let client = builder(PeerConfig::default()).build().unwrap();
        let outcome = within("dial after close", async {
            let sess = client.dial(&addr).await?;
            sess.call::<_, i64>("/echo", &1).await
        })
        .await;
        assert!(outcome.is_err(), "a closed peer answered a call");
        let err = outcome.unwrap_err();
        assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
        within("client close", client.close()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_port_is_free_for_a_new_peer_when_close_returns() {
    for _ in 0..200 {
        let server = builder(local()).build().unwrap();
        let addr = server.listen().await.unwrap();
        within("server close", server.close()).await;
        let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
        let again = builder(PeerConfig {
            listen_port: port,
            ..local()
        })
        .build()
        .unwrap();
        let r = again.listen().await;
        assert!(
            r.is_ok(),
            "port {port} still taken after close returned: {r:?}"
        );
        within("second close", again.close()).await;
    }
}

#[tokio::test]
async fn close_stops_a_dial_stuck_in_its_handshake() {
    // A listener that accepts and never answers the TLS handshake; no dial timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let _keep = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let client = builder(PeerConfig {
        redial_times: -1,
        ..PeerConfig::default()
    })
    .tls_client(
        erpc_runtime_tokio::tls::dangerous_client_config_skip_verify().unwrap(),
        "localhost",
    )
    .build()
    .unwrap();
    let c2 = client.clone();
    let dial = tokio::spawn(async move { c2.dial(&addr).await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    within("close", client.close()).await;
    let r = within("the stuck dial ends", dial).await.unwrap();
    assert_eq!(r.unwrap_err().code(), Code::DIAL_FAILED);
}
