//! The one interface every runtime is driven through: a [`Runtime`] starts a [`Server`] (the
//! conformance service, listening) or a [`Client`] (a peer that dials), and every method is
//! synchronous. Each async runtime's facade owns its executor and blocks on it, so scenarios
//! are plain functions that read the same whatever runs underneath.
//!
//! Adding a runtime: implement [`Runtime`] (for an `erpc_peer` runtime, implement
//! [`Exec`](crate::conformance::async_rt::Exec) instead) and add one line to the tables in `main.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use erpc_peer::rustls::{ClientConfig, ServerConfig};
use erpc_peer::{PeerConfig, Status};
use event_listener::{Event, Listener};
use serde::{Deserialize, Serialize};

/// How long any single step may take before the scenario counts it as hung.
pub(crate) const STEP: Duration = Duration::from_secs(10);

// ---- the conformance service -------------------------------------------------------------

/// Adds numbers: `Nums` → `Sum`.
pub(crate) const ADD: &str = "/math/add";
/// Always fails with 1001 "custom error" / "custom cause".
pub(crate) const ERR: &str = "/err/code";
/// Reports its first number on [`Probe::entered`], waits for [`Probe::gate`], then adds.
pub(crate) const SLOW: &str = "/slow/add";
/// Answers the length of its raw body.
pub(crate) const BYTES: &str = "/raw/len";
/// Answers its raw body unchanged.
pub(crate) const RAW_ECHO: &str = "/raw/echo";
/// Push to the server: recorded in [`Probe`] and echoed back to [`ECHO_BACK`].
pub(crate) const ECHO: &str = "/push/echo";
/// Push to the client, echoing a push it sent.
pub(crate) const ECHO_BACK: &str = "/push/echo_back";
/// Push to the client that the server starts (through `range_sessions`).
pub(crate) const NOTE: &str = "/push/note";

/// Call arguments. Bodies are structs so that every codec carries them (thrift-struct bodies
/// must be Thrift structs).
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub(crate) struct Nums {
    pub(crate) nums: Vec<i64>,
}

/// A call result.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub(crate) struct Sum {
    pub(crate) sum: i64,
}

/// A push body.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub(crate) struct Text {
    pub(crate) text: String,
}

pub(crate) fn nums(n: &[i64]) -> Nums {
    Nums { nums: n.to_vec() }
}

pub(crate) fn text(t: &str) -> Text {
    Text { text: t.into() }
}

/// What `/err/code` answers.
pub(crate) fn custom_error() -> Status {
    Status::new(1001, "custom error", Some("custom cause"))
}

pub(crate) fn add(n: &Nums) -> Sum {
    Sum {
        sum: n.nums.iter().sum(),
    }
}

// ---- the runtime interface ---------------------------------------------------------------

/// How to start the conformance server.
#[derive(Clone, Debug)]
pub(crate) struct ServerOpts {
    pub(crate) config: PeerConfig,
    pub(crate) tls: Option<Arc<ServerConfig>>,
}

/// How to start a client peer.
#[derive(Clone, Debug)]
pub(crate) struct ClientOpts {
    pub(crate) config: PeerConfig,
    /// Client TLS configuration and the server name to verify.
    pub(crate) tls: Option<(Arc<ClientConfig>, String)>,
}

/// One runtime adapter behind a synchronous facade.
pub(crate) trait Runtime: Sync {
    /// For messages: `tokio`, `async-std`, `smol`, `blocking`.
    fn name(&self) -> &'static str;
    /// Builds the conformance service with `opts` and starts listening.
    fn server(&self, opts: ServerOpts) -> Result<Box<dyn Server>, String>;
    /// Builds a client peer (with the `/push/*` handlers that fill its [`Inbox`]).
    fn client(&self, opts: ClientOpts) -> Result<Box<dyn Client>, String>;
}

