//! Helpers shared by the integration tests: loopback configs and bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use erpc_runtime_blocking::{PeerConfig, Session};

/// The longest any single step of a test may take before it counts as hung.
pub const STEP: Duration = Duration::from_secs(10);

/// A config whose dials and calls give up after [`STEP`], so that no test waits unbounded.
pub fn client() -> PeerConfig {
    PeerConfig {
        dial_timeout: STEP,
        call_timeout: STEP,
        ..PeerConfig::default()
    }
}

/// [`client`], bound to 127.0.0.1 (never every interface) with a free port.
pub fn local() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..client()
    }
}

/// Runs `f` on its own thread, failing the test with `what` if it takes longer than [`STEP`].
pub fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    within_for(STEP, what, f)
}

/// Runs `f` on its own thread, failing the test with `what` if it takes longer than `limit`.
pub fn within_for<T: Send + 'static>(
    limit: Duration,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let rx = background(f);
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("timed out after {limit:?}: {what}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: the thread panicked"),
    }
}

/// Runs `f` on its own thread; its result arrives on the returned channel.
pub fn background<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> mpsc::Receiver<T> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx
}

/// Waits for the result of [`background`] work, failing the test after [`STEP`].
pub fn wait<T>(what: &str, rx: &mpsc::Receiver<T>) -> T {
    match rx.recv_timeout(STEP) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => panic!("timed out after {STEP:?}: {what}"),
        Err(RecvTimeoutError::Disconnected) => panic!("{what}: the thread panicked"),
    }
}

/// Polls `cond` every few milliseconds until it holds; fails the test after [`STEP`].
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + STEP;
    while !cond() {
        assert!(Instant::now() < end, "timed out after {STEP:?}: {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Calls `/echo` with `n` and checks the answer.
pub fn echo_ok(sess: &Session, n: i64) {
    let s = sess.clone();
    let got: i64 = within("echo call", move || s.call("/echo", &n)).expect("echo call failed");
    assert_eq!(got, n);
}

/// A one-shot gate threads wait on (bounded by [`STEP`]).
#[derive(Clone, Default)]
pub struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    /// Opens the gate for every waiter.
    pub fn open(&self) {
        *self.0 .0.lock().unwrap() = true;
        self.0 .1.notify_all();
    }

    /// Waits until the gate is open; panics after [`STEP`].
    pub fn wait(&self) {
        let g = self.0 .0.lock().unwrap();
        let (g, _) = self
            .0
             .1
            .wait_timeout_while(g, STEP, |open| !*open)
            .unwrap();
        assert!(*g, "gate not opened within {STEP:?}");
    }

    /// Whether the gate is open.
    pub fn is_open(&self) -> bool {
        *self.0 .0.lock().unwrap()
    }
}

/// The network check of the blocking tests: a server with `/echo` and `/big` (which pushes
/// the body back to `/back` and answers its length) on `server_cfg`, two sessions from a
/// client on `client_cfg` (two sessions on the server), then a body of `len` bytes each way.
/// Closes both peers; returns the listening address.
pub fn large_bodies_both_ways(
    server_cfg: PeerConfig,
    client_cfg: PeerConfig,
    len: usize,
) -> String {
    use erpc_runtime_blocking::{builder, CallCtx, PushCtx, Status};
    let server = builder(server_cfg)
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/big", |ctx: CallCtx, body: String| {
            let _ = ctx.session().push("/back", &body);
            Ok::<_, Status>(body.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let (tx, back) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = builder(client_cfg)
        .push("/back", move |_: PushCtx, body: String| {
            let _ = tx.lock().unwrap().send(body);
        })
        .build()
        .unwrap();
    let a = client.dial(&addr).unwrap();
    let b = client.dial(&addr).unwrap();
    echo_ok(&a, 1);
    echo_ok(&b, 2);
    assert_eq!(server.count_sessions(), 2, "two sessions, two ids");
    let body: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let got: usize = a.call_with("/big").send(&body).unwrap().body;
    assert_eq!(got, body.len());
    let pushed = back.recv_timeout(STEP).unwrap();
    assert!(pushed == body, "the pushed body came back intact");
    within("close", move || {
        client.close();
        server.close();
    });
    addr
}

/// Closes every peer, failing the test if that takes longer than [`STEP`].
pub fn close_all(peers: Vec<erpc_runtime_blocking::Peer>) {
    within("close", move || {
        for p in peers {
            p.close();
        }
    });
}
