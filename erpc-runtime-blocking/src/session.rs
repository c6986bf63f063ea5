//! [`Session`]: the blocking handle on one connection, over erpc-peer's session.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_peer::{CallReply, SessionHandle, SessionStats};
use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::CallOptions;
use erpc_proto::{CodecId, Message, Status};
use futures_util::future::{select, Either};

use crate::rt::{block_on, ThreadTimer};

/// A connection's session: call and push to the peer, inspect it, close it.
///
/// Every method may be called from any thread, handlers included (a handler calling back
/// to its caller over `ctx.session()` is fine: the connection's thread keeps running while
/// the handler's worker thread waits).
#[derive(Clone)]
pub struct Session {
    inner: erpc_peer::Session,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.inner, f)
    }
}

/// Options of one call; finish with [`send`](CallBuilder::send), which blocks until the
/// reply.
pub type CallBuilder<'a> = erpc_peer::CallBuilder<'a, Session>;

impl Session {
    pub(crate) fn new(inner: erpc_peer::Session) -> Self {
        Session { inner }
    }

    /// erpc-peer's handle on this session (the one the async API uses).
    pub fn as_async(&self) -> &erpc_peer::Session {
        &self.inner
    }

    /// The session id (Go: the remote address on the accepting side, the local address on the
    /// dialing side).
    pub fn id(&self) -> String {
        self.inner.id()
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> String {
        self.inner.remote_addr()
    }

    /// This side's address.
    pub fn local_addr(&self) -> String {
        self.inner.local_addr()
    }

    /// Whether this side dialed.
    pub fn dialed(&self) -> bool {
        self.inner.dialed()
    }

    /// Whether the session closed for good (a dialed session that is redialing is not).
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Blocks until the session closed for good.
    pub fn wait_closed(&self) {
        block_on(self.inner.closed());
    }

    /// Blocks until the session closed for good or `timeout` passed; returns whether it
    /// closed.
    pub fn wait_closed_timeout(&self, timeout: Duration) -> bool {
        if self.is_closed() {
            return true;
        }
        let timer = ThreadTimer::new(Instant::now() + timeout);
        match block_on(select(Box::pin(self.inner.closed()), timer)) {
            Either::Left(_) => true,
            Either::Right(_) => self.is_closed(),
        }
    }

    /// Stores application data on the session (Go's session "swap").
    pub fn set_data<T: Any + Send + Sync>(&self, key: impl Into<String>, value: T) {
        self.inner.set_data(key, value);
    }

    /// Reads application data stored with [`set_data`](Session::set_data).
    pub fn data<T: Any + Send + Sync>(&self, key: &str) -> Option<Arc<T>> {
        self.inner.data(key)
    }

    /// Removes application data.
    pub fn remove_data(&self, key: &str) {
        self.inner.remove_data(key);
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
        block_on(self.inner.call_message(msg, opts))
    }

    /// Pushes `args` to `service_method` (one-way). `Ok` means the frame was queued.
    pub fn push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        block_on(self.inner.push(service_method, args))
    }

    /// Pushes a raw PUSH message (body already encoded).
    pub fn push_message(&self, msg: Message) -> Result<(), Status> {
        block_on(self.inner.push_message(msg))
    }

    /// Pushes without waiting: `Ok` once the push is in the session's command queue; an error
    /// at once when the queue is full or the session closed (see
    /// `erpc_peer::Session::try_push`). For broadcasts to sessions that may not drain.
    pub fn try_push<A: EncodeBody + ?Sized>(
        &self,
        service_method: &str,
        args: &A,
    ) -> Result<(), Status> {
        self.inner.try_push(service_method, args)
    }

    /// [`try_push`](Session::try_push) of a raw PUSH message (body already encoded).
    pub fn try_push_message(&self, msg: Message) -> Result<(), Status> {
        self.inner.try_push_message(msg)
    }

    /// The session's figures: bytes and commands queued, handlers running, calls pending,
    /// bytes in and out, calls and pushes served.
    pub fn stats(&self) -> SessionStats {
        self.inner.stats()
    }

    /// Closes gracefully: new calls are refused, calls in flight finish within the peer's
    /// shutdown timeout. Returns at once; see [`wait_closed`](Session::wait_closed).
    pub fn close(&self) {
        self.inner.close();
    }

    /// Closes at once: pending calls fail with 102.
    pub fn close_now(&self) {
        self.inner.close_now();
    }
}

impl SessionHandle for Session {
    type Reply<'a, R> = Result<CallReply<R>, Status>;

    fn remote_addr(&self) -> String {
        self.inner.remote_addr()
    }

    fn codecs(&self) -> &CodecRegistry {
        SessionHandle::codecs(&self.inner)
    }

    fn default_codec(&self) -> CodecId {
        SessionHandle::default_codec(&self.inner)
    }

    /// Blocks until the reply, the call's deadline (408) or the end of the connection (102).
    fn send_call<R: DecodeBody>(
        &self,
        call: Result<Message, Status>,
        opts: CallOptions,
    ) -> Result<CallReply<R>, Status> {
        block_on(self.inner.send_call(call, opts))
    }
}

/// `swap` fields of a bound argument (feature `binder`) read the session's data.
#[cfg(feature = "binder")]
impl erpc_peer::binder::SwapSource for Session {
    fn load(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        erpc_peer::binder::SwapSource::load(&self.inner, key)
    }
}
