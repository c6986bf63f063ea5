//! [`Session`]: the application's handle on one connection (dialed or accepted). Cheap to
//! clone; every clone talks to the one task that owns the connection.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::CallOptions;
use erpc_proto::{Code, CodecId, Message, MessageType, Meta, Status, XferPipe};
use futures_channel::{mpsc, oneshot};

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

/// A reply with its meta and codec, from [`CallBuilder::send`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CallReply<R> {
    /// The decoded body.
    pub body: R,
    /// The reply's meta.
    pub meta: Meta,
    /// The reply's body codec.
    pub codec: CodecId,
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
        CallBuilder {
            session: self,
            msg: Message::new(MessageType::CALL, 0, service_method),
            opts: CallOptions::default(),
        }
    }

    /// Sends a raw CALL message (body already encoded) and returns the raw REPLY.
    pub async fn call_message(&self, msg: Message, opts: CallOptions) -> Result<Message, Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Call { msg, opts, tx })?;
        rx.await
            .unwrap_or_else(|_| Err(Status::from_code(Code::CONN_CLOSED)))
    }

    /// Pushes `args` to `service_method` (one-way). `Ok` means the frame was queued.
    pub async fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        let mut msg = Message::new(MessageType::PUSH, 0, service_method);
        msg.body_codec = self.inner.default_codec;
        msg.body = args
            .encode_body(msg.body_codec, &self.inner.codecs)
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
        self.push_message(msg).await
    }

    /// Pushes a raw PUSH message (body already encoded).
    pub async fn push_message(&self, msg: Message) -> Result<(), Status> {
        let (tx, rx) = oneshot::channel();
        self.send(Command::Push { msg, tx })?;
        rx.await
            .unwrap_or_else(|_| Err(Status::from_code(Code::CONN_CLOSED)))
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
        self.inner
            .tx
            .unbounded_send(cmd)
            .map_err(|_| Status::from_code(Code::CONN_CLOSED))
    }

    pub(crate) fn mark_closed(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.inner.closed_event.notify(usize::MAX);
    }
}

/// Options of one call; finish with [`send`](CallBuilder::send).
#[derive(Debug)]
pub struct CallBuilder<'a> {
    session: &'a Session,
    msg: Message,
    opts: CallOptions,
}

impl CallBuilder<'_> {
    /// Adds a meta pair.
    pub fn meta(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.msg.meta.add(key, value);
        self
    }

    /// Encodes the arguments with this codec instead of the default.
    pub fn codec(mut self, codec: CodecId) -> Self {
        self.msg.body_codec = codec;
        self
    }

    /// Asks the peer to encode its reply with this codec (`X-Accept-Body-Codec`).
    pub fn accept_codec(mut self, codec: CodecId) -> Self {
        if codec.0 != 0 {
            self.msg.meta.add(
                erpc_proto::session::ACCEPT_BODY_CODEC_META_KEY,
                codec.0.to_string(),
            );
        }
        self
    }

    /// Applies these transfer filters (ids, outer-most first).
    pub fn xfer(mut self, ids: &[u8]) -> Self {
        self.msg.xfer_pipe = XferPipe::from_ids(ids);
        self
    }

    /// Fails the call with 408 if no reply came within `d`.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.opts = CallOptions::timeout(d);
        self
    }

    /// Waits for the reply however long it takes (Go's behaviour).
    pub fn no_timeout(mut self) -> Self {
        self.opts = CallOptions::no_timeout();
        self
    }

    /// Encodes `args`, sends the call and decodes the reply.
    pub async fn send<A, R>(mut self, args: &A) -> Result<CallReply<R>, Status>
    where
        A: EncodeBody + ?Sized,
        R: DecodeBody,
    {
        let inner = &self.session.inner;
        if self.msg.body_codec.0 == 0 {
            self.msg.body_codec = inner.default_codec;
        }
        self.msg.body = args
            .encode_body(self.msg.body_codec, &inner.codecs)
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
        let reply = self.session.call_message(self.msg, self.opts).await?;
        let body = R::decode_body(reply.body_codec, reply.body, &inner.codecs)
            .map_err(|e| Status::with_cause(Code::BAD_MESSAGE, e.to_string()))?;
        Ok(CallReply {
            body,
            meta: reply.meta,
            codec: reply.body_codec,
        })
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
