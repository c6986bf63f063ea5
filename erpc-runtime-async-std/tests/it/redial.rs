//! Redial (Go §7.11): a dialed session outlives a server restart behind the same handle, and
//! `redial_times` also retries the first dial.
#![cfg(feature = "smol")]

use crate::common;
use std::time::Duration;

use common::{echo_ok, local, sleep, spawn, within, Gate};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, Code, Peer, PeerConfig, Status};

/// A server with `/echo` and `/hang` (never answers; opens `entered` when it started).
fn server(rt: &AsyncIo, port: u16, entered: Gate) -> Peer {
    builder_on(
        rt.clone(),
        PeerConfig {
            listen_port: port,
            // Closing must not wait for `/hang`.
            shutdown_timeout: Duration::from_millis(50),
            ..local()
        },
    )
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .call("/hang", move |_ctx: CallCtx, _: i64| {
        entered.open();
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

on_every_executor!(
    session_survives_a_server_restart,
    first_dial_is_retried_until_the_server_listens
);

async fn session_survives_a_server_restart(rt: AsyncIo) {
    let entered = Gate::default();
    let first = server(&rt, 0, entered.clone());
    let addr = within("listen", first.listen()).await.unwrap();
    let port = port_of(&addr);

    let client = builder_on(
        rt.clone(),
        PeerConfig {
            redial_times: -1,
            redial_interval: Duration::from_millis(20),
            ..PeerConfig::default()
        },
    )
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 1).await;

    // A call in flight when the server goes away.
    let pending = spawn(&rt, {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/hang", &0).await }
    });
    within("the /hang handler started", entered.wait()).await;
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
    let second = server(&rt, port, Gate::default());
    let addr2 = within("listen again", second.listen()).await.unwrap();
    assert_eq!(port_of(&addr2), port);
    within("calls after the redial", async {
        // The first call may race the end of the old connection.
        loop {
            match sess.call::<_, i64>("/echo", &2).await {
                Ok(n) => break assert_eq!(n, 2),
                Err(st) => assert_eq!(st.code(), Code::CONN_CLOSED, "{st}"),
            }
            sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
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

async fn first_dial_is_retried_until_the_server_listens(rt: AsyncIo) {
    let port = free_port();
    let client = builder_on(
        rt.clone(),
        PeerConfig {
            redial_times: 50,
            redial_interval: Duration::from_millis(20),
            ..PeerConfig::default()
        },
    )
    .build()
    .unwrap();
    let addr = format!("127.0.0.1:{port}");
    let dial = spawn(&rt, {
        let client = client.clone();
        async move { client.dial(&addr).await }
    });
    // The server comes up only after the client has started dialing.
    sleep(Duration::from_millis(100)).await;
    let srv = server(&rt, port, Gate::default());
    within("listen", srv.listen()).await.unwrap();
    let sess = within("dial retried until the server listens", dial)
        .await
        .unwrap()
        .unwrap();
    echo_ok(&sess, 5).await;
    within("client close", client.close()).await;
    within("server close", srv.close()).await;
}
