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
use std::time::Duration;

use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::CallOptions;
use erpc_proto::{Code, CodecId, Message, Status};
use futures_channel::{mpsc, oneshot};

use crate::call::{decode_reply, encode_push, CallBuilder, CallReply, SessionHandle};

pub(crate) enum Command {
    Call {
        msg: Message,
        opts: CallOptions,
        tx: oneshot::Sender<Result<Message, Status>>,
    },
    Push {
        msg: Message,
        tx: oneshot::Sender<Result<(), Status>>,
    },
    Close {
        linger: Option<Duration>,
    },
}

pub(crate) struct SessionInner {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
    pub(crate) id: Mutex<String>,
    pub(crate) local_addr: Mutex<String>,
    pub(crate) remote_addr: Mutex<String>,
    pub(crate) dialed: bool,
    pub(crate) codecs: CodecRegistry,
    pub(crate) default_codec: CodecId,
    pub(crate) close_linger: Duration,
    data: Mutex<HashMap<String, Arc<dyn Any + Send + Sync>>>,
    pub(crate) closed: AtomicBool,
    pub(crate) closed_event: event_listener::Event,
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
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        tx: mpsc::UnboundedSender<Command>,
        id: String,
        local_addr: String,
        remote_addr: String,
        dialed: bool,
        codecs: CodecRegistry,
        default_codec: CodecId,
        close_linger: Duration,
    ) -> Session {
        Session {
            inner: Arc::new(SessionInner {
                tx,
                id: Mutex::new(id),
                local_addr: Mutex::new(local_addr),
                remote_addr: Mutex::new(remote_addr),
                dialed,
                codecs,
                default_codec,
                close_linger,
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
        let rx = self.start_call(msg, opts)?;
        rx.await.unwrap_or_else(|_| Err(conn_closed()))
    }

    /// Hands a CALL to the connection's task; the reply comes on the receiver.
    fn start_call(&self, msg: Message, opts: CallOptions) -> Result<ReplyReceiver, Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Call { msg, opts, tx })?;
        Ok(rx)
    }

    /// Pushes `args` to `service_method` (one-way). `Ok` means the frame was queued.
    pub async fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.push_message(encode_push(self, service_method, args)?)
            .await
    }

    /// Pushes a raw PUSH message (body already encoded).
    pub async fn push_message(&self, msg: Message) -> Result<(), Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Push { msg, tx })?;
        rx.await.unwrap_or_else(|_| Err(conn_closed()))
    }

    /// Closes gracefully: new calls are refused, calls in flight finish within the peer's
    /// shutdown timeout.
    pub fn close(&self) {
        let _ = self.inner.tx.unbounded_send(Command::Close {
            linger: Some(self.inner.close_linger),
        });
    }

    /// Closes at once: pending calls fail with 102.
    pub fn close_now(&self) {
        let _ = self
            .inner
            .tx
            .unbounded_send(Command::Close { linger: None });
    }

    fn send(&self, cmd: Command) -> Result<(), Status> {
        self.inner.tx.unbounded_send(cmd).map_err(|_| conn_closed())
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

impl SessionHandle for Session {
    type Reply<'a, R> = CallFuture<'a, R>;

    fn remote_addr(&self) -> String {
        Session::remote_addr(self)
    }

    fn codecs(&self) -> &CodecRegistry {
        &self.inner.codecs
    }

    fn default_codec(&self) -> CodecId {
        self.inner.default_codec
    }

    fn send_call<'a, R: DecodeBody>(
        &'a self,
        call: Result<Message, Status>,
        opts: CallOptions,
    ) -> CallFuture<'a, R> {
        CallFuture {
            session: self,
            state: match call {
                Ok(msg) => CallState::Unsent(msg, opts),
                Err(st) => CallState::Failed(st),
            },
            _reply: PhantomData,
        }
    }
}

/// The reply to a call from [`CallBuilder::send`] on an async [`Session`]. Like any future it
/// does nothing until polled: the call is sent when it is first polled.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct CallFuture<'a, R> {
    session: &'a Session,
    state: CallState,
    _reply: PhantomData<fn() -> R>,
}

enum CallState {
    Unsent(Message, CallOptions),
    Failed(Status),
    Sent(ReplyReceiver),
    Done,
}

impl<R> fmt::Debug for CallFuture<'_, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.state {
            CallState::Unsent(..) => "unsent",
            CallState::Failed(_) => "failed",
            CallState::Sent(_) => "sent",
            CallState::Done => "done",
        };
        f.debug_struct("CallFuture")
            .field("session", self.session)
            .field("state", &state)
            .finish()
    }
}

impl<R: DecodeBody> Future for CallFuture<'_, R> {
    type Output = Result<CallReply<R>, Status>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, CallState::Done) {
                CallState::Unsent(msg, opts) => match this.session.start_call(msg, opts) {
                    Ok(rx) => this.state = CallState::Sent(rx),
                    Err(st) => return Poll::Ready(Err(st)),
                },
                CallState::Failed(st) => return Poll::Ready(Err(st)),
                CallState::Sent(mut rx) => {
                    let Poll::Ready(reply) = Pin::new(&mut rx).poll(cx) else {
                        this.state = CallState::Sent(rx);
                        return Poll::Pending;
                    };
                    let reply = reply.unwrap_or_else(|_| Err(conn_closed()));
                    return Poll::Ready(
                        reply.and_then(|m| decode_reply(m, &this.session.inner.codecs)),
                    );
                }
                CallState::Done => panic!("CallFuture polled after completion"),
            }
        }
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
