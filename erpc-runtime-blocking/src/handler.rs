//! Handlers (ordinary functions run on the worker pool) and what they see: [`CallCtx`],
//! [`PushCtx`].

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use erpc_peer::IntoReply;
use erpc_proto::codec::{CodecRegistry, DecodeBody};
use erpc_proto::session::{Reply, ReplyToken};
use erpc_proto::{Code, CodecId, Message, Meta, ServiceMethod, Status};

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
#[derive(Clone, Debug)]
pub struct CallCtx {
    pub(crate) session: Session,
    pub(crate) seq: i32,
    pub(crate) service_method: ServiceMethod,
    pub(crate) meta: Meta,
    pub(crate) body_codec: CodecId,
    pub(crate) reply_codec: CodecId,
    pub(crate) xfer: Vec<u8>,
}

impl CallCtx {
    /// The session the call came on; push or call back through it.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The call's seq.
    pub fn seq(&self) -> i32 {
        self.seq
    }

    /// The service method as received (including any `?query`).
    pub fn service_method(&self) -> &str {
        &self.service_method
    }

    /// The call's meta.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The first value of a meta key, as text.
    pub fn peek_meta(&self, key: &str) -> Option<&str> {
        self.meta.peek_str(key)
    }

    /// The codec of the call's body.
    pub fn body_codec(&self) -> CodecId {
        self.body_codec
    }

    /// The codec the reply will use unless the handler returns a
    /// [`Response`](crate::Response) with another (eRPC's negotiation:
    /// `X-Accept-Body-Codec`, else the call's codec).
    pub fn reply_codec(&self) -> CodecId {
        self.reply_codec
    }

    /// The transfer filters of the call (the reply reuses them).
    pub fn xfer_pipe(&self) -> &[u8] {
        &self.xfer
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> String {
        self.session.remote_addr()
    }

    /// The caller's real IP: the `X-Real-IP` meta when a proxy set it, else the peer address.
    pub fn real_ip(&self) -> String {
        self.meta
            .peek_str("X-Real-IP")
            .map(str::to_owned)
            .unwrap_or_else(|| self.remote_addr())
    }
}

/// What a push handler knows about its push.
#[derive(Clone, Debug)]
pub struct PushCtx {
    pub(crate) session: Session,
    pub(crate) seq: i32,
    pub(crate) service_method: ServiceMethod,
    pub(crate) meta: Meta,
    pub(crate) body_codec: CodecId,
}

impl PushCtx {
    /// The session the push came on.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// The push's seq.
    pub fn seq(&self) -> i32 {
        self.seq
    }

    /// The service method as received.
    pub fn service_method(&self) -> &str {
        &self.service_method
    }

    /// The push's meta.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }

    /// The first value of a meta key, as text.
    pub fn peek_meta(&self, key: &str) -> Option<&str> {
        self.meta.peek_str(key)
    }

    /// The codec of the push's body.
    pub fn body_codec(&self) -> CodecId {
        self.body_codec
    }

    /// The peer's address.
    pub fn remote_addr(&self) -> String {
        self.session.remote_addr()
    }
}

fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "handler panicked".to_owned()
    }
}

pub(crate) fn call_fn<A, F, O>(f: F) -> CallFn
where
    A: DecodeBody + 'static,
    F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
    O: IntoReply,
{
    Arc::new(move |ctx: CallCtx, msg: Message, codecs: &CodecRegistry| {
        let reply_codec = ctx.reply_codec;
        let args = match A::decode_body(msg.body_codec, msg.body, codecs) {
            Ok(a) => a,
            Err(e) => return Reply::error(Status::with_cause(Code::BAD_MESSAGE, e.to_string())),
        };
        match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            Ok(out) => out.into_reply(reply_codec, codecs),
            Err(p) => Reply::error(Status::with_cause(
                Code::INTERNAL_SERVER_ERROR,
                panic_text(&*p),
            )),
        }
    })
}

pub(crate) fn push_fn<A, F>(f: F) -> PushFn
where
    A: DecodeBody + 'static,
    F: Fn(PushCtx, A) + Send + Sync + 'static,
{
    Arc::new(move |ctx: PushCtx, msg: Message, codecs: &CodecRegistry| {
        let sm = ctx.service_method.clone();
        let args = match A::decode_body(msg.body_codec, msg.body, codecs) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(service_method = %sm, error = %e, "push body could not be decoded; dropped");
                return;
            }
        };
        if let Err(p) = std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            tracing::warn!(service_method = %sm, panic = %panic_text(&*p), "push handler panicked");
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
            Err(p) => Reply::error(Status::with_cause(
                Code::INTERNAL_SERVER_ERROR,
                panic_text(&*p),
            )),
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
                codecs,
                token,
                started,
                gen,
                done,
            } => {
                let service_method = ctx.service_method.clone();
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
