//! [`PeerBuilder`]: a peer's routes, plugins and settings; [`SubRoute`], [`Service`],
//! [`BuildError`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use erpc_proto::codec::{CodecRegistry, DecodeBody, Raw};
use erpc_proto::plugin::Plugin;
use erpc_proto::proto::Protocol;
use erpc_proto::router::RouteKind;
use erpc_proto::session::{HeartbeatPing, Reply};
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{CodecId, Message, Status};

use crate::config::PeerConfig;
use crate::conn::stats::HandlerSlots;
use crate::conn::{Limits, PeerCore};
use crate::context::{CallCtx, PushCtx};
use crate::handler::{call_fn, push_fn, AuthCheckFn, Handler, IntoReply};
use crate::peer::Peer;
use crate::runtime::Runtime;
use crate::setup::{post_new_peer, BuilderCore};
use crate::state::Shared;

/// Why a peer could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// A route could not be registered (conflict, empty name, duplicate plugin).
    #[error("route {route:?}: {error}")]
    Route {
        /// The route.
        route: String,
        /// What went wrong.
        error: erpc_proto::router::RouteError,
    },
    /// The default codec name is not registered.
    #[error("unknown default body codec {0:?}")]
    UnknownCodec(String),
    /// A plugin's build-time hook (`pre_new_peer`, `post_reg`, `post_new_peer`) refused.
    #[error("plugin {plugin}: {status}")]
    Plugin {
        /// The plugin's name.
        plugin: String,
        /// What it answered.
        status: Status,
    },
    /// Two plugins have the same name.
    #[error("plugins: {0}")]
    PluginNames(#[from] erpc_proto::plugin::PluginError),
    /// The TLS server name to check the server's certificate against is not a DNS name or an
    /// IP address.
    #[error("invalid TLS server name {name:?}: {reason}")]
    TlsServerName {
        /// The name given.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
}

impl BuildError {
    pub(crate) fn plugin(p: &dyn Plugin, status: Status) -> Self {
        BuildError::Plugin {
            plugin: p.name().to_owned(),
            status,
        }
    }
}

/// A type whose methods are handlers, registered all at once with
/// [`PeerBuilder::service`]. Implemented by `#[erpc_macros::service]` (re-exported by the
/// runtime crates as `service`), which names each route with the peer's mapper from the type
/// name and the method name in Go's spelling.
pub trait Service: Send + Sync + 'static {
    /// Registers the handlers on `builder`.
    fn register<R: Runtime>(self: Arc<Self>, builder: PeerBuilder<R>) -> PeerBuilder<R>;
}

/// Routes, plugins and settings of a [`Peer`].
pub struct PeerBuilder<R: Runtime> {
    rt: R,
    core: BuilderCore<Handler>,
    auth_checker: Option<AuthCheckFn>,
    early: crate::early::EarlyHooks,
    #[cfg(feature = "tls")]
    tls: crate::tls::TlsSettings,
    #[cfg(feature = "quic")]
    quic: crate::quic::QuicConfig,
    #[cfg(feature = "kcp")]
    kcp: crate::kcp::KcpConfig,
}

impl<R: Runtime> std::fmt::Debug for PeerBuilder<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerBuilder")
            .field("config", self.core.config())
            .finish()
    }
}

impl<R: Runtime> PeerBuilder<R> {
    /// A builder on runtime `rt` with `config`.
    pub fn new(rt: R, config: PeerConfig) -> Self {
        PeerBuilder {
            rt,
            core: BuilderCore::new(config),
            auth_checker: None,
            early: Default::default(),
            #[cfg(feature = "tls")]
            tls: Default::default(),
            #[cfg(feature = "quic")]
            quic: Default::default(),
            #[cfg(feature = "kcp")]
            kcp: Default::default(),
        }
    }

    /// Names this peer in its metrics (the `peer` label; default `erpc`), with the `metrics`
    /// feature. Install the metrics recorder before [`build`](Self::build): the per-route
    /// handles are registered then. The metrics and their labels are listed in the crate
    /// docs (section "Metrics").
    pub fn metrics_name(mut self, name: &str) -> Self {
        self.core.metrics_name(name);
        self
    }

    /// Registers a call handler at exactly `service_method`. The argument type decides how
    /// the body is read (serde types with the message's codec, `Raw` bytes, `Proto<T>`); the
    /// handler returns `Result<R, Status>` or `Result<Response<R>, Status>`.
    pub fn call<A, F, Fut>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoReply,
    {
        let h = Handler::Call(call_fn(handler, self.core.codecs.clone()));
        self.core.add(RouteKind::Call, service_method, h);
        self
    }