/// A listening conformance server.
pub(crate) trait Server: Send + Sync {
    /// The bound address (the socket path for unix).
    fn addr(&self) -> &str;
    /// What its handlers saw.
    fn probe(&self) -> &Probe;
    /// Live sessions.
    fn count_sessions(&self) -> usize;
    /// The peer's figures.
    fn stats(&self) -> erpc_peer::PeerStats;
    /// Whether `close` has started.
    fn is_closing(&self) -> bool;
    /// Pushes `body` to `route` on every session (the server starts the push).
    fn push_all(&self, route: &str, body: &Text) -> Vec<Result<(), Status>>;
    /// Closes gracefully and blocks until done.
    fn close(&self);
}

/// A client peer.
pub(crate) trait Client: Send + Sync {
    fn dial(&self, addr: &str) -> Result<Box<dyn Conn>, Status>;
    /// The pushes its handlers received.
    fn inbox(&self) -> &Inbox;
    /// Closes gracefully and blocks until done.
    fn close(&self);
}

/// A dialed session.
pub(crate) trait Conn: Send + Sync {
    /// Calls `route` with `args`; `timeout` overrides the configured call timeout.
    fn call(&self, route: &str, args: &Nums, timeout: Option<Duration>) -> Result<Sum, Status>;
    /// Calls `route` with a raw body; the answer is a length.
    fn call_bytes(&self, route: &str, body: Vec<u8>) -> Result<u64, Status>;
    /// Issues every call at once on this session and returns the results in order.
    fn call_many(&self, route: &str, args: Vec<Nums>) -> Vec<Result<Sum, Status>>;
    fn push(&self, route: &str, body: &Text) -> Result<(), Status>;
    /// Whether the session closed for good.
    fn is_closed(&self) -> bool;
    /// Waits until the session closed for good, at most `limit`; returns whether it did.
    fn wait_closed(&self, limit: Duration) -> bool;
}

// ---- observation points shared by handlers and scenarios ---------------------------------

/// A one-way gate handlers wait on, for async handlers and blocking ones alike.
#[derive(Default, Debug)]
pub(crate) struct Gate {
    open: AtomicBool,
    event: Event,
}

impl Gate {
    pub(crate) fn open(&self) {
        self.open.store(true, Ordering::Release);
        self.event.notify(usize::MAX);
    }

    pub(crate) fn is_open(&self) -> bool {
        self.open.load(Ordering::Acquire)
    }

    /// Waits until open (callers bound it with a timer).
    pub(crate) async fn wait(&self) {
        loop {
            if self.is_open() {
                return;
            }
            let l = self.event.listen();
            if self.is_open() {
                return;
            }
            l.await;
        }
    }

    /// Blocks until open or `limit` passed; returns whether it opened.
    pub(crate) fn wait_blocking(&self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        loop {
            if self.is_open() {
                return true;
            }
            let l = self.event.listen();
            if self.is_open() {
                return true;
            }
            if l.wait_deadline(end).is_none() {
                return self.is_open();
            }
        }
    }
}

/// A channel whose receiving half is shared (handlers send, the scenario receives).
#[derive(Debug)]
pub(crate) struct Mailbox<T> {
    tx: Sender<T>,
    rx: Mutex<Receiver<T>>,
}

impl<T> Default for Mailbox<T> {
    fn default() -> Self {
        let (tx, rx) = mpsc::channel();
        Mailbox {
            tx,
            rx: Mutex::new(rx),
        }
    }
}

impl<T> Mailbox<T> {
    pub(crate) fn put(&self, v: T) {
        let _ = self.tx.send(v);
    }

    /// The next value, waiting at most `limit`.
    pub(crate) fn take(&self, limit: Duration) -> Option<T> {
        self.rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .recv_timeout(limit)
            .ok()
    }
}

/// What the server's handlers saw, and the gate `/slow/add` waits on.
#[derive(Default, Debug)]
pub(crate) struct Probe {
    /// Bodies pushed to `/push/echo`.
    pub(crate) pushes: Mailbox<String>,
    /// First argument of every `/slow/add` call, sent when the handler starts.
    pub(crate) entered: Mailbox<i64>,
    /// `/slow/add` answers once this is open (or after [`STEP`]).
    pub(crate) gate: Gate,
}

/// What a client's push handlers received: `(route, text)`.
#[derive(Default, Debug)]
pub(crate) struct Inbox {
    pub(crate) pushes: Mailbox<(String, String)>,
}
