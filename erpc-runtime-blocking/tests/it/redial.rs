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

#[test]
fn a_call_that_timed_out_during_the_redial_is_never_run_after_the_reconnect() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// A server whose `/count` counts its runs.
    fn counting(port: u16, runs: Arc<AtomicUsize>) -> Peer {
        builder(PeerConfig {
            listen_port: port,
            ..local()
        })
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/count", move |_ctx: CallCtx, n: i64| {
            runs.fetch_add(1, Ordering::SeqCst);
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
    }

    let first_runs = Arc::new(AtomicUsize::new(0));
    let first = counting(0, Arc::clone(&first_runs));
    let addr = first.listen().unwrap();
    let port = port_of(&addr);
    let client = redialing_client(-1);
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    let f = first.clone();
    within("first server close", move || f.close());
    // Let the client see the break and start redialing.
    std::thread::sleep(Duration::from_millis(100));

    // Nobody listens: the call is held by the redial and gives up at its deadline.
    let s = sess.clone();
    let err = within("call during the redial", move || {
        s.call_with("/count")
            .timeout(Duration::from_millis(150))
            .send::<_, i64>(&5)
    })
    .unwrap_err();
    assert_eq!(err.code(), Code::HANDLE_TIMEOUT, "{err}");

    // The reconnect must not send it: the caller was told it failed.
    let runs = Arc::new(AtomicUsize::new(0));
    let second = counting(port, Arc::clone(&runs));
    second.listen().unwrap();
    let s = sess.clone();
    within("a call after the redial", move || loop {
        match s.call::<_, i64>("/echo", &2) {
            Ok(n) => break assert_eq!(n, 2),
            Err(st) => assert_eq!(st.code(), Code::CONN_CLOSED, "{st}"),
        }
        std::thread::sleep(Duration::from_millis(10));
    });
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(runs.load(Ordering::SeqCst), 0, "the timed-out call ran");
    assert_eq!(first_runs.load(Ordering::SeqCst), 0);
    // The route works, so a zero count means the call was dropped, not misrouted.
    let n: i64 = sess.call("/count", &9).unwrap();
    assert_eq!(n, 9);
    assert_eq!(runs.load(Ordering::SeqCst), 1);
    within("close", move || {
        client.close();
        second.close();
    });
}

/// A listener on `port` whose accept queue is full: connects to it hang (the SYN is dropped).
fn black_hole(port: u16) -> (socket2::Socket, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket, Type};
    let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.set_reuse_address(true).unwrap();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    l.bind(&addr.into()).unwrap();
    l.listen(0).unwrap();
    let mut fill = Vec::new();
    // Fill the queue until a connect no longer completes.
    for _ in 0..8 {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => fill.push(s),
            Err(_) => break,
        }
    }
    assert!(fill.len() < 8, "the accept queue never filled");
    (l, fill)
}

#[test]
fn close_during_a_stuck_connect_returns_promptly() {
    let first = server(0, Gate::default(), Gate::default());
    let addr = first.listen().unwrap();
    let port = port_of(&addr);
    let client = builder(PeerConfig {
        redial_times: -1,
        redial_interval: Duration::from_millis(20),
        // Neither bound may be what ends the close.
        dial_timeout: Duration::from_secs(30),
        shutdown_timeout: Duration::from_secs(5),
        ..common::client()
    })
    .build()
    .unwrap();
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    let f = first.clone();
    within("first server close", move || f.close());

    // The session redials into a listener that never answers; a fresh dial hangs too.
    let (_hole, _fill) = black_hole(port);
    let stuck_dial = {
        let (c, a) = (client.clone(), addr.clone());
        background(move || c.dial(&a))
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!sess.is_closed(), "the session is still redialing");

    let t = Instant::now();
    let c = client.clone();
    within("close during a stuck connect", move || c.close());
    let took = t.elapsed();
    assert!(took < Duration::from_secs(2), "close took {took:?}");
    assert!(sess.is_closed());
    let err = sess.call::<_, i64>("/echo", &2).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    // The stuck dial is the caller's: it ends with its own timeout; only check it did not
    // produce a session on a closed peer.
    if let Ok(Ok(s)) = stuck_dial.try_recv() {
        panic!("a dial succeeded into a black hole: {s:?}");
    }
}