    /// Registers a call handler whose argument is bound and validated first (Go's binder
    /// plugin, feature `binder`): the argument type derives [`Bind`](macro@crate::Bind); its
    /// meta and swap fields are filled from the call's meta and the session's data, then its
    /// rules are checked, and the first failure answers Go's status (`400 "Invalid
    /// Parameter"` with `service_method` as the handler in the cause) without calling
    /// `handler`. See [`binder`](crate::binder).
    #[cfg(feature = "binder")]
    pub fn call_bound<A, F, Fut>(self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + crate::binder::Bind + Send + 'static,
        F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoReply + Send,
    {
        self.call(
            service_method,
            crate::binder::bound(service_method, handler),
        )
    }

    /// Registers a `tower::Service` as the call handler at exactly `service_method` (feature
    /// `tower`), so that tower's layers wrap it: each call waits until the service is ready,
    /// then calls a clone of it with the context and the decoded arguments. See
    /// [`tower`](crate::tower) for how its errors are answered.
    #[cfg(feature = "tower")]
    pub fn call_service<A, S>(self, service_method: &str, service: S) -> Self
    where
        A: DecodeBody + Send + 'static,
        S: tower_service::Service<crate::tower::HandlerRequest<A>> + Clone + Send + Sync + 'static,
        S::Response: erpc_proto::codec::EncodeBody + Send,
        S::Error: Into<crate::tower::BoxError>,
        S::Future: Send,
    {
        self.call(service_method, move |ctx: CallCtx, args: A| {
            crate::tower::serve(service.clone(), crate::tower::HandlerRequest { ctx, args })
        })
    }

    /// Registers a push handler at exactly `service_method`.
    pub fn push<A, F, Fut>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(PushCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h = Handler::Push(push_fn(handler, self.core.codecs.clone()));
        self.core.add(RouteKind::Push, service_method, h);
        self
    }

    /// A sub-route (Go's `SubRoute`): handlers registered through it get routes under
    /// `prefix` (mapped like Go: `"math"` → `/math/...` with the HTTP mapper) and `plugins`,
    /// which run for those routes after the global plugins. Finish with
    /// [`SubRoute::done`].
    ///
    /// ```ignore
    /// let builder = builder
    ///     .sub_route("math", vec![Arc::new(MyAuditPlugin)])
    ///     .call("Add", add) // /math/add
    ///     .done();
    /// ```
    pub fn sub_route(self, prefix: &str, plugins: Vec<Arc<dyn Plugin>>) -> SubRoute<R> {
        SubRoute {
            prefix: prefix.to_owned(),
            plugins,
            builder: self,
        }
    }

    /// Registers every handler method of `service` (see [`Service`]).
    pub fn service<S: Service>(self, service: S) -> Self {
        Arc::new(service).register(self)
    }

    /// The route the peer's mapper gives `name` under `prefix` (Go's registration by type
    /// and method name: `route("Math", "Add")` is `/math/add` with the HTTP mapper).
    pub fn route(&self, prefix: &str, name: &str) -> String {
        self.core.route(prefix, name)
    }

    /// Uses the RPC-style mapper (`Hello.Say`) for [`route`](PeerBuilder::route) instead of
    /// the HTTP style (`/hello/say`).
    pub fn rpc_mapper(mut self) -> Self {
        self.core.rpc_mapper();
        self
    }

    /// The fallback for calls to unregistered service methods; it receives the raw body.
    pub fn unknown_call<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(CallCtx, Raw) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoReply,
    {
        let h = Handler::Call(call_fn(handler, self.core.codecs.clone()));
        self.core.unknown_call(h);
        self
    }

    /// The fallback for pushes to unregistered service methods.
    pub fn unknown_push<F, Fut>(mut self, handler: F) -> Self
    where
        F: Fn(PushCtx, Raw) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let h = Handler::Push(push_fn(handler, self.core.codecs.clone()));
        self.core.unknown_push(h);
        self
    }

