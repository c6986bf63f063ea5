//! [`PeerBuilder`]: routes, plugins and settings of a [`Peer`].

use std::sync::Arc;

use bytes::Bytes;
use erpc_peer::adapter::{post_new_peer, BuilderCore};
use erpc_peer::{BuildError, IntoReply, PeerConfig};
use erpc_proto::codec::{CodecRegistry, DecodeBody, Raw};
use erpc_proto::plugin::Plugin;
use erpc_proto::proto::Protocol;
use erpc_proto::router::RouteKind;
use erpc_proto::session::HeartbeatPing;
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{CodecId, Message, Status};

use crate::handler::{auth_fn, call_fn, push_fn, AuthFn, CallCtx, Handler, PushCtx};
use crate::peer::{Peer, Shared};
use crate::pool::{Pool, PoolConfig};

/// Routes, plugins and settings of a [`Peer`]. The same methods as the async adapters'
/// builders, with handlers that are ordinary functions run on a worker pool.
pub struct PeerBuilder {
    core: BuilderCore<Handler>,
    auth_checker: Option<AuthFn>,
    pool: PoolConfig,
    #[cfg(feature = "tls")]
    tls: crate::peer::TlsSettings,
}

impl std::fmt::Debug for PeerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerBuilder")
            .field("config", self.core.config())
            .field("pool", &self.pool)
            .finish()
    }
}

impl PeerBuilder {
    /// A builder with `config`.
    pub fn new(config: PeerConfig) -> Self {
        PeerBuilder {
            core: BuilderCore::new(config),
            auth_checker: None,
            pool: PoolConfig::default(),
            #[cfg(feature = "tls")]
            tls: Default::default(),
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
        let h = Handler::Call(call_fn(handler));
        self.core.add(RouteKind::Call, service_method, h);
        self
    }

    /// Registers a push handler at exactly `service_method`, run on the worker pool.
    pub fn push<A, F>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + 'static,
        F: Fn(PushCtx, A) + Send + Sync + 'static,
    {
        let h = Handler::Push(push_fn(handler));
        self.core.add(RouteKind::Push, service_method, h);
        self
    }

    /// The route the peer's mapper gives `name` under `prefix` (Go's registration by type
    /// and method name: `route("Math", "Add")` is `/math/add` with the HTTP mapper).
    pub fn route(&self, prefix: &str, name: &str) -> String {
        self.core.route(prefix, name)
    }

    /// Uses the RPC-style mapper (`Hello.Say`) for [`route`](PeerBuilder::route) instead of
    /// the HTTP style (`/hello/say`). Call it before registering handlers.
    pub fn rpc_mapper(mut self) -> Self {
        self.core.rpc_mapper();
        self
    }

    /// The fallback for calls to unregistered service methods; it receives the raw body.
    pub fn unknown_call<F, O>(mut self, handler: F) -> Self
    where
        F: Fn(CallCtx, Raw) -> O + Send + Sync + 'static,
        O: IntoReply,
    {
        self.core.unknown_call(Handler::Call(call_fn(handler)));
        self
    }

    /// The fallback for pushes to unregistered service methods.
    pub fn unknown_push<F>(mut self, handler: F) -> Self
    where
        F: Fn(PushCtx, Raw) + Send + Sync + 'static,
    {
        self.core.unknown_push(Handler::Push(push_fn(handler)));
        self
    }

    /// Adds a global plugin. Its hooks run on connection threads: they must not block on
    /// a session of this peer.
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

    /// Uses this wire protocol instead of the one `PeerConfig::protocol` names (default:
    /// rawproto).
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
        self.core.heartbeat_ping = Some(ping);
        self
    }

    /// Answers heartbeats and closes sessions whose pinger went silent (Go's `heart-pong`).
    pub fn heartbeat_pong(mut self) -> Self {
        self.core.heartbeat_pong = true;
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
        if let Some(name) = self.core.tls_server_name(server_name) {
            self.tls.client = Some((cfg, name));
        }
        self
    }

    /// Builds the peer: runs `pre_new_peer`, resolves the default codec, runs `post_reg` for
    /// every route and `post_new_peer`.
    pub fn build(self) -> Result<Peer, BuildError> {
        let parts = self.core.build()?;
        let peer = Peer {
            shared: Arc::new(Shared::new(
                parts,
                self.auth_checker,
                Pool::new(self.pool),
                #[cfg(feature = "tls")]
                self.tls,
            )),
        };
        post_new_peer(&peer.shared.plugins)?;
        Ok(peer)
    }
}
