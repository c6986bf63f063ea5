//! Blocking handlers as erpc-peer handlers: the user's function becomes the body of a future
//! that completes on its first poll, on a worker of the pool ([`Threads::spawn_handler`]).
//! What handlers see: [`CallCtx`], [`PushCtx`].
//!
//! [`Threads::spawn_handler`]: crate::Threads

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use bytes::Bytes;
use erpc_peer::adapter::panic_reply;
use erpc_peer::{BoxFuture, IntoReply};
use erpc_proto::codec::CodecRegistry;
use erpc_proto::session::Reply;
use erpc_proto::{Code, CodecId, Message, Status};

use crate::pool::Pool;
use crate::rt::refusing;
use crate::session::Session;

/// What a call handler knows about its call: the header, the session (to push or call back
/// to the caller over the same connection) and the negotiated reply codec.
pub type CallCtx = erpc_peer::CallCtx<Session>;

/// What a push handler knows about its push.
pub type PushCtx = erpc_peer::PushCtx<Session>;

/// A user's function with the pool it runs on (one `Arc` per handler run).
pub(crate) struct Wrapped<F> {
    f: F,
    pool: Pool<BoxFuture<()>>,
}

impl<F> Wrapped<F> {
    pub(crate) fn new(f: F, pool: &Pool<BoxFuture<()>>) -> Arc<Self> {
        Arc::new(Wrapped {
            f,
            pool: pool.clone(),
        })
    }
}

/// A call handler's answer, or the refusal of a full pool.
pub(crate) enum Outcome<O> {
    Ran(O),
    Refused(Status),
}

impl<O: IntoReply> IntoReply for Outcome<O> {
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply {
        match self {
            Outcome::Ran(o) => o.into_reply(codec, codecs),
            Outcome::Refused(st) => Reply::error(st),
        }
    }
}

fn overload(pool: &Pool<BoxFuture<()>>) -> Status {
    let cfg = pool.config();
    Status::new(
        Code::INTERNAL_SERVER_ERROR,
        format!(
            "worker pool overload, max_workers={}, queue={}",
            cfg.max_workers, cfg.queue
        ),
        None::<String>,
    )
}

/// The erpc-peer call handler of the blocking function in `w`.
pub(crate) fn call<A, F, O>(
    w: &Arc<Wrapped<F>>,
    ctx: erpc_peer::CallCtx,
    args: A,
) -> impl Future<Output = Outcome<O>> + Send + 'static
where
    A: Send + 'static,
    F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
{
    let w = Arc::clone(w);
    async move {
        if refusing() {
            w.pool.count_rejected_call();
            let st = overload(&w.pool);
            tracing::warn!(service_method = %ctx.service_method(), status = %st, "call refused: worker pool full");
            return Outcome::Refused(st);
        }
        Outcome::Ran((w.f)(ctx.map_session(Session::new), args))
    }
}

/// The erpc-peer push handler of the blocking function in `w`.
pub(crate) fn push<A, F>(
    w: &Arc<Wrapped<F>>,
    ctx: erpc_peer::PushCtx,
    args: A,
) -> impl Future<Output = ()> + Send + 'static
where
    A: Send + 'static,
    F: Fn(PushCtx, A) + Send + Sync + 'static,
{
    let w = Arc::clone(w);
    async move {
        if refusing() {
            w.pool.count_dropped_push();
            tracing::warn!(service_method = %ctx.service_method(), status = %overload(&w.pool), "push dropped: worker pool full");
            return;
        }
        (w.f)(ctx.map_session(Session::new), args)
    }
}

/// The erpc-peer auth checker of the blocking checker in `w` (a panic refuses with 500).
pub(crate) fn auth<F>(
    w: &Arc<Wrapped<F>>,
    m: Message,
) -> impl Future<Output = Result<Bytes, Status>> + Send + 'static
where
    F: Fn(Message) -> Result<Bytes, Status> + Send + Sync + 'static,
{
    let w = Arc::clone(w);
    async move {
        if refusing() {
            return Err(overload(&w.pool));
        }
        match std::panic::catch_unwind(AssertUnwindSafe(|| (w.f)(m))) {
            Ok(r) => r,
            Err(p) => Err(panic_reply(&*p)
                .result
                .err()
                .unwrap_or_else(|| Status::from_code(Code::INTERNAL_SERVER_ERROR))),
        }
    }
}