    /// Adds a global plugin.
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.core.plugin(plugin);
        self
    }

    /// Replaces the body codecs (default: every built-in codec).
    pub fn codecs(mut self, codecs: CodecRegistry) -> Self {
        self.core.codecs = codecs;
        self
    }

    /// Replaces the transfer filters (default: gzip `g`, md5 `m`).
    pub fn xfer_filters(mut self, xfer: XferRegistry) -> Self {
        self.core.xfer = xfer;
        self
    }

    /// A wire protocol of your own for every listener and dial that does not name one; it
    /// takes the place of [`PeerConfig::protocol`](crate::PeerConfig::protocol), which names
    /// the built-in ones (set that instead for those). [`Peer::protocol`](crate::Peer::protocol)
    /// says which one a peer uses.
    pub fn protocol(mut self, protocol: impl Protocol) -> Self {
        self.core.protocol = Some(Arc::new(protocol));
        self
    }

    /// Dialed sessions authenticate first with this token (Go's `auth-bearer`: an
    /// AUTH_CALL whose body is `info` encoded by `codec`).
    pub fn auth_bearer(mut self, codec: CodecId, info: impl Into<Bytes>) -> Self {
        self.core.auth_bearer(codec, info.into());
        self
    }

    /// An early exchange on every connection this peer dials, before its session opens
    /// (Go's `PreSend`/`PreReceive` in `PostDial`; see [`crate::early`]): an `Err` fails the
    /// dial with that status. Runs after TLS and the `post_dial` plugins, before auth.
    ///
    /// ```
    /// # use erpc_peer::{early::EarlyConn, erpc_proto::MessageType, Message};
    /// # fn demo<R: erpc_peer::Runtime>(b: erpc_peer::PeerBuilder<R>) -> erpc_peer::PeerBuilder<R> {
    /// b.early_dial(|conn: &mut EarlyConn| {
    ///     Box::pin(async move {
    ///         let mut ping = Message::new(MessageType::CALL, 1, "/early/ping");
    ///         ping.body = r#"{"author":"henrylee2cn"}"#.into();
    ///         conn.send(&ping).await?;
    ///         let pong = conn.receive().await?;
    ///         if pong.status.is_ok() { Ok(()) } else { Err(pong.status) }
    ///     })
    /// })
    /// # }
    /// ```
    pub fn early_dial<F>(mut self, exchange: F) -> Self
    where
        F: for<'a> Fn(&'a mut crate::early::EarlyConn) -> crate::early::EarlyFuture<'a>
            + Send
            + Sync
            + 'static,
    {
        self.early.dial = Some(Arc::new(exchange));
        self
    }

    /// An early exchange on every connection this peer accepts, before its session opens
    /// (Go's `PreReceive`/`PreSend` in `PostAccept`; see [`crate::early`]): an `Err` closes
    /// the connection. Runs after TLS and the `post_accept` plugins, before auth.
    pub fn early_accept<F>(mut self, exchange: F) -> Self
    where
        F: for<'a> Fn(&'a mut crate::early::EarlyConn) -> crate::early::EarlyFuture<'a>
            + Send
            + Sync
            + 'static,
    {
        self.early.accept = Some(Arc::new(exchange));
        self
    }

    /// Accepted sessions must authenticate first (Go's `auth-checker`): `check` gets the
    /// AUTH_CALL and answers `Ok(body)` to admit (e.g. `"pass"`) or `Err(status)` to refuse.
    pub fn auth_checker<F, Fut>(mut self, reply_codec: CodecId, check: F) -> Self
    where
        F: Fn(Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Bytes, Status>> + Send + 'static,
    {
        let f: AuthCheckFn = Arc::new(move |m| {
            let fut = check(m);
            Box::pin(async move {
                match fut.await {
                    Ok(b) => Reply::ok(b).with_codec(reply_codec),
                    Err(st) => Reply::error(st).with_codec(reply_codec),
                }
            })
        });
        self.auth_checker = Some(f);
        self.core.auth_reply_codec = Some(reply_codec);
        self
    }

    /// Sends heartbeat pings on idle sessions (Go's `heart-ping`).
    pub fn heartbeat_ping(mut self, ping: HeartbeatPing) -> Self {
        self.core.heartbeat_ping = Some(ping);
        self
    }

    /// Answers heartbeats and closes sessions whose pinger went silent (Go's `heart-pong`).
    pub fn heartbeat_pong(mut self) -> Self {
        self.core.heartbeat_pong = true;
        self
    }

    /// The KCP parameters of this peer's sessions on the `kcp` network, dialed and accepted
    /// (see [`KcpConfig`](crate::kcp::KcpConfig)). The default is kcp-go's, which is what Go
    /// eRPC's `kcp` network uses and cannot change: keep it to talk to Go peers (their
    /// 32-segment windows set the pace anyway). Between erpc-rs peers that both set it, larger
    /// windows and `nodelay` move large bodies many times faster; the FEC layer and the MTU
    /// must be the same on both sides.
    ///
    /// ```
    /// # fn demo<R: erpc_peer::Runtime>(b: erpc_peer::PeerBuilder<R>) -> erpc_peer::PeerBuilder<R> {
    /// let mut kcp = erpc_peer::kcp::KcpConfig::default();
    /// kcp.send_window = 256;
    /// kcp.recv_window = 256;
    /// kcp.nodelay = true;
    /// kcp.interval_ms = 10;
    /// b.kcp(kcp)
    /// # }
    /// ```
    #[cfg(feature = "kcp")]
    pub fn kcp(mut self, cfg: crate::kcp::KcpConfig) -> Self {
        self.kcp = cfg;
        self
    }

    /// The settings of the `quic` network (ALPN, keep-alive, idle timeout, version); see
    /// [`QuicConfig`](crate::quic::QuicConfig) for the defaults. QUIC takes its certificates
    /// from [`tls_server`](Self::tls_server) and [`tls_client`](Self::tls_client).
    #[cfg(feature = "quic")]
    pub fn quic(mut self, cfg: crate::quic::QuicConfig) -> Self {
        self.quic = cfg;
        self
    }

    /// TLS for accepted connections.
    #[cfg(feature = "tls")]
    pub fn tls_server(mut self, cfg: Arc<futures_rustls::rustls::ServerConfig>) -> Self {
        self.tls.server = Some(futures_rustls::TlsAcceptor::from(cfg.clone()));
        self.tls.server_config = Some(cfg);
        self
    }

    /// TLS for dialed connections; `server_name` is checked against the certificate.
    #[cfg(feature = "tls")]
    pub fn tls_client(
        mut self,
        cfg: Arc<futures_rustls::rustls::ClientConfig>,
        server_name: &str,
    ) -> Self {
        if let Some(name) = self.core.tls_server_name(server_name) {
            self.tls.client = Some((futures_rustls::TlsConnector::from(cfg.clone()), name));
            self.tls.client_config = Some(cfg);
        }
        self
    }

    /// Builds the peer: runs `pre_new_peer`, resolves the default codec, runs `post_reg` for
    /// every route and `post_new_peer`.
    pub fn build(self) -> Result<Peer<R>, BuildError> {
        let parts = self.core.build()?;
        let limits = Limits::from_config(&parts.config);
        let slots = HandlerSlots::new(parts.config.peer_handlers_limit());
        let peer = Peer::from_shared(Arc::new(Shared {
            rt: self.rt,
            config: parts.config,
            core: Arc::new(PeerCore {
                handlers: parts.handlers,
                auth_checker: self.auth_checker,
                log: parts.log,
                limits,
                slots,
                counters: Default::default(),
                metrics: parts.metrics,
            }),
            session_cfg: parts.session_cfg,
            session_cfgs: Default::default(),
            plugins: parts.plugins,
            early: self.early,
            socket: parts.socket,
            #[cfg(feature = "tls")]
            tls: self.tls,
            #[cfg(feature = "quic")]
            quic: self.quic,
            #[cfg(feature = "kcp")]
            kcp: self.kcp,
            sessions: Mutex::new(HashMap::new()),
            live: AtomicUsize::new(0),
            live_event: event_listener::Event::new(),
            closing: AtomicBool::new(false),
            close_event: event_listener::Event::new(),
        }));
        post_new_peer(&peer.shared.plugins)?;
        Ok(peer)
    }
}

