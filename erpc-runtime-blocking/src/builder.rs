//! [`PeerBuilder`]: routes, plugins and settings of a [`Peer`], over erpc-peer's builder.

use std::sync::Arc;

use bytes::Bytes;
use erpc_peer::{BuildError, IntoReply, PeerConfig};
use erpc_proto::codec::{CodecRegistry, DecodeBody, Raw};
use erpc_proto::plugin::Plugin;
use erpc_proto::proto::Protocol;
use erpc_proto::session::HeartbeatPing;
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{CodecId, Message, Status};

use crate::handler::{self, CallCtx, PushCtx, Wrapped};
use crate::peer::Peer;
use crate::pool::PoolConfig;
use crate::rt::Threads;

/// A type whose methods are handlers, registered all at once with [`PeerBuilder::service`].
/// Implemented by `#[service(blocking)]` (feature `macros`), which names each route with the
/// peer's mapper from the type name and the method name in Go's spelling, and also makes a
/// typed `<Type>Client` over a [`Session`](crate::Session).
///
/// ```
/// use erpc_runtime_blocking::{builder, service, CallCtx, PeerConfig, Status};
///
/// struct Math;
///
/// #[service(blocking)]
/// impl Math {
///     /// Adds the numbers.
///     fn add(&self, _ctx: CallCtx, args: Vec<i64>) -> Result<i64, Status> {
///         Ok(args.iter().sum())
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let server = builder(PeerConfig { local_ip: "127.0.0.1".into(), ..PeerConfig::default() })
///     .service(Math)
///     .build()?;
/// let addr = server.listen()?;
/// let client = builder(PeerConfig::default()).build()?;
/// let math = MathClient::new(client.dial(&addr)?);
/// assert_eq!(math.add(&vec![1, 2, 3])?, 6); // CALL /math/add
/// # client.close(); server.close(); Ok(()) }
/// ```
pub trait Service: Send + Sync + 'static {
    /// Registers the handlers on `builder`.
    fn register(self: Arc<Self>, builder: PeerBuilder) -> PeerBuilder;
}

/// Routes, plugins and settings of a [`Peer`]. The same methods as the async adapters'
/// builders, with handlers that are ordinary functions run on a worker pool.
pub struct PeerBuilder {
    inner: erpc_peer::PeerBuilder<Threads>,
    rt: Threads,
}

impl std::fmt::Debug for PeerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerBuilder")
            .field("inner", &self.inner)
            .field("pool", &self.rt.pool().config())
            .finish()
    }
}

/// Wraps a blocking call handler for erpc-peer.
macro_rules! call_handler {
    ($rt:expr, $f:expr) => {{
        let w = Wrapped::new($f, $rt.pool());
        move |ctx: erpc_peer::CallCtx, args| handler::call(&w, ctx, args)
    }};
}

/// Wraps a blocking push handler for erpc-peer.
macro_rules! push_handler {
    ($rt:expr, $f:expr) => {{
        let w = Wrapped::new($f, $rt.pool());
        move |ctx: erpc_peer::PushCtx, args| handler::push(&w, ctx, args)
    }};
}

impl PeerBuilder {
    /// A builder with `config` and a worker pool of the default size.
    pub fn new(config: PeerConfig) -> Self {
        let rt = Threads::new(PoolConfig::default(), &config);
        PeerBuilder {
            inner: erpc_peer::PeerBuilder::new(rt.clone(), config),
            rt,
        }
    }

    /// Registers a call handler at exactly `service_method`: an ordinary function, run on the
    /// worker pool. The argument type decides how the body is read (serde types with the
    /// message's codec, [`Raw`] bytes, `Proto<T>`); the handler returns `Result<R, Status>` or
    /// `Result<Response<R>, Status>`. A panic becomes a 500 reply.
    pub fn call<A, F, O>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
        O: IntoReply + 'static,
    {
        self.inner = self
            .inner
            .call(service_method, call_handler!(self.rt, handler));
        self
    }

