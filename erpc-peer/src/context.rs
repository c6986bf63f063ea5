//! What handlers see: [`CallCtx`] and [`PushCtx`], one definition for every runtime adapter
//! (generic over the adapter's session handle, see [`SessionHandle`]).

use erpc_proto::{CodecId, Message, Meta, ServiceMethod};

use crate::call::SessionHandle;
use crate::session::Session;

/// The accessors [`CallCtx`] and [`PushCtx`] share; `$what` names the message in the docs.
macro_rules! message_accessors {
    ($what:literal) => {
        #[doc = concat!("The session the ", $what, " came on; push or call back through it.")]
        pub fn session(&self) -> &S {
            &self.session
        }

        #[doc = concat!("The ", $what, "'s seq.")]
        pub fn seq(&self) -> i32 {
            self.seq
        }

        /// The service method as received (including any `?query`).
        pub fn service_method(&self) -> &str {
            &self.service_method
        }

        #[doc = concat!("The ", $what, "'s meta.")]
        pub fn meta(&self) -> &Meta {
            &self.meta
        }

        /// The first value of a meta key, as text.
        pub fn peek_meta(&self, key: &str) -> Option<&str> {
            self.meta.peek_str(key)
        }

        #[doc = concat!("The codec of the ", $what, "'s body.")]
        pub fn body_codec(&self) -> CodecId {
            self.body_codec
        }

        /// The peer's address.
        pub fn remote_addr(&self) -> String {
            self.session.remote_addr()
        }
    };
}

/// What a call handler knows about its call: the header, the session (to push or call back
/// to the caller over the same connection) and the negotiated reply codec.
///
/// `S` is the session handle of the runtime adapter; the async adapters' [`Session`] unless
/// said otherwise.
#[derive(Clone, Debug)]
pub struct CallCtx<S = Session> {
    pub(crate) session: S,
    pub(crate) seq: i32,
    pub(crate) service_method: ServiceMethod,
    pub(crate) meta: Meta,
    pub(crate) body_codec: CodecId,
    pub(crate) reply_codec: CodecId,
    pub(crate) xfer: Vec<u8>,
}

impl<S: SessionHandle> CallCtx<S> {
    /// The context of the call `m` that came on `session`; runtime adapters make it.
    #[doc(hidden)]
    pub fn new(session: S, m: &Message, reply_codec: CodecId) -> Self {
        CallCtx {
            session,
            seq: m.seq,
            service_method: m.service_method.clone(),
            meta: m.meta.clone(),
            body_codec: m.body_codec,
            reply_codec,
            xfer: m.xfer_pipe.ids().to_vec(),
        }
    }

    message_accessors!("call");

    /// The same context with its session handle converted by `f` (how a runtime adapter
    /// with its own session type, erpc-runtime-blocking, hands the context to its handlers).
    #[doc(hidden)]
    pub fn map_session<T>(self, f: impl FnOnce(S) -> T) -> CallCtx<T> {
        CallCtx {
            session: f(self.session),
            seq: self.seq,
            service_method: self.service_method,
            meta: self.meta,
            body_codec: self.body_codec,
            reply_codec: self.reply_codec,
            xfer: self.xfer,
        }
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

    /// The caller's real IP: the `X-Real-IP` meta when a proxy set it, else the peer address.
    pub fn real_ip(&self) -> String {
        self.meta
            .peek_str("X-Real-IP")
            .map(str::to_owned)
            .unwrap_or_else(|| self.remote_addr())
    }
}

/// What a push handler knows about its push.
///
/// `S` is the session handle of the runtime adapter; the async adapters' [`Session`] unless
/// said otherwise.
#[derive(Clone, Debug)]
pub struct PushCtx<S = Session> {
    pub(crate) session: S,
    pub(crate) seq: i32,
    pub(crate) service_method: ServiceMethod,
    pub(crate) meta: Meta,
    pub(crate) body_codec: CodecId,
}

impl<S: SessionHandle> PushCtx<S> {
    /// The context of the push `m` that came on `session`; runtime adapters make it.
    #[doc(hidden)]
    pub fn new(session: S, m: &Message) -> Self {
        PushCtx {
            session,
            seq: m.seq,
            service_method: m.service_method.clone(),
            meta: m.meta.clone(),
            body_codec: m.body_codec,
        }
    }

    message_accessors!("push");

    /// The same context with its session handle converted by `f` (see
    /// [`CallCtx::map_session`]).
    #[doc(hidden)]
    pub fn map_session<T>(self, f: impl FnOnce(S) -> T) -> PushCtx<T> {
        PushCtx {
            session: f(self.session),
            seq: self.seq,
            service_method: self.service_method,
            meta: self.meta,
            body_codec: self.body_codec,
        }
    }
}
