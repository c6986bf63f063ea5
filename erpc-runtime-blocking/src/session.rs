//! [`Session`]: the application's handle on one connection (dialed or accepted). Cheap to
//! clone and usable from any thread; every clone talks to the one thread that owns the
//! connection, over a channel.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::Shutdown;
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use erpc_peer::adapter::{decode_reply, encode_push};
use erpc_peer::{CallReply, SessionHandle};
use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::{CallOptions, Reply, ReplyToken};
use erpc_proto::{Code, CodecId, Message, ServiceMethod, Status};

use crate::socket::Socket;

/// What a handle asks of the connection thread.
pub(crate) enum Command {
    Call {
        msg: Message,
        opts: CallOptions,
        tx: SyncSender<Result<Message, Status>>,
    },
    Push {
        msg: Message,
        tx: SyncSender<Result<(), Status>>,
    },
    Close {
        linger: Option<Duration>,
    },
}

/// Everything the connection thread waits for, on one channel. `gen` numbers the connection
/// a message belongs to, so that leftovers of a connection that was replaced by a redial are
/// recognized and dropped.
pub(crate) enum Inbox {
    /// From a handle.
    Cmd(Command),
    /// Bytes from the reader thread.
    Input { gen: u64, data: BytesMut },
    /// The reader thread saw the end of the stream (`None`) or an error.
    ReadEnd { gen: u64, error: Option<io::Error> },
    /// A call handler finished.
    Reply {
        gen: u64,
        token: ReplyToken,
        reply: Reply,
        started: Instant,
        service_method: ServiceMethod,
    },
    /// The auth checker decided.
    AuthVerdict { gen: u64, reply: Reply },
}

pub(crate) struct SessionInner {
    pub(crate) tx: Sender<Inbox>,
    pub(crate) id: Mutex<String>,
    pub(crate) local_addr: Mutex<String>,
    pub(crate) remote_addr: Mutex<String>,
    pub(crate) dialed: bool,
    pub(crate) codecs: CodecRegistry,
    pub(crate) default_codec: CodecId,
    pub(crate) close_linger: Duration,
    pub(crate) call_timeout: Option<Duration>,
    data: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    closed: Mutex<bool>,
    closed_cv: Condvar,
    /// A clone of the current connection's socket, to cut it when a graceful close overruns.
    pub(crate) socket: Mutex<Option<Socket>>,
}

/// A connection's session: call and push to the peer, inspect it, close it.
///
/// Every method may be called from any thread, handlers included (a handler calling back
/// to its caller over `ctx.session()` is fine: the connection thread keeps running while
/// the handler's worker thread waits).
#[derive(Clone)]
pub struct Session {
    pub(crate) inner: Arc<SessionInner>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id())
            .field("remote_addr", &self.remote_addr())
            .field("dialed", &self.inner.dialed)
            .finish()
    }
}

/// Options of one call; finish with [`send`](CallBuilder::send), which blocks until the
/// reply.
pub type CallBuilder<'a> = erpc_peer::CallBuilder<'a, Session>;

pub(crate) struct SessionParts {
    pub(crate) id: String,
    pub(crate) local_addr: String,
    pub(crate) remote_addr: String,
    pub(crate) dialed: bool,
    pub(crate) codecs: CodecRegistry,
    pub(crate) default_codec: CodecId,
    pub(crate) close_linger: Duration,
    pub(crate) call_timeout: Option<Duration>,
}

/// How much longer than its deadline a caller waits before giving up by itself (normally the
/// session's own timer answers first; this bounds the wait while a redial is under way).
const CALLER_GRACE: Duration = Duration::from_millis(100);

impl Session {
    pub(crate) fn new(tx: Sender<Inbox>, p: SessionParts) -> Session {
        Session {
            inner: Arc::new(SessionInner {
                tx,
                id: Mutex::new(p.id),
                local_addr: Mutex::new(p.local_addr),
                remote_addr: Mutex::new(p.remote_addr),
                dialed: p.dialed,
                codecs: p.codecs,
                default_codec: p.default_codec,
                close_linger: p.close_linger,
                call_timeout: p.call_timeout,
                data: Mutex::new(HashMap::new()),
                closed: Mutex::new(false),
                closed_cv: Condvar::new(),
                socket: Mutex::new(None),
            }),
        }
    }

