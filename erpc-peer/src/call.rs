//! One outgoing call: [`CallBuilder`] (its options) and [`CallReply`], written once for every
//! runtime adapter against [`SessionHandle`], the little they need of a session.

use std::time::Duration;

use erpc_proto::codec::{CodecRegistry, DecodeBody, EncodeBody};
use erpc_proto::session::CallOptions;
use erpc_proto::{Code, CodecId, Message, MessageType, Meta, Status, XferPipe};

use crate::session::Session;

/// A runtime adapter's handle on one session, as the shared [`CallBuilder`],
/// [`CallCtx`](crate::CallCtx) and [`PushCtx`](crate::PushCtx) use it. Implemented by the
/// async adapters' [`Session`] and by `erpc_runtime_blocking::Session`.
pub trait SessionHandle {
    /// What [`CallBuilder::send`] returns: a future of the reply in the async adapters
    /// ([`CallFuture`](crate::CallFuture)), the reply itself in the blocking one.
    type Reply<'a, R>
    where
        Self: 'a;

    /// The peer's address.
    fn remote_addr(&self) -> String;

    /// The body codecs the session encodes and decodes with.
    fn codecs(&self) -> &CodecRegistry;

    /// The codec of outgoing bodies that name none (the peer's default body codec).
    fn default_codec(&self) -> CodecId;

    /// Sends `call` (an encoded CALL message, or why it could not be encoded) and answers
    /// the way [`Reply`](SessionHandle::Reply) says, with the reply body decoded into `R`.
    fn send_call<'a, R: DecodeBody>(
        &'a self,
        call: Result<Message, Status>,
        opts: CallOptions,
    ) -> Self::Reply<'a, R>;
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

/// Decodes a REPLY's body into `R` (a body that does not decode is 400 `Bad Message`).
pub fn decode_reply<R: DecodeBody>(
    reply: Message,
    codecs: &CodecRegistry,
) -> Result<CallReply<R>, Status> {
    let body = R::decode_body(reply.body_codec, reply.body, codecs)
        .map_err(|e| Status::with_cause(Code::BAD_MESSAGE, e.to_string()))?;
    Ok(CallReply {
        body,
        meta: reply.meta,
        codec: reply.body_codec,
    })
}

/// A PUSH of `args` to `service_method`, encoded with the codec `args` needs
/// ([`EncodeBody::preferred_codec`]) or else the session's default codec.
pub fn encode_push<S: SessionHandle, A: EncodeBody + ?Sized>(
    session: &S,
    service_method: &str,
    args: &A,
) -> Result<Message, Status> {
    let mut msg = Message::new(MessageType::PUSH, 0, service_method);
    msg.body_codec = args
        .preferred_codec()
        .unwrap_or_else(|| session.default_codec());
    msg.body = args
        .encode_body(msg.body_codec, session.codecs())
        .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
    crate::trace::inject(&mut msg.meta);
    Ok(msg)
}

/// Options of one call; finish with [`send`](CallBuilder::send).
///
/// `S` is the session handle of the runtime adapter; the async adapters' [`Session`] unless
/// said otherwise.
#[derive(Debug)]
pub struct CallBuilder<'a, S = Session> {
    session: &'a S,
    msg: Message,
    opts: CallOptions,
}

impl<'a, S: SessionHandle> CallBuilder<'a, S> {
    /// A call to `service_method` on `session` (what `session.call_with(service_method)`
    /// returns).
    pub fn new(session: &'a S, service_method: &str) -> Self {
        CallBuilder {
            session,
            msg: Message::new(MessageType::CALL, 0, service_method),
            opts: CallOptions::default(),
        }
    }

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

    /// Encodes `args`, sends the call and decodes the reply into a [`CallReply`]: through a
    /// future to `.await` on the async adapters' sessions, blocking until the reply on
    /// `erpc_runtime_blocking`'s. A body that cannot be encoded fails with 104 `Write
    /// Failed`, a reply body that does not decode with 400 `Bad Message`.
    pub fn send<A, R>(mut self, args: &A) -> S::Reply<'a, R>
    where
        A: EncodeBody + ?Sized,
        R: DecodeBody,
    {
        let session = self.session;
        if self.msg.body_codec.0 == 0 {
            self.msg.body_codec = args
                .preferred_codec()
                .unwrap_or_else(|| session.default_codec());
        }
        let call = match args.encode_body(self.msg.body_codec, session.codecs()) {
            Ok(body) => {
                self.msg.body = body;
                crate::trace::inject(&mut self.msg.meta);
                Ok(self.msg)
            }
            Err(e) => Err(Status::with_cause(Code::WRITE_FAILED, e.to_string())),
        };
        session.send_call(call, self.opts)
    }
}
