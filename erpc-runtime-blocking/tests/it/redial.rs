//! Redial (Go §7.11): a dialed session outlives a server restart behind the same handle,
//! `redial_times` also retries the first dial, and calls made while redialing are bounded by
//! their deadline.

use crate::common;
use std::time::{Duration, Instant};

use common::{background, echo_ok, local, wait, within, Gate};
use erpc_runtime_blocking::{builder, CallCtx, Code, Peer, PeerConfig, Status};

/// A server with `/echo` and `/hang` (blocks until `release`; opens `entered` first).
fn server(port: u16, entered: Gate, release: Gate) -> Peer {
    builder(PeerConfig {
        listen_port: port,
        // Closing must not wait for `/hang`.
        shutdown_timeout: Duration::from_millis(50),
        ..local()
    })
    .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
    .call("/hang", move |_ctx: CallCtx, n: i64| {
        entered.open();
        release.wait();
        Ok::<_, Status>(n)
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

fn redialing_client(times: i32) -> Peer {
    builder(PeerConfig {
        redial_times: times,
        redial_interval: Duration::from_millis(20),
        ..common::client()
    })
    .build()
    .unwrap()
}

#[test]
fn session_survives_a_server_restart() {
    let (entered, release) = (Gate::default(), Gate::default());
    let first = server(0, entered.clone(), release.clone());
    let addr = first.listen().unwrap();
    let port = port_of(&addr);
    let client = redialing_client(-1);
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);

    // A call in flight when the server goes away.
    let pending = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/hang", &0))
    };
    entered.wait();
    let f = first.clone();
    within("first server close", move || f.close());
    release.open();
    let err = wait("pending call completes after the break", &pending).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    assert!(
        !sess.is_closed(),
        "a session that redials is not closed for good"
    );

    // A new server on the same port; the same handle works again once the redial succeeds.
    let second = server(port, Gate::default(), Gate::default());
    let addr2 = second.listen().unwrap();
    assert_eq!(port_of(&addr2), port);
    let s = sess.clone();
    within("a call after the redial", move || loop {
        // The first call may race the end of the old connection.
        match s.call::<_, i64>("/echo", &2) {
            Ok(n) => break assert_eq!(n, 2),
            Err(st) => assert_eq!(st.code(), Code::CONN_CLOSED, "{st}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    });
    echo_ok(&sess, 3);
    assert_eq!(
        client.count_sessions(),
        1,
        "still one session on the client"
    );
    assert_eq!(second.count_sessions(), 1);

    // Closing the session locally ends it for good (no redial).
    sess.close();
    assert!(sess.wait_closed_timeout(common::STEP));
    let err = sess.call::<_, i64>("/echo", &4).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    within("close", move || {
        client.close();
        second.close();
    });
}

#[test]
fn calls_made_while_redialing_wait_for_the_new_connection_within_their_deadline() {
    let first = server(0, Gate::default(), Gate::default());
    let addr = first.listen().unwrap();
    let port = port_of(&addr);
    let client = redialing_client(-1);
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    let f = first.clone();
    within("first server close", move || f.close());

    // Nobody listens: a call with a deadline gives up at its deadline.
    let t = Instant::now();
    let s = sess.clone();
    let err = within("call during the redial", move || {
        s.call_with("/echo")
            .timeout(Duration::from_millis(200))
            .send::<_, i64>(&5)
    })
    .unwrap_err();
    assert!(
        matches!(err.code(), Code::HANDLE_TIMEOUT | Code::CONN_CLOSED),
        "{err}"
    );
    assert!(t.elapsed() < Duration::from_secs(5));

    // A call made now is answered by the next server.
    let early = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/echo", &7))
    };
    std::thread::sleep(Duration::from_millis(50));
    let second = server(port, Gate::default(), Gate::default());
    second.listen().unwrap();
    match wait("call made during the redial", &early) {
        Ok(n) => assert_eq!(n, 7),
        Err(st) => assert_eq!(st.code(), Code::CONN_CLOSED, "{st}"),
    }
    echo_ok(&sess, 8);
    within("close", move || {
        client.close();
        second.close();
    });
}

#[test]
fn first_dial_is_retried_until_the_server_listens() {
    let port = free_port();
    let client = redialing_client(50);
    let addr = format!("127.0.0.1:{port}");
    let dial = {
        let (c, a) = (client.clone(), addr.clone());
        background(move || c.dial(&a))
    };
    // The server comes up only after the client has started dialing.
    std::thread::sleep(Duration::from_millis(100));
    let srv = server(port, Gate::default(), Gate::default());
    srv.listen().unwrap();
    let sess = wait("dial retried until the server listens", &dial).unwrap();
    echo_ok(&sess, 5);
    within("close", move || {
        client.close();
        srv.close();
    });
}

#[test]
fn without_redial_the_first_dial_fails_at_once_and_a_break_is_final() {
    let port = free_port();
    let client = builder(common::client()).build().unwrap();
    let err = client.dial(&format!("127.0.0.1:{port}")).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    let limited = redialing_client(2);
    let err = limited.dial(&format!("127.0.0.1:{port}")).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    // redial_times 0: a broken session ends for good.
    let srv = server(0, Gate::default(), Gate::default());
    let addr = srv.listen().unwrap();
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    let s = srv.clone();
    within("server close", move || s.close());
    assert!(sess.wait_closed_timeout(common::STEP), "session ends");
    let err = sess.call::<_, i64>("/echo", &2).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    assert_eq!(client.count_sessions(), 0);
    within("close", move || {
        client.close();
        limited.close();
    });
}