    /// The session id (Go: the remote address on the accepting side, the local address on the
    /// dialing side).
    pub fn id(&self) -> String {
        lock(&self.inner.id).clone()
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> String {
        lock(&self.inner.remote_addr).clone()
    }

    /// This side's address.
    pub fn local_addr(&self) -> String {
        lock(&self.inner.local_addr).clone()
    }

    /// Whether this side dialed.
    pub fn dialed(&self) -> bool {
        self.inner.dialed
    }

    /// Whether the session closed for good (a dialed session that is redialing is not).
    pub fn is_closed(&self) -> bool {
        *lock(&self.inner.closed)
    }

    /// Blocks until the session closed for good.
    pub fn wait_closed(&self) {
        let mut closed = lock(&self.inner.closed);
        while !*closed {
            closed = self
                .inner
                .closed_cv
                .wait(closed)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Blocks until the session closed for good or `timeout` passed; returns whether it
    /// closed.
    pub fn wait_closed_timeout(&self, timeout: Duration) -> bool {
        let guard = lock(&self.inner.closed);
        let (closed, _) = self
            .inner
            .closed_cv
            .wait_timeout_while(guard, timeout, |c| !*c)
            .unwrap_or_else(|e| e.into_inner());
        *closed
    }

    /// Stores application data on the session (Go's session "swap").
    pub fn set_data<T: Any + Send + Sync>(&self, key: impl Into<String>, value: T) {
        lock(&self.inner.data).insert(key.into(), Arc::new(value));
    }

    /// Reads application data stored with [`set_data`](Session::set_data).
    pub fn data<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        lock(&self.inner.data)
            .get(key)
            .cloned()
            .and_then(|v| v.downcast::<T>().ok())
    }

    /// Removes application data.
    pub fn remove_data(&self, key: &str) {
        lock(&self.inner.data).remove(key);
    }

    /// Calls `service_method` with `args` encoded by the peer's default codec, blocks until
    /// the reply (or the call's deadline, or the end of the connection) and decodes it into
    /// `R`. A non-OK reply status, a deadline (408), or the connection closing (102) come
    /// back as `Err(Status)`.
    pub fn call<A, R>(&self, service_method: &str, args: &A) -> Result<R, Status>
    where
        A: EncodeBody + ?Sized,
        R: DecodeBody,
    {
        self.call_with(service_method).send(args).map(|r| r.body)
    }

    /// A call with options: meta, codec, accepted reply codec, filters, deadline.
    pub fn call_with(&self, service_method: &str) -> CallBuilder<'_> {
        CallBuilder::new(self, service_method)
    }

    /// Sends a raw CALL message (body already encoded) and blocks until the raw REPLY, the
    /// call's deadline (408) or the end of the connection (102).
    pub fn call_message(&self, msg: Message, opts: CallOptions) -> Result<Message, Status> {
        let (tx, rx) = mpsc::sync_channel(1);
        let timeout = opts.timeout.unwrap_or(self.inner.call_timeout);
        self.send(Command::Call { msg, opts, tx })?;
        let closed = || Err(Status::from_code(Code::CONN_CLOSED));
        match timeout {
            Some(d) => match rx.recv_timeout(d + CALLER_GRACE) {
                Ok(r) => r,
                Err(mpsc::RecvTimeoutError::Timeout) => Err(Status::with_cause(
                    Code::HANDLE_TIMEOUT,
                    "context deadline exceeded",
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => closed(),
            },
            None => rx.recv().unwrap_or_else(|_| closed()),
        }
    }

    /// Pushes `args` to `service_method` (one-way). `Ok` means the frame was queued.
    pub fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.push_message(encode_push(self, service_method, args)?)
    }

    /// Pushes a raw PUSH message (body already encoded).
    pub fn push_message(&self, msg: Message) -> Result<(), Status> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.send(Command::Push { msg, tx })?;
        rx.recv()
            .unwrap_or_else(|_| Err(Status::from_code(Code::CONN_CLOSED)))
    }

    /// Closes gracefully: new calls are refused, calls in flight finish within the peer's
    /// shutdown timeout. Returns at once; see [`wait_closed`](Session::wait_closed).
    pub fn close(&self) {
        let _ = self.inner.tx.send(Inbox::Cmd(Command::Close {
            linger: Some(self.inner.close_linger),
        }));
    }

    /// Closes at once: pending calls fail with 102.
    pub fn close_now(&self) {
        let _ = self
            .inner
            .tx
            .send(Inbox::Cmd(Command::Close { linger: None }));
    }

    /// Cuts the connection under the session (unblocks a connection thread stuck writing to
    /// a peer that stopped reading).
    pub(crate) fn abort(&self) {
        if let Some(s) = lock(&self.inner.socket).as_ref() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    fn send(&self, cmd: Command) -> Result<(), Status> {
        self.inner
            .tx
            .send(Inbox::Cmd(cmd))
            .map_err(|_| Status::from_code(Code::CONN_CLOSED))
    }

    pub(crate) fn mark_closed(&self) {
        *lock(&self.inner.closed) = true;
        self.inner.closed_cv.notify_all();
    }
}

impl SessionHandle for Session {
    type Reply<'a, R> = Result<CallReply<R>, Status>;

    fn remote_addr(&self) -> String {
        Session::remote_addr(self)
    }

    fn codecs(&self) -> &CodecRegistry {
        &self.inner.codecs
    }

    fn default_codec(&self) -> CodecId {
        self.inner.default_codec
    }

    /// Blocks until the reply, the call's deadline (408) or the end of the connection (102).
    fn send_call<R: DecodeBody>(
        &self,
        call: Result<Message, Status>,
        opts: CallOptions,
    ) -> Result<CallReply<R>, Status> {
        let reply = self.call_message(call?, opts)?;
        decode_reply(reply, &self.inner.codecs)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
