//! Graceful shutdown (Go §7.1, §7.13): `Peer::close` lets calls in flight finish, refuses new
//! connections, frees the port, and bounds the wait by `shutdown_timeout`.

use crate::common;
use std::time::{Duration, Instant};

use common::{background, echo_ok, eventually, local, wait, within, Gate};
use erpc_runtime_blocking::{builder, CallCtx, Code, Peer, PeerConfig, Status};

/// `/slow` opens `entered` and answers `n + 1` once `release` opens.
fn slow_server(cfg: PeerConfig, entered: Gate, release: Gate) -> Peer {
    builder(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/slow", move |_ctx: CallCtx, n: i64| {
            entered.open();
            release.wait();
            Ok::<_, Status>(n + 1)
        })
        .build()
        .unwrap()
}

#[test]
fn close_lets_the_call_in_flight_finish_and_refuses_new_dials() {
    let (entered, release) = (Gate::default(), Gate::default());
    let server = slow_server(local(), entered.clone(), release.clone());
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);

    let in_flight = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/slow", &41))
    };
    entered.wait();
    let closing = {
        let s = server.clone();
        background(move || s.close())
    };
    eventually("server is closing", || server.is_closing());
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        closing.try_recv().is_err(),
        "close returned while a call was still in flight"
    );

    // New connections are refused once closing started.
    let late = builder(common::client()).build().unwrap();
    let (l, a) = (late.clone(), addr.clone());
    let refused = within("late dial", move || match l.dial(&a) {
        Err(st) => st,
        // A dial that raced the listener's end must at least not work.
        Ok(s) => s.call::<_, i64>("/echo", &2).unwrap_err(),
    });
    assert!(
        matches!(refused.code(), Code::DIAL_FAILED | Code::CONN_CLOSED),
        "{refused}"
    );

    release.open();
    assert_eq!(wait("in-flight call", &in_flight).unwrap(), 42);
    wait("server close", &closing);
    assert!(
        sess.wait_closed_timeout(common::STEP),
        "client session ends"
    );

    // After close returned, the port is free and refuses connections.
    let err = late.dial(&addr).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(server.count_sessions(), 0);
    within("close", move || {
        client.close();
        late.close();
    });
}

#[test]
fn close_gives_up_after_the_shutdown_timeout() {
    let entered = Gate::default();
    let release = Gate::default();
    let server = slow_server(
        PeerConfig {
            shutdown_timeout: Duration::from_millis(200),
            ..local()
        },
        entered.clone(),
        release.clone(),
    );
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    let in_flight = {
        let s = sess.clone();
        background(move || s.call::<_, i64>("/slow", &1))
    };
    entered.wait();

    let t = Instant::now();
    let s = server.clone();
    within("close bounded by shutdown_timeout", move || s.close());
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "close did not wait for the call in flight"
    );
    let err = wait("abandoned call", &in_flight).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED, "{err}");
    release.open();
    within("client close", move || client.close());
}

#[test]
fn closing_the_client_peer_fails_its_new_calls_and_dials() {
    let server = slow_server(local(), Gate::default(), Gate::default());
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    echo_ok(&sess, 1);
    let c = client.clone();
    within("client close", move || c.close());
    assert!(sess.is_closed());
    let err = sess.call::<_, i64>("/echo", &1).unwrap_err();
    assert_eq!(err.code(), Code::CONN_CLOSED);
    let err = client.dial(&addr).unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED);
    eventually("server forgets the session", || {
        server.count_sessions() == 0
    });
    within("server close", move || server.close());
}

