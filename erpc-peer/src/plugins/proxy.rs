//! [`Proxy`]: Go eRPC's `plugin/proxy` — calls and pushes to service methods this peer does
//! not serve are forwarded to another peer, chosen per message from a [`Label`].
//!
//! What goes upstream: the same service method, the body bytes as they came, every meta pair,
//! plus `X-Real-IP: <the caller's address>` (host and port, as Go sets it) unless the caller
//! set `X-Real-IP` itself (then that value is kept: the caller is itself a proxy). What comes
//! back: the upstream's reply bytes, its meta (each key set on the reply, the last value
//! winning, as Go's `SetMeta`) and its status, except that codes 100–199 (the upstream could not
//! be reached: dial failed, connection closed, write failed) become `502 "Bad Gateway"` with
//! the cause kept, as in Go.
//!
//! One difference from Go, on purpose: the forwarded message keeps the caller's body codec
//! and the reply keeps the upstream's (Go relabels the body with the front's default codec,
//! so a protobuf body reaches the upstream labelled JSON).
//!
//! Backpressure: a forwarded call is an ordinary handler that awaits the upstream's reply,
//! so the number forwarded at once is bounded by the peer's handler limits
//! (`max_handlers`, `max_peer_handlers`); a forwarded push waits for room in the upstream
//! session's bounded command queue. Nothing is queued by the proxy itself.

use std::sync::Arc;

use erpc_proto::codec::{CodecRegistry, Raw};
use erpc_proto::session::{CallOptions, Reply};
use erpc_proto::{Code, CodecId, Message, MessageType, Meta, Status};
use futures_util::lock::Mutex;

use crate::builder::{PeerBuilder, Service};
use crate::context::{CallCtx, PushCtx};
use crate::handler::{BoxFuture, IntoReply};
use crate::peer::Peer;
use crate::runtime::Runtime;
use crate::session::Session;

/// The meta key that carries the original caller's address through proxies.
pub const REAL_IP_META_KEY: &str = "X-Real-IP";

/// What a [`Forwarder`] knows about the message it forwards (Go's `proxy.Label`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Label {
    /// The id of the session the message came on.
    pub session_id: String,
    /// The original caller: the `X-Real-IP` meta when a proxy before this one set it, else
    /// the address of the session's peer (`127.0.0.1:PORT`).
    pub real_ip: String,
    /// The service method as received.
    pub service_method: String,
}

/// Where a [`Proxy`] sends what it forwards. Implemented by [`Session`] (one session),
/// [`Upstream`] (one address, dialed on first use and redialed when gone) and by closures
/// through [`Proxy::route`]; implement it to choose the upstream from the [`Label`] (by
/// service method, by caller, by session).
pub trait Forwarder: Send + Sync + 'static {
    /// Sends `call` (a CALL message, body encoded) upstream and answers its REPLY, or the
    /// status of why there is none.
    fn call(&self, label: Label, call: Message) -> BoxFuture<Result<Message, Status>>;

    /// Sends `push` (a PUSH message) upstream; `Ok` once it is queued for the socket.
    fn push(&self, label: Label, push: Message) -> BoxFuture<Result<(), Status>>;
}

impl Forwarder for Session {
    fn call(&self, _: Label, call: Message) -> BoxFuture<Result<Message, Status>> {
        let s = self.clone();
        Box::pin(async move { s.call_message(call, CallOptions::default()).await })
    }

    fn push(&self, _: Label, push: Message) -> BoxFuture<Result<(), Status>> {
        let s = self.clone();
        Box::pin(async move { s.push_message(push).await })
    }
}

impl<F: Forwarder + ?Sized> Forwarder for Arc<F> {
    fn call(&self, label: Label, call: Message) -> BoxFuture<Result<Message, Status>> {
        (**self).call(label, call)
    }

    fn push(&self, label: Label, push: Message) -> BoxFuture<Result<(), Status>> {
        (**self).push(label, push)
    }
}

