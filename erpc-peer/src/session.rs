//! [`Session`]: the application's handle on one connection (dialed or accepted). Cheap to
//! clone; every clone talks to the one task that owns the connection.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody, Raw};
use erpc_proto::session::CallOptions;
use erpc_proto::{Code, CodecId, Message, Status};
use futures_channel::oneshot;
use futures_util::future::{select, Either};

use crate::call::{decode_reply, encode_push, CallBuilder, CallReply, SessionHandle};
use crate::conn::queue::{Command, CommandQueue, Refused};
use crate::conn::stats::{SessionCounters, SessionStats};
use crate::handler::BoxFuture;
use crate::runtime::Runtime;

/// The clock and timers of the runtime a session runs on, for deadlines on the handle side.
pub(crate) trait Clock: Send + Sync {
    fn now(&self) -> Instant;
    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()>;
}

/// [`Clock`] of a [`Runtime`].
pub(crate) struct RtClock<R>(pub(crate) R);

impl<R: Runtime> Clock for RtClock<R> {
    fn now(&self) -> Instant {
        self.0.now()
    }

    fn sleep_until(&self, deadline: Instant) -> BoxFuture<()> {
        Box::pin(self.0.timer(deadline))
    }
}

pub(crate) struct SessionInner {
    pub(crate) queue: CommandQueue,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) counters: SessionCounters,
    pub(crate) id: Mutex<String>,
    pub(crate) local_addr: Mutex<String>,
    pub(crate) remote_addr: Mutex<String>,
    pub(crate) dialed: bool,
    pub(crate) codecs: CodecRegistry,
    pub(crate) default_codec: CodecId,
    pub(crate) close_linger: Duration,
    /// The deadline of calls (and of queueing a push) that set none.
    pub(crate) call_timeout: Option<Duration>,
    data: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    pub(crate) closed: AtomicBool,
    pub(crate) closed_event: event_listener::Event,
}

/// What a new session handle is made of.
pub(crate) struct SessionParts {
    pub(crate) id: String,
    pub(crate) local_addr: String,
    pub(crate) remote_addr: String,
    pub(crate) dialed: bool,
    pub(crate) codecs: CodecRegistry,
    pub(crate) default_codec: CodecId,
    pub(crate) close_linger: Duration,
    pub(crate) call_timeout: Option<Duration>,
    pub(crate) max_queued_commands: usize,
    pub(crate) clock: Arc<dyn Clock>,
}

/// A connection's session: call and push to the peer, inspect it, close it.
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

