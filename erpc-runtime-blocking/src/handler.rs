//! Handlers (ordinary functions run on the worker pool) and what they see: [`CallCtx`],
//! [`PushCtx`].

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use erpc_peer::adapter::{call_args, log_push_panic, panic_reply, push_args};
use erpc_peer::IntoReply;
use erpc_proto::codec::{CodecRegistry, DecodeBody};
use erpc_proto::session::{Reply, ReplyToken};
use erpc_proto::{CodecId, Message, ServiceMethod, Status};

use crate::pool::Job;
use crate::session::{Inbox, Session};

pub(crate) type CallFn = Arc<dyn Fn(CallCtx, Message, &CodecRegistry) -> Reply + Send + Sync>;
pub(crate) type PushFn = Arc<dyn Fn(PushCtx, Message, &CodecRegistry) + Send + Sync>;
pub(crate) type AuthFn = Arc<dyn Fn(Message) -> Reply + Send + Sync>;

/// A registered handler.
#[derive(Clone)]
pub(crate) enum Handler {
    Call(CallFn),
    Push(PushFn),
}

/// What a call handler knows about its call: the header, the session (to push or call back
/// to the caller over the same connection) and the negotiated reply codec.
pub type CallCtx = erpc_peer::CallCtx<Session>;

/// What a push handler knows about its push.
pub type PushCtx = erpc_peer::PushCtx<Session>;

pub(crate) fn call_fn<A, F, O>(f: F) -> CallFn
where
    A: DecodeBody + 'static,
    F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
    O: IntoReply,
{
    Arc::new(move |ctx: CallCtx, msg: Message, codecs: &CodecRegistry| {
        let reply_codec = ctx.reply_codec();
        let args = match call_args(msg, codecs) {
            Ok(a) => a,
            Err(reply) => return reply,
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            Ok(out) => out.into_reply(reply_codec, codecs),
            Err(p) => panic_reply(&*p),
        }
    })
}

pub(crate) fn push_fn<A, F>(f: F) -> PushFn
where
    A: DecodeBody + 'static,
    F: Fn(PushCtx, A) + Send + Sync + 'static,
{
    Arc::new(move |ctx: PushCtx, msg: Message, codecs: &CodecRegistry| {
        let sm = msg.service_method.clone();
        let Some(args) = push_args(msg, codecs) else {
            return;
        };
        if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            log_push_panic(&sm, &*p);
        }
    })
}

pub(crate) fn auth_fn<F>(reply_codec: CodecId, check: F) -> AuthFn
where
    F: Fn(Message) -> Result<Bytes, Status> + Send + Sync + 'static,
{
    Arc::new(move |m: Message| {
        match std::panic::catch_unwind(AssertUnwindSafe(|| check(m))) {
            Ok(Ok(b)) => Reply::ok(b),
            Ok(Err(st)) => Reply::error(st),
            Err(p) => panic_reply(&*p),
        }
        .with_codec(reply_codec)
    })
}

/// A handler run for the worker pool.
pub(crate) enum Work {
    Call {
        f: CallFn,
        ctx: CallCtx,
        msg: Message,
        service_method: ServiceMethod,
        codecs: CodecRegistry,
        token: ReplyToken,
        started: Instant,
        gen: u64,
        done: Sender<Inbox>,
    },
    Push {
        f: PushFn,
        ctx: PushCtx,
        msg: Message,
        codecs: CodecRegistry,
    },
    Auth {
        f: AuthFn,
        msg: Message,
        gen: u64,
        done: Sender<Inbox>,
    },
}

impl Job for Work {
    fn run(self) {
        match self {
            Work::Call {
                f,
                ctx,
                msg,
                service_method,
                codecs,
                token,
                started,
                gen,
                done,
            } => {
                let reply = f(ctx, msg, &codecs);
                let _ = done.send(Inbox::Reply {
                    gen,
                    token,
                    reply,
                    started,
                    service_method,
                });
            }
            Work::Push {
                f,
                ctx,
                msg,
                codecs,
            } => f(ctx, msg, &codecs),
            Work::Auth { f, msg, gen, done } => {
                let reply = f(msg);
                let _ = done.send(Inbox::AuthVerdict { gen, reply });
            }
        }
    }
}