/// One upstream address: a session dialed by `peer` on first use, reused while it lives and
/// dialed again once it closed (what Go's proxy examples do). Concurrent messages wait for
/// one dial rather than each dialing. A failed dial answers 105 `Dial Failed` (502 to the
/// caller). Cheap to clone (clones share the session).
pub struct Upstream<R: Runtime> {
    inner: Arc<UpstreamInner<R>>,
}

struct UpstreamInner<R: Runtime> {
    peer: Peer<R>,
    addr: String,
    protocol: Option<Arc<dyn erpc_proto::proto::Protocol>>,
    session: Mutex<Option<Session>>,
}

impl<R: Runtime> Clone for Upstream<R> {
    fn clone(&self) -> Self {
        Upstream {
            inner: self.inner.clone(),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Upstream<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("addr", &self.inner.addr)
            .finish()
    }
}

impl<R: Runtime> Upstream<R> {
    /// The upstream at `addr`, dialed by `peer` (with the peer's protocol and settings).
    pub fn new(peer: Peer<R>, addr: impl Into<String>) -> Self {
        Upstream::build(peer, addr.into(), None)
    }

    /// The upstream at `addr`, dialed by `peer` speaking `protocol`, whatever the peer's
    /// default.
    pub fn with_protocol(
        peer: Peer<R>,
        addr: impl Into<String>,
        protocol: Arc<dyn erpc_proto::proto::Protocol>,
    ) -> Self {
        Upstream::build(peer, addr.into(), Some(protocol))
    }

    fn build(
        peer: Peer<R>,
        addr: String,
        protocol: Option<Arc<dyn erpc_proto::proto::Protocol>>,
    ) -> Self {
        Upstream {
            inner: Arc::new(UpstreamInner {
                peer,
                addr,
                protocol,
                session: Mutex::new(None),
            }),
        }
    }

    /// The upstream's address.
    pub fn addr(&self) -> &str {
        &self.inner.addr
    }

    /// The live session to the upstream, dialing it when there is none.
    pub async fn session(&self) -> Result<Session, Status> {
        let u = &self.inner;
        let mut slot = u.session.lock().await;
        if let Some(s) = slot.as_ref().filter(|s| !s.is_closed()) {
            return Ok(s.clone());
        }
        let s = match &u.protocol {
            Some(p) => u.peer.dial_with(&u.addr, p.clone()).await?,
            None => u.peer.dial(&u.addr).await?,
        };
        *slot = Some(s.clone());
        Ok(s)
    }
}

impl<R: Runtime> Forwarder for Upstream<R> {
    fn call(&self, _: Label, call: Message) -> BoxFuture<Result<Message, Status>> {
        let this = self.clone();
        Box::pin(async move {
            let s = this.session().await?;
            s.call_message(call, CallOptions::default()).await
        })
    }