impl Session {
    pub(crate) fn new(p: SessionParts) -> Session {
        Session {
            inner: Arc::new(SessionInner {
                queue: CommandQueue::new(p.max_queued_commands),
                clock: p.clock,
                counters: SessionCounters::default(),
                id: Mutex::new(p.id),
                local_addr: Mutex::new(p.local_addr),
                remote_addr: Mutex::new(p.remote_addr),
                dialed: p.dialed,
                codecs: p.codecs,
                default_codec: p.default_codec,
                close_linger: p.close_linger,
                call_timeout: p.call_timeout,
                data: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
                closed_event: event_listener::Event::new(),
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
        self.inner.closed.load(Ordering::Acquire)
    }

    /// Waits until the session closed for good.
    pub async fn closed(&self) {
        loop {
            if self.is_closed() {
                return;
            }
            let listener = self.inner.closed_event.listen();
            if self.is_closed() {
                return;
            }
            listener.await;
        }
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

    /// The application data at `key`, untyped (the binder's swap).
    #[cfg(feature = "binder")]
    pub(crate) fn data_any(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        lock(&self.inner.data).get(key).cloned()
    }

    /// Removes application data.
    pub fn remove_data(&self, key: &str) {
        lock(&self.inner.data).remove(key);
    }

    /// Calls `service_method` with `args` encoded by the peer's default codec and decodes
    /// the reply into `R`. A non-OK reply status, a deadline, or the connection closing
    /// (102) come back as `Err(Status)`.
    pub async fn call<A, R>(&self, service_method: &str, args: &A) -> Result<R, Status>
    where
        A: EncodeBody + ?Sized,
        R: DecodeBody,
    {
        self.call_with(service_method)
            .send(args)
            .await
            .map(|r| r.body)
    }

    /// A call with options: meta, codec, accepted reply codec, filters, deadline.
    pub fn call_with(&self, service_method: &str) -> CallBuilder<'_> {
        CallBuilder::new(self, service_method)
    }

    /// Sends a raw CALL message (body already encoded) and returns the raw REPLY.
    pub async fn call_message(&self, msg: Message, opts: CallOptions) -> Result<Message, Status> {
        let mut fut = CallFuture::<Raw>::new(self.clone(), Ok(msg), opts);
        std::future::poll_fn(|cx| fut.poll_message(cx)).await
    }

    /// Pushes `args` to `service_method` (one-way). `Ok` means the frame was queued for the
    /// socket. When the session's command queue is full this waits for room, at most the
    /// peer's call timeout (then 408); see [`try_push`](Session::try_push).
    pub async fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.push_message(encode_push(self, service_method, args)?)
            .await
    }

    /// Pushes a raw PUSH message (body already encoded); waits like [`push`](Session::push).
    pub async fn push_message(&self, msg: Message) -> Result<(), Status> {
        let deadline = self.deadline(None);
        let (tx, rx) = oneshot::channel();
        self.enqueue(Command::Push { msg, deadline, tx }, deadline)
            .await?;
        rx.await.unwrap_or_else(|_| Err(conn_closed()))
    }

    /// Pushes without waiting: `Ok` once the push is in the session's command queue (the
    /// connection sends it next); an error at once when the queue is full (503-like 500
    /// status `command queue full`) or the session is closed (102). For broadcasts to many
    /// sessions, where one that does not drain must not hold up the rest.
    pub fn try_push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.try_push_message(encode_push(self, service_method, args)?)
    }

    /// [`try_push`](Session::try_push) of a raw PUSH message (body already encoded).
    pub fn try_push_message(&self, msg: Message) -> Result<(), Status> {
        let (tx, _rx) = oneshot::channel();
        let deadline = self.deadline(None);
        match self
            .inner
            .queue
            .try_push(Command::Push { msg, deadline, tx })
        {
            Ok(()) => Ok(()),
            Err(Refused::Full(_)) => Err(queue_full()),
            Err(Refused::Ended) => Err(conn_closed()),
        }
    }

    /// The session's figures: bytes and commands queued, handlers running, calls pending,
    /// bytes in and out, calls and pushes served.
    pub fn stats(&self) -> SessionStats {
        self.inner.counters.snapshot(self.inner.queue.len())
    }

    /// Closes gracefully: new calls are refused, calls in flight finish within the peer's
    /// shutdown timeout.
    pub fn close(&self) {
        self.inner.queue.close(Some(self.inner.close_linger));
    }

    /// Closes at once: pending calls fail with 102.
    pub fn close_now(&self) {
        self.inner.queue.close(None);
    }

    /// When a command made now with `timeout` (`None`: the session's default) gives up.
    fn deadline(&self, timeout: Option<Option<Duration>>) -> Option<Instant> {
        let t = timeout.unwrap_or(self.inner.call_timeout)?;
        self.inner.clock.now().checked_add(t)
    }

    /// Queues `cmd`, waiting for room until `deadline`.
    async fn enqueue(&self, cmd: Command, deadline: Option<Instant>) -> Result<(), Status> {
        let mut cmd = match self.inner.queue.try_push(cmd) {
            Ok(()) => return Ok(()),
            Err(Refused::Ended) => return Err(conn_closed()),
            Err(Refused::Full(c)) => c,
        };
        let mut sleep = deadline.map(|d| self.inner.clock.sleep_until(d));
        loop {
            let room = self.inner.queue.listen_room();
            cmd = match self.inner.queue.try_push(cmd) {
                Ok(()) => return Ok(()),
                Err(Refused::Ended) => return Err(conn_closed()),
                Err(Refused::Full(c)) => c,
            };
            match sleep.as_mut() {
                Some(s) => {
                    if let Either::Right(_) = select(room, s.as_mut()).await {
                        return Err(queue_timeout());
                    }
                }
                None => room.await,
            }
        }
    }

    pub(crate) fn mark_closed(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.closed_event.notify(usize::MAX);
    }
}

type ReplyReceiver = oneshot::Receiver<Result<Message, Status>>;

fn conn_closed() -> Status {
    Status::from_code(Code::CONN_CLOSED)
}

fn queue_full() -> Status {
    Status::new(
        Code::INTERNAL_SERVER_ERROR,
        "command queue full",
        Some("the session's connection is not draining its queue (max_queued_commands)"),
    )
}

fn queue_timeout() -> Status {
    Status::with_cause(
        Code::HANDLE_TIMEOUT,
        "context deadline exceeded (the session's command queue stayed full)",
    )
}

impl SessionHandle for Session {
    type Reply<'a, R> = CallFuture<R>;

    fn remote_addr(&self) -> String {
        Session::remote_addr(self)
    }

    fn codecs(&self) -> &CodecRegistry {
        &self.inner.codecs
    }

    fn default_codec(&self) -> CodecId {
        self.inner.default_codec
    }

