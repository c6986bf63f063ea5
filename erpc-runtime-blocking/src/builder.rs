//! [`PeerBuilder`]: routes, plugins and settings of a [`Peer`].

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use erpc_peer::{BuildError, IntoReply, PeerConfig, SocketOptions};
use erpc_proto::codec::{CodecRegistry, DecodeBody, Raw};
use erpc_proto::plugin::{Plugin, Plugins, RouteInfo};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::router::{Mapper, RouteId, RouteKind, Router};
use erpc_proto::session::{Auth, HeartbeatPing, SessionConfig};
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{CodecId, Message, Meta, Status, WireConfig};

use crate::handler::{auth_fn, call_fn, push_fn, AuthFn, CallCtx, Handler, PushCtx};
use crate::peer::{Peer, Shared};
use crate::pool::{Pool, PoolConfig};

/// Routes, plugins and settings of a [`Peer`]. The same methods as the async adapters'
/// builders, with handlers that are ordinary functions run on a worker pool.
pub struct PeerBuilder {
    config: PeerConfig,
    router: Router,
    handlers: Vec<Option<Handler>>,
    routes: Vec<RouteInfo>,
    plugins: Vec<Arc<dyn Plugin>>,
    codecs: CodecRegistry,
    xfer: XferRegistry,
    protocol: Arc<dyn Protocol>,
    auth: Auth,
    auth_checker: Option<AuthFn>,
    heartbeat_ping: Option<HeartbeatPing>,
    heartbeat_pong: bool,
    pool: PoolConfig,
    #[cfg(feature = "tls")]
    tls: crate::peer::TlsSettings,
    errors: Vec<BuildError>,
}

impl std::fmt::Debug for PeerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerBuilder")
            .field("config", &self.config)
            .field("pool", &self.pool)
            .finish()
    }
}

impl PeerBuilder {
    /// A builder with `config`.
    pub fn new(config: PeerConfig) -> Self {
        PeerBuilder {
            config,
            router: Router::new(Mapper::Http),
            handlers: Vec::new(),
            routes: Vec::new(),
            plugins: Vec::new(),
            codecs: CodecRegistry::default(),
            xfer: XferRegistry::default(),
            protocol: Arc::new(RawProto),
            auth: Auth::None,
            auth_checker: None,
            heartbeat_ping: None,
            heartbeat_pong: false,
            pool: PoolConfig::default(),
            #[cfg(feature = "tls")]
            tls: Default::default(),
            errors: Vec::new(),
        }
    }

    fn set_handler(&mut self, id: RouteId, h: Handler) {
        let i = id.0 as usize;
        if self.handlers.len() <= i {
            self.handlers.resize(i + 1, None);
        }
        self.handlers[i] = Some(h);
    }

    fn add(&mut self, kind: RouteKind, sm: &str, h: Handler) {
        match self.router.add_route(kind, sm, Vec::new()) {
            Ok(id) => {
                self.set_handler(id, h);
                self.routes
                    .push(RouteInfo::new(sm, kind == RouteKind::Push));
            }
            Err(error) => self.errors.push(BuildError::Route {
                route: sm.to_owned(),
                error,
            }),
        }
    }

    /// Registers a call handler at exactly `service_method`: an ordinary function, run on the
    /// worker pool. The argument type decides how the body is read (serde types with the
    /// message's codec, [`Raw`] bytes, `Proto<T>`); the handler returns `Result<R, Status>` or
    /// `Result<Response<R>, Status>`. A panic becomes a 500 reply.
    pub fn call<A, F, O>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + 'static,
        F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
        O: IntoReply,
    {
        self.add(
            RouteKind::Call,
            service_method,
            Handler::Call(call_fn(handler)),
        );
        self
    }

    /// Registers a push handler at exactly `service_method`, run on the worker pool.
    pub fn push<A, F>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + 'static,
        F: Fn(PushCtx, A) + Send + Sync + 'static,
    {
        self.add(
            RouteKind::Push,
            service_method,
            Handler::Push(push_fn(handler)),
        );
        self
    }