    fn push(&self, _: Label, push: Message) -> BoxFuture<Result<(), Status>> {
        let this = self.clone();
        Box::pin(async move { this.session().await?.push_message(push).await })
    }
}

/// A [`Forwarder`] that picks another per message (see [`Proxy::route`]).
struct Route<F>(F);

impl<F> Forwarder for Route<F>
where
    F: Fn(&Label) -> Option<Arc<dyn Forwarder>> + Send + Sync + 'static,
{
    fn call(&self, label: Label, call: Message) -> BoxFuture<Result<Message, Status>> {
        match (self.0)(&label) {
            Some(f) => f.call(label, call),
            None => Box::pin(std::future::ready(Err(Status::from_code(Code::NOT_FOUND)))),
        }
    }

    fn push(&self, label: Label, push: Message) -> BoxFuture<Result<(), Status>> {
        match (self.0)(&label) {
            Some(f) => f.push(label, push),
            None => Box::pin(std::future::ready(Err(Status::from_code(Code::NOT_FOUND)))),
        }
    }
}

/// Go eRPC's `plugin/proxy`: registers the unknown-call and unknown-push handlers of a peer
/// so that what it does not serve goes to a [`Forwarder`]. Register it with
/// [`PeerBuilder::service`]:
///
/// ```ignore
/// let upstream = Upstream::new(client_peer, "10.0.0.2:9090");
/// let peer = builder.service(Proxy::new(upstream)).build()?;
/// ```
///
///
///
/// What goes upstream: the same service method, the body bytes as they came, every meta pair,
/// plus `X-Real-IP: <the caller's address>` (host and port, as Go sets it) unless the caller
/// set `X-Real-IP` itself (then that value is kept: the caller is itself a proxy). What comes
/// back: the upstream's reply bytes, its meta (each key set on the reply, the last value
/// winning, as Go's `SetMeta`) and its status, except that codes 100–199 (the upstream could not
/// be reached: dial failed, connection closed, write failed) become `502 "Bad Gateway"` with
/// the cause kept, as in Go.
///
/// One difference from Go, on purpose: the forwarded message keeps the caller's body codec
/// and the reply keeps the upstream's (Go relabels the body with the front's default codec,
/// so a protobuf body reaches the upstream labelled JSON).
///
/// Backpressure: a forwarded call is an ordinary handler that awaits the upstream's reply,
/// so the number forwarded at once is bounded by the peer's handler limits
/// (`max_handlers`, `max_peer_handlers`); a forwarded push waits for room in the upstream
/// session's bounded command queue. Nothing is queued by the proxy itself.
pub struct Proxy {
    forwarder: Arc<dyn Forwarder>,
    calls: bool,
    pushes: bool,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("calls", &self.calls)
            .field("pushes", &self.pushes)
            .finish()
    }
}

impl Proxy {
    /// Forwards unknown calls and pushes to `forwarder` (Go's `NewPlugin`).
    pub fn new(forwarder: impl Forwarder) -> Self {
        Proxy {
            forwarder: Arc::new(forwarder),
            calls: true,
            pushes: true,
        }
    }

    /// Forwards each message to the forwarder `choose` picks from its [`Label`] (Go's
    /// `NewPlugin(func(*Label) Forwarder)`); `None` answers a call `404 "Not Found"` and
    /// drops a push.
    pub fn route<F>(choose: F) -> Self
    where
        F: Fn(&Label) -> Option<Arc<dyn Forwarder>> + Send + Sync + 'static,
    {
        Proxy::new(Route(choose))
    }

    /// Only calls are forwarded (Go's `NewCallPlugin`); unknown pushes are dropped as
    /// without a proxy.
    pub fn calls_only(mut self) -> Self {
        self.calls = true;
        self.pushes = false;
        self
    }

    /// Only pushes are forwarded (Go's `NewPushPlugin`); unknown calls get 404 as without a
    /// proxy.
    pub fn pushes_only(mut self) -> Self {
        self.calls = false;
        self.pushes = true;
        self
    }

    /// Forwards one call: what [`Proxy`] registers as the unknown-call handler, public so
    /// that an application's own unknown-call handler can forward some calls and answer
    /// others.
    pub fn forward_call(
        &self,
        ctx: &CallCtx,
        body: Raw,
    ) -> impl std::future::Future<Output = ProxyReply> + Send + 'static {
        let label = label(
            ctx.session().id(),
            ctx.meta(),
            ctx.service_method(),
            ctx.remote_addr(),
        );
        let msg = forwarded(
            MessageType::CALL,
            &label,
            ctx.meta(),
            ctx.body_codec(),
            body,
        );
        let fut = self.forwarder.call(label, msg);
        async move {
            match fut.await {
                Ok(reply) => ProxyReply::from_upstream(reply),
                Err(st) => ProxyReply {
                    result: Err(gateway(st)),
                    meta: Meta::new(),
                    codec: None,
                },
            }
        }
    }

    /// Forwards one push (see [`forward_call`](Self::forward_call)); the status of a push
    /// that could not be forwarded, with codes 100–199 made 502 as for calls.
    pub fn forward_push(
        &self,
        ctx: &PushCtx,
        body: Raw,
    ) -> impl std::future::Future<Output = Result<(), Status>> + Send + 'static {
        let label = label(
            ctx.session().id(),
            ctx.meta(),
            ctx.service_method(),
            ctx.remote_addr(),
        );
        let msg = forwarded(
            MessageType::PUSH,
            &label,
            ctx.meta(),
            ctx.body_codec(),
            body,
        );
        let fut = self.forwarder.push(label, msg);
        async move { fut.await.map_err(gateway) }
    }
}

