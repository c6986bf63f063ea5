//! Handlers and what they see: [`CallCtx`], [`PushCtx`], [`Response`].

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::Reply;
use erpc_proto::{Code, CodecId, Message, Meta, ServiceMethod, Status};
use futures_util::FutureExt;

use crate::session::Session;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub(crate) type CallFn = Arc<dyn Fn(CallCtx, Message) -> BoxFuture<Reply> + Send + Sync>;
pub(crate) type PushFn = Arc<dyn Fn(PushCtx, Message) -> BoxFuture<()> + Send + Sync>;

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

    /// The codec the reply will use unless the handler returns a [`Response`] with another
    /// (eRPC's negotiation: `X-Accept-Body-Codec`, else the call's codec).
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

/// A handler's answer with reply meta or an explicit reply codec.
///
/// ```
/// use erpc_peer::Response;
/// let r = Response::new(15).with_meta("served-by", "rust").with_codec(erpc_proto::CodecId::PLAIN);
/// # let _ = r;
/// ```
#[derive(Debug, Clone)]
pub struct Response<R> {
    body: R,
    meta: Meta,
    codec: Option<CodecId>,
}

impl<R> Response<R> {
    /// A response with this body.
    pub fn new(body: R) -> Self {
        Response {
            body,
            meta: Meta::new(),
            codec: None,
        }
    }

    /// Adds a reply meta pair.
    pub fn with_meta(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.meta.add(key, value);
        self
    }

    /// Encodes the reply with this codec.
    pub fn with_codec(mut self, codec: CodecId) -> Self {
        self.codec = Some(codec);
        self
    }
}

/// What a call handler may return: `Result<R, Status>` or `Result<Response<R>, Status>` for
/// any body type `R` (serde types, [`Raw`](erpc_proto::codec::Raw), protobuf `Proto<T>`).
pub trait IntoReply {
    /// Encodes the answer with `codec` (or the codec the response names).
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply;
}

fn encoded<R: EncodeBody>(
    body: &R,
    codec: CodecId,
    codecs: &CodecRegistry,
) -> Result<Bytes, Status> {
    body.encode_body(codec, codecs)
        .map_err(|e| Status::with_cause(Code::INTERNAL_SERVER_ERROR, e.to_string()))
}

impl<R: EncodeBody> IntoReply for Result<R, Status> {
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply {
        match self.and_then(|r| encoded(&r, codec, codecs)) {
            Ok(b) => Reply::ok(b).with_codec(codec),
            Err(st) => Reply::error(st),
        }
    }
}

impl<R: EncodeBody> IntoReply for Result<Response<R>, Status> {
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply {
        match self {
            Ok(resp) => {
                let codec = resp.codec.unwrap_or(codec);
                match encoded(&resp.body, codec, codecs) {
                    Ok(b) => Reply::ok(b).with_codec(codec).with_meta(resp.meta),
                    Err(st) => Reply::error(st),
                }
            }
            Err(st) => Reply::error(st),
        }
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

pub(crate) fn call_fn<A, F, Fut>(f: F, codecs: CodecRegistry) -> CallFn
where
    A: DecodeBody + Send + 'static,
    F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoReply,
{
    Arc::new(move |ctx: CallCtx, msg: Message| -> BoxFuture<Reply> {
        let reply_codec = ctx.reply_codec;
        let args = match A::decode_body(msg.body_codec, msg.body, &codecs) {
            Ok(a) => a,
            Err(e) => {
                let st = Status::with_cause(Code::BAD_MESSAGE, e.to_string());
                return Box::pin(std::future::ready(Reply::error(st)));
            }
        };
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            Ok(fut) => fut,
            Err(p) => {
                let st = Status::with_cause(Code::INTERNAL_SERVER_ERROR, panic_text(&*p));
                return Box::pin(std::future::ready(Reply::error(st)));
            }
        };
        let codecs = codecs.clone();
        Box::pin(async move {
            match AssertUnwindSafe(fut).catch_unwind().await {
                Ok(out) => out.into_reply(reply_codec, &codecs),
                Err(p) => Reply::error(Status::with_cause(
                    Code::INTERNAL_SERVER_ERROR,
                    panic_text(&*p),
                )),
            }
        })
    })
}

pub(crate) fn push_fn<A, F, Fut>(f: F, codecs: CodecRegistry) -> PushFn
where
    A: DecodeBody + Send + 'static,
    F: Fn(PushCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    Arc::new(move |ctx: PushCtx, msg: Message| -> BoxFuture<()> {
        let sm = ctx.service_method.clone();
        let args = match A::decode_body(msg.body_codec, msg.body, &codecs) {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(service_method = %sm, error = %e, "push body could not be decoded; dropped");
                return Box::pin(std::future::ready(()));
            }
        };
        let fut = match std::panic::catch_unwind(AssertUnwindSafe(|| f(ctx, args))) {
            Ok(fut) => fut,
            Err(p) => {
                tracing::warn!(service_method = %sm, panic = %panic_text(&*p), "push handler panicked");
                return Box::pin(std::future::ready(()));
            }
        };
        Box::pin(async move {
            if let Err(p) = AssertUnwindSafe(fut).catch_unwind().await {
                tracing::warn!(service_method = %sm, panic = %panic_text(&*p), "push handler panicked");
            }
        })
    })
}