    /// The route the peer's mapper gives `name` under `prefix` (Go's registration by type
    /// and method name: `route("Math", "Add")` is `/math/add` with the HTTP mapper).
    pub fn route(&self, prefix: &str, name: &str) -> String {
        let m = self.router.mapper();
        let p = if prefix.is_empty() {
            m.root()
        } else {
            m.map(&m.root(), prefix)
        };
        m.map(&p, name)
    }

    /// Uses the RPC-style mapper (`Hello.Say`) for [`route`](PeerBuilder::route) instead of
    /// the HTTP style (`/hello/say`). Call it before registering handlers.
    pub fn rpc_mapper(mut self) -> Self {
        self.router = Router::new(Mapper::Rpc);
        self
    }

    /// The fallback for calls to unregistered service methods; it receives the raw body.
    pub fn unknown_call<F, O>(mut self, handler: F) -> Self
    where
        F: Fn(CallCtx, Raw) -> O + Send + Sync + 'static,
        O: IntoReply,
    {
        let id = self.router.set_unknown_call();
        self.set_handler(id, Handler::Call(call_fn(handler)));
        self
    }

    /// The fallback for pushes to unregistered service methods.
    pub fn unknown_push<F>(mut self, handler: F) -> Self
    where
        F: Fn(PushCtx, Raw) + Send + Sync + 'static,
    {
        let id = self.router.set_unknown_push();
        self.set_handler(id, Handler::Push(push_fn(handler)));
        self
    }

