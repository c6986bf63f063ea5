//! Redial (Go §7.11): a dialed session outlives a server restart behind the same handle, and
//! `redial_times` also retries the first dial (§7.1).

use crate::common;
use std::time::Duration;

use common::{echo_ok, local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};

/// A server with `/echo` and `/hang` (never answers; tells `entered` when it started).
fn server(port: u16, entered: Option<tokio::sync::mpsc::UnboundedSender<()>>) -> Peer {
    builder(PeerConfig {
        listen_port: port,
        // Closing must not wait for `/hang`.
        shutdown_timeout: Duration::from_millis(50),
        ..local()
    })
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .call("/hang", move |_ctx: CallCtx, _: i64| {
        if let Some(tx) = &entered {
            let _ = tx.send(());
        }
        std::future::pending::<Result<i64, Status>>()
    })
    .build()
    .unwrap()
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

/// A port that was free a moment ago.
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

#[tokio::test]
async fn session_survives_a_server_restart() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let first = server(0, Some(entered_tx));
    let addr = first.listen().await.unwrap();
    let port = port_of(&addr);

    let client = builder(PeerConfig {
        redial_times: -1,
        redial_interval: Duration::from_millis(20),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;

    // A call in flight when the server goes away.
    let pending = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/hang", &0).await }
    });
    within("the /hang handler started", entered.recv())
        .await
        .unwrap();
    within("first server close", first.close()).await;

    let err = within("pending call completes after the break", pending)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    assert!(
        !sess.is_closed(),
        "a session that redials is not closed for good"
    );

    // A new server on the same port; the same handle works again once the redial succeeds.
    let second = server(port, None);
    let addr2 = second.listen().await.unwrap();
    assert_eq!(port_of(&addr2), port);
    echo_ok(&sess, 2).await;
    echo_ok(&sess, 3).await;
    assert_eq!(
        client.count_sessions(),
        1,
        "still one session on the client"
    );
    assert_eq!(second.count_sessions(), 1);

    // Closing the session locally ends it for good (no redial).
    sess.close();
    within("session closed", sess.closed()).await;
    let err = sess.call::<_, i64>("/echo", &4).await.unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);

    within("client close", client.close()).await;
    within("second server close", second.close()).await;
}

#[tokio::test]
async fn calls_made_while_redialing_wait_for_the_new_connection() {
    let first = server(0, None);
    let addr = first.listen().await.unwrap();
    let port = port_of(&addr);
    let client = builder(PeerConfig {
        redial_times: -1,
        redial_interval: Duration::from_millis(20),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    within("first server close", first.close()).await;

    // Made while no server listens; answered by the next one.
    let early = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &7).await }
    });
    let second = server(port, None);
    second.listen().await.unwrap();
    let got = within("call made during the redial", early).await.unwrap();
    // The call may have raced the old connection's end (102) or ridden the new one (7).
    match got {
        Ok(n) => assert_eq!(n, 7),
        Err(st) => assert_eq!(st.code(), Code::CONN_CLOSED, "{st}"),
    }
    echo_ok(&sess, 8).await;
    within("client close", client.close()).await;
    within("second server close", second.close()).await;
}

#[tokio::test]
async fn first_dial_is_retried_until_the_server_listens() {
    let port = free_port();
    let client = builder(PeerConfig {
        redial_times: 50,
        redial_interval: Duration::from_millis(20),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let dial = tokio::spawn({
        let client = client.clone();
        let addr = addr.clone();
        async move { client.dial(&addr).await }
    });
    // The server comes up only after the client has started dialing.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let srv = server(port, None);
    srv.listen().await.unwrap();
    let sess = within("dial retried until the server listens", dial)
        .await
        .unwrap()
        .unwrap();
    echo_ok(&sess, 5).await;
    within("client close", client.close()).await;
    within("server close", srv.close()).await;
}

#[tokio::test]
async fn without_redial_the_first_dial_fails_at_once_and_a_break_is_final() {
    let port = free_port();
    let client = builder(PeerConfig::default()).build().unwrap();
    let err = within("dial to nothing", client.dial(&format!("127.0.0.1:{port}")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    // Limited retries give up too.
    let limited = builder(PeerConfig {
        redial_times: 2,
        redial_interval: Duration::from_millis(10),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let err = within(
        "dial with 2 retries",
        limited.dial(&format!("127.0.0.1:{port}")),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    // redial_times 0: a broken session ends for good.
    let srv = server(0, None);
    let addr = srv.listen().await.unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;
    within("server close", srv.close()).await;
    within("session ends", sess.closed()).await;
    let err = sess.call::<_, i64>("/echo", &2).await.unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    assert_eq!(client.count_sessions(), 0);
    within("client close", client.close()).await;
    within("limited close", limited.close()).await;
}

#[tokio::test]
async fn call_deadline_holds_while_the_server_stays_away() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let first = server(0, Some(entered_tx));
    let addr = first.listen().await.unwrap();
    let client = builder(PeerConfig {
        redial_times: -1,
        redial_interval: Duration::from_millis(20),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let pending = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/hang", &0).await }
    });
    within("the /hang handler started", entered.recv())
        .await
        .unwrap();
    within("first server close", first.close()).await;
    // Once the pending call failed, the old connection is gone and the session redials.
    let err = within("pending call", pending).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");

    // Redialing forever; calls with a deadline must still end at their deadline, and calls
    // without one at the peer's default call timeout.
    let r = within(
        "call with a deadline during an endless redial",
        sess.call_with("/echo")
            .timeout(Duration::from_millis(200))
            .send::<_, i64>(&1),
    )
    .await;
    let err = r.unwrap_err();
    assert_eq!(err.code(), Code::HANDLE_TIMEOUT, "{err}");
    within("client close", client.close()).await;
}

#[tokio::test]
async fn closing_a_session_stops_its_endless_redial() {
    let (entered_tx, mut entered) = tokio::sync::mpsc::unbounded_channel();
    let first = server(0, Some(entered_tx));
    let addr = first.listen().await.unwrap();
    let client = builder(PeerConfig {
        redial_times: -1,
        redial_interval: Duration::from_millis(20),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let pending = tokio::spawn({
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/hang", &0).await }
    });
    within("the /hang handler started", entered.recv())
        .await
        .unwrap();
    within("first server close", first.close()).await;
    let err = within("pending call", pending).await.unwrap().unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    // The session is redialing (forever); closing it must end it now.
    sess.close();
    within("session closed during its redial", sess.closed()).await;
    within("client close", client.close()).await;
}
