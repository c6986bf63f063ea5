//! Many calls in flight on one session at once, from many threads: every caller gets its own
//! answer, handlers of one session run in parallel on the worker pool, and a handler can call
//! back to its caller over the same session.

use crate::common;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{local, wait, within};
use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, Raw, Status};

const THREADS: i64 = 200;
/// The first this-many calls wait for each other inside the handler: they can only finish if
/// the server runs the handlers of one session in parallel.
const GATHER: usize = 40;

#[test]
fn two_hundred_threads_call_over_one_session() {
    let barrier = Arc::new(Barrier::new(GATHER));
    let server = builder(local())
        .call("/work", move |_ctx: CallCtx, (n, text): (i64, String)| {
            if n < GATHER as i64 {
                barrier.wait();
            }
            // Finish in a scrambled order so that replies overtake each other.
            std::thread::sleep(Duration::from_micros(((n * 7919) % 5) as u64 * 200));
            Ok::<_, Status>((n * 3, format!("{text}!")))
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();

    let start = Arc::new(Barrier::new(THREADS as usize));
    let results: Vec<_> = (0..THREADS)
        .map(|n| {
            let sess = sess.clone();
            let start = start.clone();
            common::background(move || {
                start.wait();
                let arg = (n, format!("arg-{n}"));
                (n, sess.call::<_, (i64, String)>("/work", &arg))
            })
        })
        .collect();
    let mut seen = vec![false; THREADS as usize];
    for rx in &results {
        let (n, r) = wait("a call", rx);
        let (tripled, text) = r.unwrap_or_else(|st| panic!("call {n} failed: {st}"));
        assert_eq!(tripled, n * 3, "call {n} got another call's answer");
        assert_eq!(
            text,
            format!("arg-{n}!"),
            "call {n} got another call's answer"
        );
        assert!(!seen[n as usize], "call {n} answered twice");
        seen[n as usize] = true;
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(
        server.count_sessions(),
        1,
        "all calls went over one session"
    );
    assert_eq!(client.count_sessions(), 1);
    assert_eq!(server.pool_stats().rejected_calls, 0);
    within("close", move || {
        client.close();
        server.close();
    });
}

#[test]
fn handler_calls_back_to_its_caller() {
    // The server's handler asks the client (over the same session) before answering.
    let server = builder(local())
        .call("/double_of_client_number", |ctx: CallCtx, n: i64| {
            let base: i64 = ctx.session().call("/number", &n)?;
            Ok::<_, Status>(base * 2)
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client())
        .call("/number", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n + 100))
        .build()
        .unwrap();
    let sess = client.dial(&addr).unwrap();
    let rxs: Vec<_> = (0..20)
        .map(|n| {
            let sess = sess.clone();
            common::background(move || sess.call::<_, i64>("/double_of_client_number", &n))
        })
        .collect();
    for (n, rx) in rxs.iter().enumerate() {
        assert_eq!(wait("nested call", rx).unwrap(), (n as i64 + 100) * 2);
    }
    within("close", move || {
        client.close();
        server.close();
    });
}

#[test]
fn both_sides_write_more_than_their_socket_buffers_at_once() {
    // Twenty 1 MiB echoes in flight over one session: each side's connection thread has far
    // more to write than the socket takes while the other side is also writing. A connection
    // that blocked in `write` would stop reading, and the two would wait for each other until
    // the write timeout (here 3 s, well under the callers' deadline) failed the session.
    const CALLERS: usize = 20;
    const SIZE: usize = 1 << 20;
    let cfg = |c: PeerConfig| PeerConfig {
        write_timeout: Duration::from_secs(3),
        ..c
    };
    let server = builder(cfg(local()))
        .call("/echo", |_ctx: CallCtx, body: Raw| Ok::<_, Status>(body))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(cfg(common::client())).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    let start = Arc::new(Barrier::new(CALLERS));
    let results: Vec<_> = (0..CALLERS)
        .map(|n| {
            let (sess, start) = (sess.clone(), start.clone());
            common::background(move || {
                let body: Vec<u8> = (0..SIZE).map(|i| (i * 7 + n) as u8).collect();
                start.wait();
                let r = sess.call::<_, Raw>("/echo", &Raw(body.clone().into()));
                (r, body)
            })
        })
        .collect();
    for (n, rx) in results.iter().enumerate() {
        let (r, body) = wait("a 1 MiB echo", rx);
        let echoed = r.unwrap_or_else(|st| panic!("echo {n} failed: {st}"));
        assert!(echoed.0 == body, "echo {n} came back changed");
    }
    assert_eq!(client.count_sessions(), 1, "no session was lost on the way");
    within("close", move || {
        client.close();
        server.close();
    });
}

/// The name of the thread that decoded it (a request body that records where it was read).
struct DecodedOn(String);

impl<'de> serde::Deserialize<'de> for DecodedOn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let _: i64 = serde::Deserialize::deserialize(d)?;
        let here = std::thread::current();
        Ok(DecodedOn(here.name().unwrap_or("unnamed").to_owned()))
    }
}

#[test]
fn arguments_are_decoded_on_the_worker_that_runs_the_handler() {
    // Decoding on the connection's thread would serialize every call's decode there.
    let server = builder(local())
        .call("/where", |_ctx: CallCtx, arg: DecodedOn| {
            let handler = std::thread::current()
                .name()
                .unwrap_or("unnamed")
                .to_owned();
            Ok::<_, Status>((arg.0, handler))
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    for _ in 0..20 {
        let (decoded, handler): (String, String) = sess.call("/where", &7i64).unwrap();
        assert_eq!(decoded, "erpc-worker");
        assert_eq!(handler, "erpc-worker");
    }
    within("close", move || {
        client.close();
        server.close();
    });
}

/// Both peers push far more than their socket buffers hold, at the same moment, over one TCP
/// connection: each connection's thread goes on reading while its own writes wait for room
/// (it waits in `poll` for either), so both floods arrive whole and neither side stalls.
#[test]
fn two_peers_that_both_send_more_than_their_buffers_hold_keep_moving() {
    use erpc_runtime_blocking::PushCtx;
    use std::sync::{mpsc, Mutex};

    // 8 MiB each way, through 64 KiB socket buffers.
    const PUSHES: usize = 16;
    const BODY: usize = 512 << 10;
    let small = |c: PeerConfig| PeerConfig {
        read_buffer: 64 << 10,
        write_buffer: 64 << 10,
        ..c
    };
    let body = || Raw(vec![7u8; BODY].into());

    let (server_tx, server_got) = mpsc::channel::<usize>();
    let server_tx = Mutex::new(server_tx);
    let server = builder(small(local()))
        .push("/sink", move |_: PushCtx, b: Raw| {
            let _ = server_tx.lock().unwrap().send(b.len());
        })
        .call("/flood", move |ctx: CallCtx, n: i64| {
            for _ in 0..n {
                ctx.session().push("/sink", &body())?;
            }
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let (client_tx, client_got) = mpsc::channel::<usize>();
    let client_tx = Mutex::new(client_tx);
    let client = builder(small(common::client()))
        .push("/sink", move |_: PushCtx, b: Raw| {
            let _ = client_tx.lock().unwrap().send(b.len());
        })
        .build()
        .unwrap();
    let sess = client.dial(&addr).unwrap();

    let flood = {
        let sess = sess.clone();
        common::background(move || sess.call::<_, i64>("/flood", &(PUSHES as i64)))
    };
    let pushing = {
        let sess = sess.clone();
        common::background(move || {
            for _ in 0..PUSHES {
                sess.push("/sink", &body())?;
            }
            Ok::<_, Status>(())
        })
    };
    for i in 0..PUSHES {
        let got = server_got.recv_timeout(common::STEP);
        assert_eq!(got, Ok(BODY), "the server's push {i}");
        let got = client_got.recv_timeout(common::STEP);
        assert_eq!(got, Ok(BODY), "the client's push {i}");
    }
    wait("the client's pushes", &pushing).unwrap();
    assert_eq!(wait("the flood call", &flood).unwrap(), PUSHES as i64);
    common::close_all(vec![client, server]);
}