    /// Adds a global plugin. Its hooks run on connection threads: they must not block on
    /// a session of this peer.
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.plugins.push(Arc::new(plugin));
        self
    }

    /// Replaces the body codecs (default: every built-in codec).
    pub fn codecs(mut self, codecs: CodecRegistry) -> Self {
        self.codecs = codecs;
        self
    }

    /// Replaces the transfer filters (default: gzip `g`, md5 `m`).
    pub fn xfer_filters(mut self, xfer: XferRegistry) -> Self {
        self.xfer = xfer;
        self
    }

    /// Uses another wire protocol (default: rawproto).
    pub fn protocol(mut self, protocol: impl Protocol) -> Self {
        self.protocol = Arc::new(protocol);
        self
    }

    /// Dialed sessions authenticate first with this token (Go's `auth-bearer`: an
    /// AUTH_CALL whose body is `info` encoded by `codec`).
    pub fn auth_bearer(mut self, codec: CodecId, info: impl Into<Bytes>) -> Self {
        self.auth = Auth::Bearer {
            codec,
            info: info.into(),
            meta: Meta::new(),
        };
        self
    }

    /// Accepted sessions must authenticate first (Go's `auth-checker`): `check` (run on the
    /// worker pool) gets the AUTH_CALL and answers `Ok(body)` to admit (e.g. `"pass"`) or
    /// `Err(status)` to refuse.
    pub fn auth_checker<F>(mut self, reply_codec: CodecId, check: F) -> Self
    where
        F: Fn(Message) -> Result<Bytes, Status> + Send + Sync + 'static,
    {
        self.auth_checker = Some(auth_fn(reply_codec, check));
        self
    }

    /// Sends heartbeat pings on idle sessions (Go's `heart-ping`).
    pub fn heartbeat_ping(mut self, ping: HeartbeatPing) -> Self {
        self.heartbeat_ping = Some(ping);
        self
    }

    /// Answers heartbeats and closes sessions whose pinger went silent (Go's `heart-pong`).
    pub fn heartbeat_pong(mut self) -> Self {
        self.heartbeat_pong = true;
        self
    }

    /// Sizes the worker pool that runs handlers (default: up to 64 threads, 1024 queued).
    pub fn worker_pool(mut self, pool: PoolConfig) -> Self {
        self.pool = pool;
        self
    }

    /// TLS for accepted connections (a plain rustls config, e.g. from
    /// [`tls::self_signed_server`](crate::tls::self_signed_server)).
    #[cfg(feature = "tls")]
    pub fn tls_server(mut self, cfg: Arc<erpc_peer::rustls::ServerConfig>) -> Self {
        self.tls.server = Some(cfg);
        self
    }

    /// TLS for dialed connections; `server_name` is checked against the certificate.
    #[cfg(feature = "tls")]
    pub fn tls_client(
        mut self,
        cfg: Arc<erpc_peer::rustls::ClientConfig>,
        server_name: &str,
    ) -> Self {
        match erpc_peer::rustls::pki_types::ServerName::try_from(server_name.to_owned()) {
            Ok(name) => self.tls.client = Some((cfg, name)),
            Err(e) => self
                .errors
                .push(BuildError::Plugin(format!("invalid TLS server name: {e}"))),
        }
        self
    }

    /// Builds the peer: runs `pre_new_peer`, resolves the default codec, runs `post_reg` for
    /// every route and `post_new_peer`.
    pub fn build(mut self) -> Result<Peer, BuildError> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        for p in &self.plugins {
            p.pre_new_peer(&mut self.config)
                .map_err(|st| BuildError::Plugin(format!("{}: {st}", p.name())))?;
        }
        let c = &self.config;
        match c.network.as_str() {
            "tcp" | "tcp4" | "tcp6" | "unix" => {}
            other => return Err(BuildError::UnknownNetwork(other.to_owned())),
        }
        let default_codec = self
            .codecs
            .by_name(&c.default_body_codec)
            .map(|codec| codec.id())
            .ok_or_else(|| BuildError::UnknownCodec(c.default_body_codec.clone()))?;
        let plugins = Plugins::from_vec(self.plugins.clone())
            .map_err(|e| BuildError::Plugin(e.to_string()))?;
        for p in plugins.iter() {
            for r in &self.routes {
                p.post_reg(r)
                    .map_err(|st| BuildError::Plugin(format!("{}: {st}", p.name())))?;
            }
        }
        // The same mapping from `PeerConfig` as erpc-peer's builder.
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        let mut session_cfg = SessionConfig::acceptor();
        session_cfg.protocol = self.protocol;
        session_cfg.wire = WireConfig {
            max_message_size: if c.max_message_size == 0 {
                erpc_proto::DEFAULT_MAX_MESSAGE_SIZE
            } else {
                c.max_message_size
            },
            xfer: self.xfer,
        };
        session_cfg.codecs = self.codecs;
        session_cfg.router = Arc::new(self.router);
        session_cfg.plugins = plugins.clone();
        session_cfg.default_body_codec = default_codec;
        session_cfg.call_timeout = nonzero(c.call_timeout);
        session_cfg.session_age = nonzero(c.default_session_age);
        session_cfg.context_age = nonzero(c.default_context_age);
        session_cfg.close_linger = c.shutdown_timeout;
        session_cfg.heartbeat_ping = self.heartbeat_ping;
        session_cfg.heartbeat_pong = self.heartbeat_pong;
        session_cfg.auth = self.auth;
        let mut socket_opts = SocketOptions::default();
        socket_opts.nodelay = c.tcp_nodelay;
        socket_opts.keepalive = nonzero(c.tcp_keepalive);
        socket_opts.recv_buffer = (c.read_buffer > 0).then_some(c.read_buffer);
        socket_opts.send_buffer = (c.write_buffer > 0).then_some(c.write_buffer);
        let peer = Peer {
            shared: Arc::new(Shared::new(
                self.config,
                session_cfg,
                plugins.clone(),
                socket_opts,
                self.handlers,
                self.auth_checker,
                Pool::new(self.pool),
                #[cfg(feature = "tls")]
                self.tls,
            )),
        };
        for p in plugins.iter() {
            p.post_new_peer()
                .map_err(|st| BuildError::Plugin(format!("{}: {st}", p.name())))?;
        }
        Ok(peer)
    }
}