    fn send_call<R: DecodeBody>(
        &self,
        call: Result<Message, Status>,
        opts: CallOptions,
    ) -> CallFuture<R> {
        CallFuture::new(self.clone(), call, opts)
    }
}

/// The reply to a call from [`CallBuilder::send`] on an async [`Session`]. Like any future it
/// does nothing until polled: the call is sent when it is first polled (its deadline counts
/// from then). It owns a handle on the session (`Send + 'static`, so it can be spawned).
///
/// Dropping it before it completes cancels the call: a call still queued is never sent, a
/// call already sent is forgotten by the connection at once (its entry and timer freed; a
/// late reply is dropped quietly). The peer's handler may still run: eRPC has no
/// cancellation on the wire.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CallFuture<R> {
    session: Session,
    state: CallState,
    _reply: PhantomData<fn() -> R>,
}

enum CallState {
    Unsent(Message, CallOptions),
    Failed(Status),
    /// Waiting for room in the command queue.
    Queueing(u64, BoxFuture<Result<(), Status>>, ReplyReceiver),
    Sent(u64, ReplyReceiver),
    Done,
}

impl<R> fmt::Debug for CallFuture<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            CallState::Unsent(..) => "unsent",
            CallState::Failed(_) => "failed",
            CallState::Queueing(..) => "queueing",
            CallState::Sent(..) => "sent",
            CallState::Done => "done",
        };
        f.debug_struct("CallFuture")
            .field("session", &self.session)
            .field("state", &state)
            .finish()
    }
}

impl<R> CallFuture<R> {
    fn new(session: Session, call: Result<Message, Status>, opts: CallOptions) -> Self {
        CallFuture {
            session,
            state: match call {
                Ok(msg) => CallState::Unsent(msg, opts),
                Err(st) => CallState::Failed(st),
            },
            _reply: PhantomData,
        }
    }

    /// Drives the call to its raw reply. A call waiting for its reply (the state of nearly
    /// every poll) is polled in place: only the first poll moves the message out.
    fn poll_message(&mut self, cx: &mut Context<'_>) -> Poll<Result<Message, Status>> {
        loop {
            match &mut self.state {
                CallState::Sent(_, rx) => {
                    let Poll::Ready(reply) = Pin::new(rx).poll(cx) else {
                        return Poll::Pending;
                    };
                    self.state = CallState::Done;
                    return Poll::Ready(reply.unwrap_or_else(|_| Err(conn_closed())));
                }
                CallState::Queueing(_, wait, _) => {
                    let Poll::Ready(queued) = wait.as_mut().poll(cx) else {
                        return Poll::Pending;
                    };
                    let state = std::mem::replace(&mut self.state, CallState::Done);
                    match (queued, state) {
                        (Ok(()), CallState::Queueing(key, _, rx)) => {
                            self.state = CallState::Sent(key, rx);
                        }
                        (Err(st), _) => return Poll::Ready(Err(st)),
                        (Ok(()), other) => self.state = other,
                    }
                }
                CallState::Done => panic!("CallFuture polled after completion"),
                CallState::Unsent(..) | CallState::Failed(_) => {
                    match std::mem::replace(&mut self.state, CallState::Done) {
                        CallState::Unsent(msg, opts) => self.send(msg, opts),
                        CallState::Failed(st) => return Poll::Ready(Err(st)),
                        other => self.state = other,
                    }
                }
            }
        }
    }

    /// Queues the call; the state it leaves says what became of it (sent, waiting for room,
    /// or failed because the session ended).
    fn send(&mut self, msg: Message, opts: CallOptions) {
        let inner = &self.session.inner;
        let deadline = self.session.deadline(opts.timeout);
        let key = inner.queue.next_key();
        let (tx, rx) = oneshot::channel();
        let cmd = Command::Call {
            msg,
            deadline,
            key,
            tx,
        };
        self.state = match inner.queue.try_push(cmd) {
            Ok(()) => CallState::Sent(key, rx),
            Err(Refused::Ended) => CallState::Failed(conn_closed()),
            Err(Refused::Full(cmd)) => {
                let s = self.session.clone();
                let wait = Box::pin(async move { s.enqueue(cmd, deadline).await });
                CallState::Queueing(key, wait, rx)
            }
        };
    }
}

impl<R> Drop for CallFuture<R> {
    fn drop(&mut self) {
        if let CallState::Sent(key, _) = self.state {
            self.session.inner.queue.cancel(key);
        }
    }
}

impl<R: DecodeBody> Future for CallFuture<R> {
    type Output = Result<CallReply<R>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let reply = std::task::ready!(this.poll_message(cx));
        Poll::Ready(reply.and_then(|m| decode_reply(m, &this.session.inner.codecs)))
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