/// Handlers registered under a prefix with their own plugins; see [`PeerBuilder::sub_route`].
pub struct SubRoute<R: Runtime> {
    builder: PeerBuilder<R>,
    prefix: String,
    plugins: Vec<Arc<dyn Plugin>>,
}

impl<R: Runtime> std::fmt::Debug for SubRoute<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubRoute")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl<R: Runtime> SubRoute<R> {
    /// Registers a call handler at the mapped route of `name` under the prefix.
    pub fn call<A, F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoReply,
    {
        let route = self.builder.route(&self.prefix, name);
        let h = Handler::Call(call_fn(handler, self.builder.core.codecs.clone()));
        let plugins = self.plugins.clone();
        self.builder
            .core
            .add_with_plugins(RouteKind::Call, &route, plugins, h);
        self
    }

    /// Registers a call handler at the mapped route of `name` under the prefix, its argument
    /// bound and validated first (see [`PeerBuilder::call_bound`]).
    #[cfg(feature = "binder")]
    pub fn call_bound<A, F, Fut>(self, name: &str, handler: F) -> Self
    where
        A: DecodeBody + crate::binder::Bind + Send + 'static,
        F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: IntoReply + Send,
    {
        let route = self.builder.route(&self.prefix, name);
        let plugins = self.plugins.clone();
        let mut s = self;
        let h = Handler::Call(call_fn(
            crate::binder::bound(route.clone(), handler),
            s.builder.core.codecs.clone(),
        ));
        s.builder
            .core
            .add_with_plugins(RouteKind::Call, &route, plugins, h);
        s
    }

    /// Registers a push handler at the mapped route of `name` under the prefix.
    pub fn push<A, F, Fut>(mut self, name: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(PushCtx, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let route = self.builder.route(&self.prefix, name);
        let h = Handler::Push(push_fn(handler, self.builder.core.codecs.clone()));
        let plugins = self.plugins.clone();
        self.builder
            .core
            .add_with_plugins(RouteKind::Push, &route, plugins, h);
        self
    }

    /// Back to the peer builder.
    pub fn done(self) -> PeerBuilder<R> {
        self.builder
    }
}
