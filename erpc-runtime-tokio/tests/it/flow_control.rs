//! Flow control and ownership on real sockets: a client that never reads is held back by its
//! own TCP window (the server's memory stays within its marks, checked through the stats
//! API), handler limits pause reading, full command queues answer with a status, dropped
//! call futures cancel, timeouts close stuck connections.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{Code, CodecId, Message, MessageType, WireConfig};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, PushCtx, Raw, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{echo_ok, eventually, local, within, within_for};

const MARK: usize = 1 << 20;

fn frame(mtype: MessageType, seq: i32, service_method: &str, body: Bytes) -> BytesMut {
    let mut m = Message::new(mtype, seq, service_method);
    m.body_codec = CodecId::PLAIN;
    m.body = body;
    let mut out = BytesMut::new();
    RawProto
        .encode(&m, &WireConfig::default(), &mut out)
        .expect("encodes");
    out
}

/// Writes `frame` again and again until the peer stops taking bytes for `stall` (or
/// `limit` bytes went out); returns how many bytes went out.
async fn write_until_stalled(
    s: &mut TcpStream,
    frame: &[u8],
    stall: Duration,
    limit: usize,
) -> usize {
    let mut sent = 0;
    while sent < limit {
        match tokio::time::timeout(stall, s.write_all(frame)).await {
            Ok(Ok(())) => sent += frame.len(),
            Ok(Err(_)) | Err(_) => break,
        }
    }
    sent
}

fn limited() -> PeerConfig {
    PeerConfig {
        max_queued_bytes: MARK,
        max_handlers: 64,
        ..local()
    }
}

#[tokio::test]
async fn a_client_that_never_reads_is_held_back_by_tcp() {
    let server = builder(limited())
        .call("/echo/bytes", |_ctx: CallCtx, body: Raw| async move {
            Ok::<_, Status>(body)
        })
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();

    let mut hog = TcpStream::connect(&addr).await.unwrap();
    let call = frame(
        MessageType::CALL,
        1,
        "/echo/bytes",
        Bytes::from(vec![7u8; 16 * 1024]),
    );
    let limit = 256 << 20;
    let sent = write_until_stalled(&mut hog, &call, Duration::from_millis(500), limit).await;
    assert!(
        sent < limit,
        "the server never stopped reading ({sent} bytes taken)"
    );

    let st = server.stats();
    assert!(
        st.queued_bytes <= 2 * MARK + 64 * 17 * 1024,
        "server queued {} bytes, mark {MARK}",
        st.queued_bytes
    );
    assert!(st.handlers_running <= 64);
    // Bytes the server took in: its queue plus what the kernel buffers hold; far less than
    // what an unbounded server would have read by now.
    assert!(st.bytes_in < 64 << 20, "server read {} bytes", st.bytes_in);

    // Everyone else is still served.
    let client = builder(PeerConfig::default()).build().unwrap();
    let good = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&good, 5).await;

    // The hog goes: everything it held is freed.
    drop(hog);
    eventually("hog's session gone", || server.count_sessions() == 1).await;
    eventually("queue freed", || server.stats().queued_bytes == 0).await;
    echo_ok(&good, 6).await;
}

#[tokio::test]
async fn pushes_from_a_client_are_bounded_by_the_handler_limit() {
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r, m) = (running.clone(), most.clone());
    let server = builder(PeerConfig {
        max_handlers: 8,
        ..limited()
    })
    .push("/push/slow", move |_ctx: PushCtx, _body: Raw| {
        let (r, m) = (r.clone(), m.clone());
        async move {
            let now = r.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            r.fetch_sub(1, Ordering::SeqCst);
        }
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let mut hog = TcpStream::connect(&addr).await.unwrap();
    let push = frame(
        MessageType::PUSH,
        1,
        "/push/slow",
        Bytes::from(vec![1u8; 16 * 1024]),
    );
    // Write as fast as the server takes it for a second: it takes only what its 8
    // handlers get through (8 at a time, 20 ms each), TCP holds back the rest.
    let mut sent = 0usize;
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        loop {
            hog.write_all(&push).await.unwrap();
            sent += push.len();
        }
    })
    .await;
    let took = server.stats().bytes_in;
    assert!(
        took < 32 << 20,
        "the server read {took} bytes in a second with 8 slow handlers"
    );
    assert!(
        most.load(Ordering::SeqCst) <= 8,
        "{} handlers ran at once",
        most.load(Ordering::SeqCst)
    );
    assert!(server.stats().handlers_running <= 8);
    assert!(sent >= took as usize, "{sent} < {took}");
    drop(hog);
    eventually("hog's session gone", || server.count_sessions() == 0).await;
    eventually("handlers done", || server.stats().handlers_running == 0).await;
}

