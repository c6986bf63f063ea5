//! Handlers: what they may answer ([`Response`], [`IntoReply`]) and how the async adapters
//! run them; the decoding of arguments and the catching of panics, which every adapter shares.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::Reply;
use erpc_proto::{Code, CodecId, Message, Meta, Status};

use crate::context::{CallCtx, PushCtx};

mod run;

use run::{CallRun, PushRun};

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub(crate) type CallFn = Arc<dyn Fn(CallCtx, Message) -> BoxFuture<Reply> + Send + Sync>;
pub(crate) type PushFn = Arc<dyn Fn(PushCtx, Message) -> BoxFuture<()> + Send + Sync>;
pub(crate) type AuthCheckFn = Arc<dyn Fn(Message) -> BoxFuture<Reply> + Send + Sync>;

/// A registered handler.
#[derive(Clone)]
pub(crate) enum Handler {
    Call(CallFn),
    Push(PushFn),
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

/// What a panic said, for the 500 reply or the log line.
fn panic_text(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "handler panicked".to_owned()
    }
}

/// The reply of a call handler that panicked: 500 with the panic's text.
pub fn panic_reply(p: &(dyn Any + Send)) -> Reply {
    Reply::error(Status::with_cause(
        Code::INTERNAL_SERVER_ERROR,
        panic_text(p),
    ))
}

/// Logs a push handler's panic.
pub fn log_push_panic(service_method: &str, p: &(dyn Any + Send)) {
    tracing::warn!(service_method = %service_method, panic = %panic_text(p), "push handler panicked");
}

/// A call's arguments, or the reply that refuses them (400 when the body does not decode).
pub fn call_args<A: DecodeBody>(msg: Message, codecs: &CodecRegistry) -> Result<A, Reply> {
    A::decode_body(msg.body_codec, msg.body, codecs)
        .map_err(|e| Reply::error(Status::with_cause(Code::BAD_MESSAGE, e.to_string())))
}

/// A push's arguments; `None`, logged, when the body does not decode (the push is dropped).
pub fn push_args<A: DecodeBody>(msg: Message, codecs: &CodecRegistry) -> Option<A> {
    match A::decode_body(msg.body_codec, msg.body, codecs) {
        Ok(a) => Some(a),
        Err(e) => {
            tracing::warn!(service_method = %msg.service_method, error = %e, "push body could not be decoded; dropped");
            None
        }
    }
}

pub(crate) fn call_fn<A, F, Fut>(f: F, codecs: CodecRegistry) -> CallFn
where
    A: DecodeBody + Send + 'static,
    F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: IntoReply,
{
    // The function and the codecs travel with each handler run (one `Arc` clone): the
    // arguments are decoded inside the run, so that decoding runs wherever the handler runs
    // (its own task, a worker thread) instead of on the connection's task.
    let shared = Arc::new((f, codecs));
    Arc::new(move |ctx: CallCtx, msg: Message| -> BoxFuture<Reply> {
        // The handler's span (feature `opentelemetry`; none otherwise).
        let span = crate::trace::handler_span(&msg, false);
        let run = CallRun::<F, A, Fut>::new(Arc::clone(&shared), ctx, msg);
        Box::pin(crate::trace::instrumented(run, span))
    })
}

pub(crate) fn push_fn<A, F, Fut>(f: F, codecs: CodecRegistry) -> PushFn
where
    A: DecodeBody + Send + 'static,
    F: Fn(PushCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    // As in `call_fn`: decoding runs inside the run.
    let shared = Arc::new((f, codecs));
    Arc::new(move |ctx: PushCtx, msg: Message| -> BoxFuture<()> {
        let span = crate::trace::handler_span(&msg, true);
        let run = PushRun::<F, A, Fut>::new(Arc::clone(&shared), ctx, msg);
        Box::pin(crate::trace::instrumented(run, span))
    })
}