impl Service for Proxy {
    fn register<R: Runtime>(self: Arc<Self>, mut builder: PeerBuilder<R>) -> PeerBuilder<R> {
        if self.calls {
            let p = self.clone();
            builder =
                builder.unknown_call(move |ctx: CallCtx, body: Raw| p.forward_call(&ctx, body));
        }
        if self.pushes {
            let p = self;
            builder = builder.unknown_push(move |ctx: PushCtx, body: Raw| {
                let sm = ctx.service_method().to_owned();
                let fut = p.forward_push(&ctx, body);
                async move {
                    if let Err(st) = fut.await {
                        tracing::warn!(service_method = %sm, status = %st, "proxy: push not forwarded");
                    }
                }
            });
        }
        builder
    }
}

/// The label of a message that came on the session `session_id` from `remote`.
fn label(session_id: String, meta: &Meta, service_method: &str, remote: String) -> Label {
    let real_ip = match meta.peek_str(REAL_IP_META_KEY) {
        Some(ip) if !ip.is_empty() => ip.to_owned(),
        _ => remote,
    };
    Label {
        session_id,
        real_ip,
        service_method: service_method.to_owned(),
    }
}

/// The message sent upstream: same service method, meta (plus `X-Real-IP` when absent),
/// codec and body bytes; no transfer filters (the upstream session chooses its own).
fn forwarded(mtype: MessageType, label: &Label, meta: &Meta, codec: CodecId, body: Raw) -> Message {
    let mut msg = Message::new(mtype, 0, label.service_method.as_str());
    msg.meta = meta.clone();
    if meta.peek(REAL_IP_META_KEY).is_none_or(<[u8]>::is_empty) {
        msg.meta.remove(REAL_IP_META_KEY);
        msg.meta.add(REAL_IP_META_KEY, &label.real_ip);
    }
    msg.body_codec = codec;
    msg.body = body.0;
    msg
}

/// Go's rule: an upstream failure below the application (codes 100–199: dial, connection,
/// write) is `502 "Bad Gateway"` to the caller, with the cause kept.
fn gateway(st: Status) -> Status {
    let code = st.code().0;
    if !st.is_ok() && (100..200).contains(&code) {
        Status::new(
            Code::BAD_GATEWAY,
            Code::BAD_GATEWAY.text(),
            st.cause().map(str::to_owned),
        )
    } else {
        st
    }
}

/// A forwarded call's answer: the upstream's bytes, meta and codec, or its status (see
/// [`Proxy`]).
#[derive(Debug)]
pub struct ProxyReply {
    result: Result<bytes::Bytes, Status>,
    meta: Meta,
    codec: Option<CodecId>,
}

impl ProxyReply {
    fn from_upstream(reply: Message) -> Self {
        let mut meta = Meta::new();
        for (k, v) in reply.meta.iter() {
            meta.set(k, v);
        }
        let result = if reply.status.is_ok() {
            Ok(reply.body)
        } else {
            Err(gateway(reply.status))
        };
        ProxyReply {
            result,
            meta,
            codec: (reply.body_codec.0 != 0).then_some(reply.body_codec),
        }
    }

    /// The status to the caller (`OK` when the upstream answered OK).
    pub fn status(&self) -> Status {
        match &self.result {
            Ok(_) => Status::OK,
            Err(st) => st.clone(),
        }
    }

    /// The reply meta copied from the upstream.
    pub fn meta(&self) -> &Meta {
        &self.meta
    }
}

impl IntoReply for ProxyReply {
    fn into_reply(self, _codec: CodecId, _codecs: &CodecRegistry) -> Reply {
        let mut reply = match self.result {
            Ok(body) => Reply::ok(body),
            Err(st) => Reply::error(st),
        };
        reply.meta = self.meta;
        reply.body_codec = self.codec;
        reply
    }
}

#[cfg(test)]
mod tests;