#[tokio::test]
async fn pipelined_calls_read_slowly_are_all_answered_once() {
    const N: i32 = 100_000;
    let server = builder(PeerConfig {
        max_queued_bytes: 64 * 1024,
        ..local()
    })
    .call("/echo/bytes", |_ctx: CallCtx, body: Raw| async move {
        Ok::<_, Status>(body)
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let s = TcpStream::connect(&addr).await.unwrap();
    let (mut rd, mut wr) = s.into_split();
    let writer = tokio::spawn(async move {
        let mut batch = BytesMut::new();
        for seq in 1..=N {
            batch.extend_from_slice(&frame(
                MessageType::CALL,
                seq,
                "/echo/bytes",
                Bytes::from_static(b"x"),
            ));
            if batch.len() > 32 * 1024 {
                wr.write_all(&batch).await.unwrap();
                batch.clear();
            }
        }
        wr.write_all(&batch).await.unwrap();
        wr
    });
    let mut seen = HashSet::new();
    let mut buf = BytesMut::new();
    let mut chunk = vec![0u8; 2048];
    within_for(Duration::from_secs(120), "all replies", async {
        let mut reads = 0u64;
        while seen.len() < N as usize {
            let n = rd.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed after {} replies", seen.len());
            buf.extend_from_slice(&chunk[..n]);
            while let Some(m) = RawProto.decode(&mut buf, &WireConfig::default()).unwrap() {
                assert_eq!(m.mtype, MessageType::REPLY);
                assert!(m.status.is_ok(), "{:?}", m.status);
                assert!(seen.insert(m.seq), "seq {} answered twice", m.seq);
            }
            reads += 1;
            if reads % 64 == 0 {
                // Read slowly: let the server's queue fill up.
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    })
    .await;
    let _wr = writer.await.unwrap();
    assert_eq!(seen.len(), N as usize);
    assert!((1..=N).all(|s| seen.contains(&s)));
}

#[tokio::test]
async fn dropping_a_call_future_cancels_the_call() {
    let server = builder(local())
        .call("/slow", |_ctx: CallCtx, _n: i64| async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Ok::<_, Status>(0i64)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    for _ in 0..10 {
        let fut = sess.call_with("/slow").send::<_, i64>(&1);
        let r = tokio::time::timeout(Duration::from_millis(20), fut).await;
        assert!(r.is_err(), "the slow call answered");
    }
    eventually("cancelled calls freed", || sess.stats().calls_pending == 0).await;
}

#[tokio::test]
async fn call_futures_can_be_spawned() {
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let tasks: Vec<_> = (0..50i64)
        .map(|i| tokio::spawn(sess.call_with("/echo").send::<_, i64>(&i)))
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        assert_eq!(
            within("spawned call", t).await.unwrap().unwrap().body,
            i as i64
        );
    }
}

#[tokio::test]
async fn a_dialed_session_without_handles_stays_in_the_peer() {
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default())
        .call("/back", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n + 1)
        })
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let id = sess.id();
    drop(sess);
    tokio::time::sleep(Duration::from_millis(50)).await;
    // Owned by the peer's table, as in Go: reachable and usable until closed.
    assert_eq!(client.count_sessions(), 1);
    let again = client.session(&id).expect("still in the table");
    echo_ok(&again, 3).await;
    drop(again);
    // The server can still call the client over it.
    let mut served = None;
    server.range_sessions(|s| {
        served = Some(s.clone());
        false
    });
    let back: i64 = within("call back", served.unwrap().call("/back", &1))
        .await
        .unwrap();
    assert_eq!(back, 2);
}

#[tokio::test]
async fn a_full_command_queue_answers_try_push_at_once() {
    // A server that stops reading: one slow push handler at a time.
    let server = builder(PeerConfig {
        max_handlers: 1,
        ..local()
    })
    .push("/stuck", |_ctx: PushCtx, _b: Raw| async move {
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig {
        max_queued_bytes: 64 * 1024,
        max_queued_commands: 4,
        call_timeout: Duration::from_millis(300),
        write_timeout: Duration::ZERO,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let body = Raw(Bytes::from(vec![0u8; 64 * 1024]));
    // Push until the queue stays full: the server stopped reading, the kernel buffers and
    // the client's output mark filled, the client's connection stopped taking commands.
    let mut refusals = 0;
    let mut last = None;
    within("queue stays full", async {
        while refusals < 5 {
            match sess.try_push("/stuck", &body) {
                Ok(()) => refusals = 0,
                Err(st) => {
                    refusals += 1;
                    last = Some(st);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            tokio::task::yield_now().await;
        }
    })
    .await;
    let st = last.unwrap();
    assert_eq!(st.code(), Code::INTERNAL_SERVER_ERROR, "{st}");
    assert!(st.msg().contains("command queue full"), "{st}");
    let stats = sess.stats();
    assert!(stats.queued_commands <= 4, "{stats:?}");
    assert!(stats.queued_bytes <= 64 * 1024 + 128 * 1024, "{stats:?}");
    // A waiting push gives up at its deadline (the call timeout) with 408.
    let st = within("push deadline", sess.push("/stuck", &body))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::HANDLE_TIMEOUT, "{st}");
    sess.close_now();
}

#[tokio::test]
async fn a_stuck_writer_is_closed_after_the_write_timeout() {
    let server = builder(PeerConfig {
        write_timeout: Duration::from_millis(300),
        ..limited()
    })
    .call("/echo/bytes", |_ctx: CallCtx, body: Raw| async move {
        Ok::<_, Status>(body)
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let mut hog = TcpStream::connect(&addr).await.unwrap();
    let call = frame(
        MessageType::CALL,
        1,
        "/echo/bytes",
        Bytes::from(vec![7u8; 16 * 1024]),
    );
    write_until_stalled(&mut hog, &call, Duration::from_millis(200), 64 << 20).await;
    eventually("stuck session closed", || server.count_sessions() == 0).await;
}

#[tokio::test]
async fn an_unauthenticated_connection_is_closed_after_the_auth_timeout() {
    let server = builder(PeerConfig {
        auth_timeout: Duration::from_millis(200),
        ..local()
    })
    .auth_checker(CodecId::PLAIN, |_m| async move {
        Ok(Bytes::from_static(b"pass"))
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 64];
    let n = within("server closes", silent.read(&mut buf))
        .await
        .unwrap_or(0);
    assert_eq!(n, 0, "expected the server to close without a word");
    eventually("session gone", || server.count_sessions() == 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn the_handlers_of_one_connection_run_on_every_worker() {
    // Two handlers that block their threads until both run: they can only finish if the
    // handlers of one connection run in parallel on different workers, outside the
    // connection's own task. Meanwhile the connection keeps answering other calls.
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let b = barrier.clone();
    let server = builder(local())
        .call("/block", move |_ctx: CallCtx, n: i64| {
            let b = b.clone();
            async move {
                b.wait();
                Ok::<_, Status>(n)
            }
        })
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let first = tokio::spawn(sess.call_with("/block").send::<_, i64>(&1));
    // The first handler holds a worker; the connection still answers.
    echo_ok(&sess, 7).await;
    let second = tokio::spawn(sess.call_with("/block").send::<_, i64>(&2));
    assert_eq!(within("first", first).await.unwrap().unwrap().body, 1);
    assert_eq!(within("second", second).await.unwrap().unwrap().body, 2);
}

#[tokio::test]
async fn replies_still_go_out_after_the_client_half_closes() {
    let server = builder(local())
        .call("/slow/echo", |_ctx: CallCtx, body: Raw| async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok::<_, Status>(body)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let mut calls = BytesMut::new();
    for seq in 1..=3 {
        calls.extend_from_slice(&frame(
            MessageType::CALL,
            seq,
            "/slow/echo",
            Bytes::from_static(b"hi"),
        ));
    }
    s.write_all(&calls).await.unwrap();
    // CALL, then shutdown(SHUT_WR): the handlers are still running.
    s.shutdown().await.unwrap();
    let mut got = BytesMut::new();
    let mut buf = [0u8; 4096];
    within("replies, then EOF", async {
        loop {
            let n = s.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    let mut seqs = Vec::new();
    while let Some(m) = RawProto.decode(&mut got, &WireConfig::default()).unwrap() {
        assert_eq!(m.mtype, MessageType::REPLY);
        assert_eq!(&m.body[..], b"hi");
        seqs.push(m.seq);
    }
    seqs.sort();
    assert_eq!(seqs, vec![1, 2, 3]);
    eventually("session gone", || server.count_sessions() == 0).await;
}

#[tokio::test]
async fn concurrent_calls_larger_than_twice_the_mark_all_complete() {
    // Each call and each reply is one frame far above 2M (and above what the kernel
    // buffers) on both sides: a side that counted its own calls towards the read pause
    // stopped reading the replies, and both sides waited for each other (every call timed
    // out).
    let server = builder(limited())
        .call("/echo/bytes", |_ctx: CallCtx, body: Raw| async move {
            Ok::<_, Status>(body)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(limited()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let body = Bytes::from(vec![9u8; 16 * MARK]);
    let calls: Vec<_> = (0..4)
        .map(|_| {
            let s = sess.clone();
            let b = Raw(body.clone());
            tokio::spawn(async move { s.call::<_, Raw>("/echo/bytes", &b).await })
        })
        .collect();
    for c in calls {
        let reply = within_for(Duration::from_secs(20), "a large call", c)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(reply.0, body);
    }
}