#[test]
fn a_peer_that_stops_reading_is_cut_at_the_shutdown_timeout() {
    // A raw TCP client that sends one big call and never reads: the server's replies fill
    // the socket buffers and its connection thread blocks writing. Close must still return.
    use std::io::Write;
    let server = builder(PeerConfig {
        shutdown_timeout: Duration::from_millis(200),
        ..local()
    })
    .call("/big", |_ctx: CallCtx, s: String| {
        Ok::<_, Status>(s.repeat(100))
    })
    .build()
    .unwrap();
    let addr = server.listen().unwrap();
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    let body = format!("\"{}\"", "y".repeat(10_000));
    for seq in 1..=40 {
        let frame = raw_call_frame(seq, "/big", body.as_bytes());
        if raw.write_all(&frame).is_err() {
            break;
        }
    }
    eventually("the server took the session", || {
        server.count_sessions() == 1
    });
    let stuck = server.clone();
    eventually("the server is stuck writing", move || {
        // Replies of 1 MB each: the kernel buffers are full long before 40 of them.
        stuck.pool_stats().busy == 0 && stuck.pool_stats().queued == 0
    });
    let t = Instant::now();
    within("close of a server stuck writing", move || server.close());
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(150),
        "close did not wait: {took:?}"
    );
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    drop(raw);
}

/// A rawproto CALL frame with a JSON body (Go eRPC's layout: size, header, body).
fn raw_call_frame(seq: i32, service_method: &str, body: &[u8]) -> Vec<u8> {
    use erpc_runtime_blocking::erpc_proto::proto::{Protocol, RawProto};
    use erpc_runtime_blocking::erpc_proto::{CodecId, MessageType, WireConfig};
    let mut msg = erpc_runtime_blocking::Message::new(MessageType::CALL, seq, service_method);
    msg.body_codec = CodecId::JSON;
    msg.body = bytes::Bytes::copy_from_slice(body);
    let mut out = bytes::BytesMut::new();
    RawProto
        .encode(&msg, &WireConfig::default(), &mut out)
        .unwrap();
    out.to_vec()
}

#[test]
fn close_with_calls_in_flight_on_several_sessions_lets_every_one_finish() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let entered = Arc::new(AtomicUsize::new(0));
    let release = Gate::default();
    let (e, r) = (Arc::clone(&entered), release.clone());
    let server = builder(PeerConfig {
        shutdown_timeout: common::STEP,
        ..local()
    })
    .call("/slow", move |_ctx: CallCtx, n: i64| {
        e.fetch_add(1, Ordering::SeqCst);
        r.wait();
        Ok::<_, Status>(n * 10)
    })
    .build()
    .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sessions: Vec<_> = (0..2).map(|_| client.dial(&addr).unwrap()).collect();
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let s = sessions[i % 2].clone();
            background(move || s.call::<_, i64>("/slow", &(i as i64)))
        })
        .collect();
    eventually("every call is running", || {
        entered.load(Ordering::SeqCst) == 6
    });

    let closing = {
        let s = server.clone();
        background(move || s.close())
    };
    eventually("server is closing", || server.is_closing());
    std::thread::sleep(Duration::from_millis(100));
    assert!(
        closing.try_recv().is_err(),
        "close returned while calls were in flight"
    );
    release.open();
    for (i, c) in calls.iter().enumerate() {
        assert_eq!(wait("call in flight", c).unwrap(), i as i64 * 10);
    }
    wait("server close", &closing);
    for s in &sessions {
        assert!(s.wait_closed_timeout(common::STEP), "client session ends");
    }
    assert_eq!(server.count_sessions(), 0);
    within("client close", move || client.close());
}

#[test]
fn a_write_blocked_longer_than_the_write_timeout_fails_the_connection() {
    // As above, but nobody closes the peer: the stuck write itself gives up.
    use std::io::Write;
    let server = builder(PeerConfig {
        write_timeout: Duration::from_millis(300),
        ..local()
    })
    .call("/big", |_ctx: CallCtx, s: String| {
        Ok::<_, Status>(s.repeat(100))
    })
    .build()
    .unwrap();
    let addr = server.listen().unwrap();
    let mut raw = std::net::TcpStream::connect(&addr).unwrap();
    let body = format!("\"{}\"", "y".repeat(10_000));
    for seq in 1..=40 {
        if raw
            .write_all(&raw_call_frame(seq, "/big", body.as_bytes()))
            .is_err()
        {
            break;
        }
    }
    eventually("the server took the session", || {
        server.count_sessions() == 1
    });
    eventually("the stuck session is closed", || {
        server.count_sessions() == 0
    });
    within("close", move || server.close());
    drop(raw);
}