    /// Registers a call handler whose argument is bound and validated first (Go's binder
    /// plugin, feature `binder`; see erpc-peer's `PeerBuilder::call_bound`): the argument
    /// type derives `Bind`; the first failure answers Go's `400 "Invalid Parameter"`
    /// without running `handler`.
    #[cfg(feature = "binder")]
    pub fn call_bound<A, F, O>(self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + erpc_peer::binder::Bind + Send + 'static,
        F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
        O: IntoReply + Send + 'static,
    {
        let bound = erpc_peer::binder::bound_blocking(service_method, handler);
        self.call(service_method, bound)
    }

    /// Registers every handler of `service` (see [`Service`]).
    pub fn service<S: Service>(self, service: S) -> Self {
        Arc::new(service).register(self)
    }

    /// Registers a push handler at exactly `service_method`, run on the worker pool.
    pub fn push<A, F>(mut self, service_method: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(PushCtx, A) + Send + Sync + 'static,
    {
        self.inner = self
            .inner
            .push(service_method, push_handler!(self.rt, handler));
        self
    }

    /// A sub-route (Go's `SubRoute`): handlers registered through it get routes under
    /// `prefix` (mapped like Go: `"math"` → `/math/...` with the HTTP mapper) and `plugins`,
    /// which run for those routes after the global plugins. Finish with [`SubRoute::done`].
    pub fn sub_route(self, prefix: &str, plugins: Vec<Arc<dyn Plugin>>) -> SubRoute {
        SubRoute {
            inner: self.inner.sub_route(prefix, plugins),
            rt: self.rt,
        }
    }

    /// The route the peer's mapper gives `name` under `prefix` (Go's registration by type
    /// and method name: `route("Math", "Add")` is `/math/add` with the HTTP mapper).
    pub fn route(&self, prefix: &str, name: &str) -> String {
        self.inner.route(prefix, name)
    }

    /// Uses the RPC-style mapper (`Hello.Say`) for [`route`](PeerBuilder::route) instead of
    /// the HTTP style (`/hello/say`). Call it before registering handlers.
    pub fn rpc_mapper(mut self) -> Self {
        self.inner = self.inner.rpc_mapper();
        self
    }

    /// The fallback for calls to unregistered service methods; it receives the raw body.
    pub fn unknown_call<F, O>(mut self, handler: F) -> Self
    where
        F: Fn(CallCtx, Raw) -> O + Send + Sync + 'static,
        O: IntoReply + 'static,
    {
        self.inner = self.inner.unknown_call(call_handler!(self.rt, handler));
        self
    }

    /// Go's plugin/proxy: unknown calls and pushes forwarded to the proxy's forwarder
    /// (replaces [`unknown_call`](Self::unknown_call) and
    /// [`unknown_push`](Self::unknown_push); see [`erpc_peer::plugins::Proxy`]). The
    /// forwarding is async and runs on the worker pool like any handler, so a forwarded call
    /// takes a handler slot until the upstream answers. For an
    /// [`Upstream`](erpc_peer::plugins::Upstream) give it a client peer's
    /// [`as_async`](Peer::as_async) handle.
    pub fn proxy(mut self, proxy: erpc_peer::plugins::Proxy) -> Self {
        self.inner = self.inner.service(proxy);
        self
    }

    /// The fallback for pushes to unregistered service methods.
    pub fn unknown_push<F>(mut self, handler: F) -> Self
    where
        F: Fn(PushCtx, Raw) + Send + Sync + 'static,
    {
        self.inner = self.inner.unknown_push(push_handler!(self.rt, handler));
        self
    }

    /// Adds a global plugin. Its hooks run on connection threads: they must not block on
    /// a session of this peer.
    pub fn plugin(mut self, plugin: impl Plugin) -> Self {
        self.inner = self.inner.plugin(plugin);
        self
    }

    /// Replaces the body codecs (default: every built-in codec).
    pub fn codecs(mut self, codecs: CodecRegistry) -> Self {
        self.inner = self.inner.codecs(codecs);
        self
    }

    /// Replaces the transfer filters (default: gzip `g`, md5 `m`).
    pub fn xfer_filters(mut self, xfer: XferRegistry) -> Self {
        self.inner = self.inner.xfer_filters(xfer);
        self
    }

    /// A wire protocol of your own; it takes the place of `PeerConfig::protocol`, which names
    /// the built-in ones (set that instead for those).
    pub fn protocol(mut self, protocol: impl Protocol) -> Self {
        self.inner = self.inner.protocol(protocol);
        self
    }

    /// Names this peer in its metrics (the `peer` label; default `erpc`), with the `metrics`
    /// feature; see [`erpc_peer::PeerBuilder::metrics_name`].
    pub fn metrics_name(mut self, name: &str) -> Self {
        self.inner = self.inner.metrics_name(name);
        self
    }

    /// Dialed sessions authenticate first with this token (Go's `auth-bearer`: an
    /// AUTH_CALL whose body is `info` encoded by `codec`).
    pub fn auth_bearer(mut self, codec: CodecId, info: impl Into<Bytes>) -> Self {
        self.inner = self.inner.auth_bearer(codec, info);
        self
    }

    /// Accepted sessions must authenticate first (Go's `auth-checker`): `check` (run on the
    /// worker pool) gets the AUTH_CALL and answers `Ok(body)` to admit (e.g. `"pass"`) or
    /// `Err(status)` to refuse. A panic refuses with 500.
    pub fn auth_checker<F>(mut self, reply_codec: CodecId, check: F) -> Self
    where
        F: Fn(Message) -> Result<Bytes, Status> + Send + Sync + 'static,
    {
        let w = Wrapped::new(check, self.rt.pool());
        self.inner = self
            .inner
            .auth_checker(reply_codec, move |m| handler::auth(&w, m));
        self
    }

    /// Sends heartbeat pings on idle sessions (Go's `heart-ping`).
    pub fn heartbeat_ping(mut self, ping: HeartbeatPing) -> Self {
        self.inner = self.inner.heartbeat_ping(ping);
        self
    }

    /// The KCP parameters of this peer's sessions on the `kcp` network (see
    /// [`erpc_peer::PeerBuilder::kcp`]; the default is kcp-go's, which Go peers need).
    #[cfg(feature = "kcp")]
    pub fn kcp(mut self, cfg: crate::kcp::KcpConfig) -> Self {
        self.inner = self.inner.kcp(cfg);
        self
    }

    /// Answers heartbeats and closes sessions whose pinger went silent (Go's `heart-pong`).
    pub fn heartbeat_pong(mut self) -> Self {
        self.inner = self.inner.heartbeat_pong();
        self
    }

    /// Sizes the worker pool that runs handlers (default: up to 64 threads, 1024 queued).
    pub fn worker_pool(self, pool: PoolConfig) -> Self {
        self.rt.pool().resize(pool);
        self
    }

    /// TLS for accepted connections (a plain rustls config, e.g. from
    /// [`tls::server_config_from_pem`](crate::tls::server_config_from_pem), or
    /// `tls::self_signed_server` with the `self-signed` feature).
    #[cfg(feature = "tls")]
    pub fn tls_server(mut self, cfg: Arc<erpc_peer::rustls::ServerConfig>) -> Self {
        self.inner = self.inner.tls_server(cfg);
        self
    }

    /// TLS for dialed connections; `server_name` is checked against the certificate.
    #[cfg(feature = "tls")]
    pub fn tls_client(
        mut self,
        cfg: Arc<erpc_peer::rustls::ClientConfig>,
        server_name: &str,
    ) -> Self {
        self.inner = self.inner.tls_client(cfg, server_name);
        self
    }

    /// Builds the peer: runs `pre_new_peer`, resolves the default codec, runs `post_reg` for
    /// every route and `post_new_peer`.
    pub fn build(self) -> Result<Peer, BuildError> {
        Ok(Peer::new(self.inner.build()?))
    }
}

/// Handlers registered under a prefix with their own plugins; see
/// [`PeerBuilder::sub_route`].
pub struct SubRoute {
    inner: erpc_peer::SubRoute<Threads>,
    rt: Threads,
}

impl std::fmt::Debug for SubRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl SubRoute {
    /// Registers a call handler at the mapped route of `name` under the prefix.
    pub fn call<A, F, O>(mut self, name: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(CallCtx, A) -> O + Send + Sync + 'static,
        O: IntoReply + 'static,
    {
        self.inner = self.inner.call(name, call_handler!(self.rt, handler));
        self
    }

    /// Registers a push handler at the mapped route of `name` under the prefix.
    pub fn push<A, F>(mut self, name: &str, handler: F) -> Self
    where
        A: DecodeBody + Send + 'static,
        F: Fn(PushCtx, A) + Send + Sync + 'static,
    {
        self.inner = self.inner.push(name, push_handler!(self.rt, handler));
        self
    }

    /// Back to the peer builder.
    pub fn done(self) -> PeerBuilder {
        PeerBuilder {
            inner: self.inner.done(),
            rt: self.rt,
        }
    }
}
