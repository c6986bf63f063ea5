//! [`Peer`]: one endpoint that listens and dials; [`PeerBuilder`]: its routes and settings.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use erpc_proto::codec::{CodecRegistry, DecodeBody, Raw};
use erpc_proto::plugin::{Plugin, Plugins, SessionInfo};
use erpc_proto::proto::Protocol;
use erpc_proto::router::RouteKind;
use erpc_proto::session::{HeartbeatPing, Reply, Session as Core, SessionConfig};
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{Code, CodecId, Message, Status};
use futures_channel::oneshot;
use futures_util::future::{select, Either};
use tracing::Instrument;

use crate::config::PeerConfig;
use crate::conn::stats::{HandlerSlots, PeerStats};
use crate::conn::{ConnCore, Limits, PeerCore};
use crate::context::{CallCtx, PushCtx};
use crate::driver::{Driver, Ended};
use crate::handler::{call_fn, push_fn, AuthCheckFn, Handler, IntoReply};
use crate::runtime::{Connected, Endpoint, Runtime, SocketOptions, Stream, Timer};
use crate::session::{lock, RtClock, Session, SessionParts};
use crate::setup::{
    endpoint, listen_addr, post_new_peer, redial_interval, session_core_at, BuilderCore,
};

type BoxedStream = Box<dyn Stream>;

struct Shared<R: Runtime> {
    rt: R,
    config: PeerConfig,
    core: Arc<PeerCore>,
    session_cfg: SessionConfig,
    plugins: Plugins,
    socket: SocketOptions,
    #[cfg(feature = "tls")]
    tls: crate::tls::TlsSettings,
    sessions: Mutex<HashMap<String, Session>>,
    live: AtomicUsize,
    live_event: event_listener::Event,
    closing: AtomicBool,
    close_event: event_listener::Event,
}

/// An eRPC peer: listens and dials with the same routes; every session, dialed or accepted,
/// can call and push to the other side. Cheap to clone.
///
/// Build one with [`PeerBuilder`] (through a runtime adapter, which picks `R`).
pub struct Peer<R: Runtime> {
    shared: Arc<Shared<R>>,
}

impl<R: Runtime> Clone for Peer<R> {
    fn clone(&self) -> Self {
        Peer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Peer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("network", &self.shared.config.network)
            .field("sessions", &self.count_sessions())
            .finish()
    }
}

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
    /// The protocol name is not known.
    #[error("unknown protocol {0:?} (raw, json, protobuf, thrift, thrift-struct, http)")]
    UnknownProtocol(String),
    /// The network is not supported.
    #[error("unsupported network {0:?} (tcp, tcp4, tcp6, unix)")]
    UnknownNetwork(String),
    /// A plugin hook failed or plugin names clash.
    #[error("plugin: {0}")]
    Plugin(String),
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
    #[cfg(feature = "tls")]
    tls: crate::tls::TlsSettings,
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
            #[cfg(feature = "tls")]
            tls: Default::default(),
        }
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

    /// Uses this wire protocol for every listener and dial that does not name one, instead
    /// of the one `PeerConfig::protocol` names (default: rawproto).
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

    /// TLS for accepted connections.
    #[cfg(feature = "tls")]
    pub fn tls_server(mut self, cfg: Arc<futures_rustls::rustls::ServerConfig>) -> Self {
        self.tls.server = Some(futures_rustls::TlsAcceptor::from(cfg));
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
            self.tls.client = Some((futures_rustls::TlsConnector::from(cfg), name));
        }
        self
    }

    /// Builds the peer: runs `pre_new_peer`, resolves the default codec, runs `post_reg` for
    /// every route and `post_new_peer`.
    pub fn build(self) -> Result<Peer<R>, BuildError> {
        let parts = self.core.build()?;
        let limits = Limits::from_config(&parts.config);
        let slots = HandlerSlots::new(parts.config.peer_handlers_limit());
        let peer = Peer {
            shared: Arc::new(Shared {
                rt: self.rt,
                config: parts.config,
                core: Arc::new(PeerCore {
                    handlers: parts.handlers,
                    auth_checker: self.auth_checker,
                    log: parts.log,
                    limits,
                    slots,
                    counters: Default::default(),
                }),
                session_cfg: parts.session_cfg,
                plugins: parts.plugins,
                socket: parts.socket,
                #[cfg(feature = "tls")]
                tls: self.tls,
                sessions: Mutex::new(HashMap::new()),
                live: AtomicUsize::new(0),
                live_event: event_listener::Event::new(),
                closing: AtomicBool::new(false),
                close_event: event_listener::Event::new(),
            }),
        };
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

fn io_status(code: Code, e: impl std::fmt::Display) -> Status {
    Status::with_cause(code, e.to_string())
}

/// Keeps the live-connection count of a peer while a connection task runs.
struct LiveGuard<R: Runtime>(Arc<Shared<R>>);

impl<R: Runtime> LiveGuard<R> {
    fn new(shared: &Arc<Shared<R>>) -> Self {
        shared.live.fetch_add(1, Ordering::AcqRel);
        LiveGuard(Arc::clone(shared))
    }
}

impl<R: Runtime> Drop for LiveGuard<R> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        self.0.live_event.notify(usize::MAX);
    }
}

impl<R: Runtime> Peer<R> {
    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.shared.config
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.shared.rt
    }

    /// Whether [`close`](Peer::close) was called.
    pub fn is_closing(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    /// The endpoint of `addr` on the configured network (`unix`: `addr` is a path).
    pub fn endpoint(&self, addr: &str) -> Endpoint {
        endpoint(&self.shared.config, addr)
    }

    /// Starts listening on the configured `local_ip:listen_port` (for `unix`: the path in
    /// `local_ip`) and serving in the background. Returns the bound address.
    pub async fn listen(&self) -> Result<String, Status> {
        let addr = listen_addr(&self.shared.config);
        self.listen_on(self.endpoint(&addr)).await
    }

    /// Starts listening on `endpoint` and serving in the background. Returns the bound
    /// address (with the port chosen when it was 0).
    pub async fn listen_on(&self, endpoint: Endpoint) -> Result<String, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.listen_on_with(endpoint, protocol).await
    }

    /// Listens on `endpoint` speaking `protocol` there (e.g. `erpc_proto::proto::by_name("json")`),
    /// whatever the peer's default.
    pub async fn listen_on_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<String, Status> {
        let (listener, addr) = self
            .shared
            .rt
            .bind(&endpoint)
            .await
            .map_err(|e| io_status(Code::WRONG_CONN, format!("listen on {endpoint}: {e}")))?;
        for p in self.shared.plugins.iter() {
            p.post_listen(&addr)?;
        }
        tracing::info!(%addr, "listening");
        let shared = Arc::clone(&self.shared);
        // Counted as live so that `close` returns only once the listener is dropped (the
        // port is free and new connections are refused).
        let guard = LiveGuard::new(&self.shared);
        self.shared.rt.spawn(async move {
            accept_loop(shared, listener, protocol).await;
            drop(guard);
        });
        Ok(addr)
    }

    /// Listens like [`listen`](Peer::listen) and waits until the peer is closed.
    pub async fn listen_and_serve(&self) -> Result<(), Status> {
        self.listen().await?;
        self.wait_closed().await;
        Ok(())
    }

    /// Waits until [`close`](Peer::close) is called.
    pub async fn wait_closed(&self) {
        loop {
            if self.is_closing() {
                return;
            }
            let l = self.shared.close_event.listen();
            if self.is_closing() {
                return;
            }
            l.await;
        }
    }

    /// Dials `addr` on the configured network. With `redial_times` ≠ 0 failed attempts
    /// (including a refused authentication) are retried, and a session that breaks later is
    /// re-established behind the same handle. Fails with 105 `Dial Failed`.
    pub async fn dial(&self, addr: &str) -> Result<Session, Status> {
        self.dial_endpoint(self.endpoint(addr)).await
    }

    /// Dials an explicit endpoint.
    pub async fn dial_endpoint(&self, endpoint: Endpoint) -> Result<Session, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.dial_endpoint_with(endpoint, protocol).await
    }

    /// Dials `addr` speaking `protocol` on that session, whatever the peer's default.
    pub async fn dial_with(
        &self,
        addr: &str,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        self.dial_endpoint_with(self.endpoint(addr), protocol).await
    }

    /// Dials an explicit endpoint with an explicit protocol.
    pub async fn dial_endpoint_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        if self.is_closing() {
            return Err(Status::with_cause(Code::DIAL_FAILED, "peer is closed"));
        }
        let shared = &self.shared;
        let mut left = shared.config.redial_times;
        loop {
            let last = match connect_attempt(shared, &endpoint, false).await {
                Ok(conn) => {
                    let (ready_tx, ready_rx) = oneshot::channel();
                    let handle = start_dialed(
                        shared,
                        endpoint.clone(),
                        Arc::clone(&protocol),
                        conn,
                        ready_tx,
                    );
                    match ready_rx.await {
                        Ok(Ok(())) => return Ok(handle),
                        Ok(Err(st)) => st,
                        Err(_) => Status::from_code(Code::CONN_CLOSED),
                    }
                }
                Err(st) => st,
            };
            if left == 0 || self.is_closing() {
                let cause = last
                    .cause()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(last.msg())
                    .to_owned();
                return Err(Status::with_cause(Code::DIAL_FAILED, cause));
            }
            if left > 0 {
                left -= 1;
            }
            sleep(&shared.rt, redial_interval(&shared.config)).await;
        }
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.shared.sessions).get(id).cloned()
    }

    /// Visits every live session until `f` returns false (e.g. to broadcast a push).
    pub fn range_sessions(&self, mut f: impl FnMut(&Session) -> bool) {
        let list: Vec<Session> = lock(&self.shared.sessions).values().cloned().collect();
        for s in &list {
            if !f(s) {
                break;
            }
        }
    }

    /// Number of live sessions.
    pub fn count_sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// The peer's figures: sessions, connection tasks, handlers running, bytes queued, bytes
    /// in and out, calls and pushes served.
    pub fn stats(&self) -> PeerStats {
        let c = &self.shared.core.counters;
        PeerStats {
            sessions: self.count_sessions(),
            connections: self.shared.live.load(Ordering::Acquire),
            handlers_running: self.shared.core.slots.used(),
            queued_bytes: c.queued_bytes.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            calls_served: c.calls_served.load(Ordering::Relaxed),
            pushes_served: c.pushes_served.load(Ordering::Relaxed),
        }
    }

    /// Closes gracefully: stops accepting, asks every session to finish its calls in flight
    /// within `shutdown_timeout`, then drops whatever is left. Idempotent.
    pub async fn close(&self) {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::Release);
        shared.close_event.notify(usize::MAX);
        let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
        for s in &sessions {
            s.close();
        }
        let deadline = Instant::now() + shared.config.shutdown_timeout + Duration::from_millis(100);
        loop {
            if shared.live.load(Ordering::Acquire) == 0 {
                break;
            }
            let l = shared.live_event.listen();
            if shared.live.load(Ordering::Acquire) == 0 {
                break;
            }
            let t = shared.rt.timer(deadline);
            if let Either::Right(_) = select(l, t).await {
                tracing::warn!("shutdown timeout: closing the remaining sessions now");
                let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
                for s in &sessions {
                    s.close_now();
                }
                break;
            }
        }
    }
}

async fn sleep<R: Runtime>(rt: &R, d: Duration) {
    rt.timer(Instant::now() + d).await;
}

/// One connection attempt: connect (bounded by the dial timeout), TLS, `post_dial`.
async fn connect_attempt<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: &Endpoint,
    is_redial: bool,
) -> Result<Connected<BoxedStream>, Status> {
    // The dial timeout bounds the TLS handshake too (Go: per attempt, handshake included), so
    // a server that never answers the handshake cannot hold the dial forever.
    let connect = async {
        let conn = shared
            .rt
            .connect(endpoint, shared.socket)
            .await
            .map_err(|e| io_status(Code::DIAL_FAILED, format!("dial {endpoint}: {e}")))?;
        secure_client(shared, conn).await
    };
    let conn = if shared.config.dial_timeout.is_zero() {
        connect.await?
    } else {
        let t = shared.rt.timer(Instant::now() + shared.config.dial_timeout);
        match select(Box::pin(connect), t).await {
            Either::Left((r, _)) => r?,
            Either::Right(_) => {
                return Err(io_status(
                    Code::DIAL_FAILED,
                    format!("dial {endpoint}: dial timeout"),
                ))
            }
        }
    };
    let info = SessionInfo::new(
        conn.local_addr.clone(),
        Some(conn.remote_addr.clone()),
        true,
    );
    for p in shared.plugins.iter() {
        p.post_dial(&info, is_redial)?;
    }
    Ok(conn)
}

#[cfg(feature = "tls")]
async fn secure_client<R: Runtime, S: Stream>(
    shared: &Arc<Shared<R>>,
    conn: Connected<S>,
) -> Result<Connected<BoxedStream>, Status> {
    match &shared.tls.client {
        Some((connector, name)) => {
            let stream = connector
                .connect(name.clone(), conn.stream)
                .await
                .map_err(|e| io_status(Code::DIAL_FAILED, format!("TLS handshake: {e}")))?;
            Ok(Connected {
                stream: Box::new(stream),
                local_addr: conn.local_addr,
                remote_addr: conn.remote_addr,
            })
        }
        None => Ok(boxed(conn)),
    }
}

#[cfg(not(feature = "tls"))]
async fn secure_client<R: Runtime, S: Stream>(
    _: &Arc<Shared<R>>,
    conn: Connected<S>,
) -> Result<Connected<BoxedStream>, Status> {
    Ok(boxed(conn))
}

fn boxed<S: Stream>(c: Connected<S>) -> Connected<BoxedStream> {
    Connected {
        stream: Box::new(c.stream),
        local_addr: c.local_addr,
        remote_addr: c.remote_addr,
    }
}

fn new_core<R: Runtime>(
    shared: &Shared<R>,
    protocol: &Arc<dyn Protocol>,
    dialed: bool,
    id: &str,
    remote: &str,
) -> Core {
    let has_checker = shared.core.auth_checker.is_some();
    session_core_at(
        &shared.session_cfg,
        protocol,
        has_checker,
        dialed,
        id,
        remote,
        shared.rt.now(),
    )
}

fn new_handle<R: Runtime>(
    shared: &Shared<R>,
    id: String,
    conn: &Connected<BoxedStream>,
    dialed: bool,
) -> Session {
    Session::new(SessionParts {
        id,
        local_addr: conn.local_addr.clone(),
        remote_addr: conn.remote_addr.clone(),
        dialed,
        codecs: shared.session_cfg.codecs.clone(),
        default_codec: shared.session_cfg.default_body_codec,
        close_linger: shared.config.shutdown_timeout,
        call_timeout: shared.session_cfg.call_timeout,
        max_queued_commands: shared.config.queued_commands_limit(),
        clock: Arc::new(RtClock(shared.rt.clone())),
    })
}

/// Runs one connection of `handle` to its end.
async fn drive<R: Runtime>(
    shared: &Arc<Shared<R>>,
    protocol: &Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    handle: &Session,
    dialed: bool,
    ready: Option<oneshot::Sender<Result<(), Status>>>,
) -> Ended {
    let id = handle.id();
    let core = new_core(shared, protocol, dialed, &id, &conn.remote_addr);
    let now = shared.rt.now();
    let cc = ConnCore::new(now, core, Arc::clone(&shared.core), handle.clone(), ready);
    let span = tracing::debug_span!("session", id = %id, remote = %conn.remote_addr, dialed);
    Driver::new(
        shared.rt.clone(),
        conn.stream,
        cc,
        Arc::clone(&shared.core),
        handle.clone(),
    )
    .instrument(span)
    .await
}

/// Starts the task of a dialed connection; it redials per the configuration.
fn start_dialed<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    ready: oneshot::Sender<Result<(), Status>>,
) -> Session {
    let id = conn.local_addr.clone();
    let handle = new_handle(shared, id, &conn, true);
    let guard = LiveGuard::new(shared);
    let shared2 = Arc::clone(shared);
    let h = handle.clone();
    shared.rt.spawn(async move {
        dialed_task(shared2, endpoint, protocol, conn, h, ready).await;
        drop(guard);
    });
    handle
}

async fn dialed_task<R: Runtime>(
    shared: Arc<Shared<R>>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    mut conn: Connected<BoxedStream>,
    handle: Session,
    ready: oneshot::Sender<Result<(), Status>>,
) {
    let mut ready = Some(ready);
    let mut in_hub = false;
    loop {
        let id = handle.id();
        if !in_hub {
            lock(&shared.sessions).insert(id.clone(), handle.clone());
            in_hub = true;
        }
        let ended = drive(&shared, &protocol, conn, &handle, true, ready.take()).await;
        let redial = shared.config.redial_times != 0
            && ended.opened
            && !ended.closed_locally
            && !shared.closing.load(Ordering::Acquire);
        if !redial {
            break;
        }
        tracing::info!(session = %id, reason = %ended.reason, "connection lost; redialing");
        match redial_loop(&shared, &endpoint, &handle).await {
            Redial::Connected(c) => {
                *lock(&handle.inner.local_addr) = c.local_addr.clone();
                *lock(&handle.inner.remote_addr) = c.remote_addr.clone();
                conn = c;
                tracing::info!(session = %id, "redial ok");
            }
            Redial::GaveUp => {
                tracing::warn!(session = %id, "redial failed");
                break;
            }
            Redial::Closed => break,
        }
    }
    finish(&shared, &handle, in_hub);
}

enum Redial {
    Connected(Connected<BoxedStream>),
    GaveUp,
    Closed,
}

/// Redial attempts: the first at once, then `redial_times` more (forever if negative), each
/// after `redial_interval`. Meanwhile calls and pushes wait in the session's command queue
/// until their deadline (then they fail with 408 and are never sent); a close stops the
/// redial.
async fn redial_loop<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: &Endpoint,
    handle: &Session,
) -> Redial {
    use futures_util::FutureExt;
    use std::task::Poll;

    enum Wake {
        Attempt(Result<Connected<BoxedStream>, Status>),
        Slept,
        Queue,
        Deadline,
    }

    let queue = &handle.inner.queue;
    let mut left = shared.config.redial_times;
    let mut attempt = Some(Box::pin(connect_attempt(shared, endpoint, true)));
    let mut pause: Option<R::Timer> = None;
    let mut deadline_timer: Option<(Instant, R::Timer)> = None;
    loop {
        if shared.closing.load(Ordering::Acquire) || queue.close_requested() {
            return Redial::Closed;
        }
        match (queue.expire(shared.rt.now()), &mut deadline_timer) {
            (Some(t), Some((at, timer))) if *at != t => {
                timer.reset(t);
                *at = t;
            }
            (Some(t), None) => deadline_timer = Some((t, shared.rt.timer(t))),
            (None, _) => deadline_timer = None,
            _ => {}
        }
        let seen = queue.len();
        let wake = std::future::poll_fn(|cx| {
            if let Some(a) = attempt.as_mut() {
                if let Poll::Ready(r) = a.poll_unpin(cx) {
                    return Poll::Ready(Wake::Attempt(r));
                }
            }
            if let Some(p) = pause.as_mut() {
                if p.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::Slept);
                }
            }
            // New commands (for their deadlines) and close requests.
            queue.register(cx.waker());
            if queue.close_requested() || queue.len() != seen {
                return Poll::Ready(Wake::Queue);
            }
            if let Some((_, t)) = deadline_timer.as_mut() {
                if t.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::Deadline);
                }
            }
            Poll::Pending
        });
        let wake = wake.await;
        match wake {
            Wake::Attempt(Ok(c)) => return Redial::Connected(c),
            Wake::Attempt(Err(st)) => {
                attempt = None;
                tracing::debug!(status = %st, "redial attempt failed");
                if left == 0 {
                    return Redial::GaveUp;
                }
                if left > 0 {
                    left -= 1;
                }
                pause = Some(
                    shared
                        .rt
                        .timer(shared.rt.now() + redial_interval(&shared.config)),
                );
            }
            Wake::Slept => {
                pause = None;
                attempt = Some(Box::pin(connect_attempt(shared, endpoint, true)));
            }
            Wake::Queue => {}
            Wake::Deadline => deadline_timer = None,
        }
    }
}

/// The session is gone for good: fail queued commands, leave the hub, notify.
fn finish<R: Runtime>(shared: &Shared<R>, handle: &Session, in_hub: bool) {
    for cmd in handle.inner.queue.end() {
        cmd.fail(Status::from_code(Code::CONN_CLOSED));
    }
    if in_hub {
        let id = handle.id();
        let mut hub = lock(&shared.sessions);
        if hub
            .get(&id)
            .is_some_and(|s| Arc::ptr_eq(&s.inner, &handle.inner))
        {
            hub.remove(&id);
        }
    }
    handle.mark_closed();
    let info = SessionInfo::new(handle.id(), Some(handle.remote_addr()), handle.dialed());
    shared
        .plugins
        .run_logged("post_disconnect", |p| p.post_disconnect(&info));
}

async fn accept_loop<R: Runtime>(
    shared: Arc<Shared<R>>,
    listener: R::Listener,
    protocol: Arc<dyn Protocol>,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let closed = shared.close_event.listen();
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let accept = Box::pin(shared.rt.accept(&listener, shared.socket));
        match select(accept, closed).await {
            Either::Left((Ok(conn), _)) => {
                backoff = Duration::from_millis(5);
                let guard = LiveGuard::new(&shared);
                let s = Arc::clone(&shared);
                let p = Arc::clone(&protocol);
                shared.rt.spawn(async move {
                    serve_accepted(s, p, conn).await;
                    drop(guard);
                });
            }
            Either::Left((Err(e), _)) => {
                // Out of descriptors and the like: back off (5 ms doubling to 1 s, as Go).
                tracing::warn!(error = %e, "accept failed");
                sleep(&shared.rt, backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Either::Right(_) => break,
        }
    }
    tracing::debug!("accept loop stopped");
}

async fn serve_accepted<R: Runtime>(
    shared: Arc<Shared<R>>,
    protocol: Arc<dyn Protocol>,
    conn: Connected<R::Stream>,
) {
    let conn = match secure_server(&shared, conn).await {
        Ok(c) => c,
        Err(e) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
    };
    let id = conn.remote_addr.clone();
    let info = SessionInfo::new(id.clone(), Some(conn.remote_addr.clone()), false);
    if let Err(st) = shared.plugins.run(|p| p.post_accept(&info)) {
        tracing::debug!(status = %st, session = %id, "post_accept refused the connection");
        return;
    }
    let handle = new_handle(&shared, id.clone(), &conn, false);
    lock(&shared.sessions).insert(id, handle.clone());
    if shared.closing.load(Ordering::Acquire) {
        handle.close();
    }
    drive(&shared, &protocol, conn, &handle, false, None).await;
    finish(&shared, &handle, true);
}

#[cfg(feature = "tls")]
async fn secure_server<R: Runtime>(
    shared: &Shared<R>,
    conn: Connected<R::Stream>,
) -> std::io::Result<Connected<BoxedStream>> {
    match &shared.tls.server {
        Some(acceptor) => {
            let t = shared.rt.timer(Instant::now() + Duration::from_secs(10));
            let stream = match select(Box::pin(acceptor.accept(conn.stream)), t).await {
                Either::Left((r, _)) => r?,
                Either::Right(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "TLS handshake timeout",
                    ))
                }
            };
            Ok(Connected {
                stream: Box::new(stream),
                local_addr: conn.local_addr,
                remote_addr: conn.remote_addr,
            })
        }
        None => Ok(boxed(conn)),
    }
}

#[cfg(not(feature = "tls"))]
async fn secure_server<R: Runtime>(
    _: &Shared<R>,
    conn: Connected<R::Stream>,
) -> std::io::Result<Connected<BoxedStream>> {
    Ok(boxed(conn))
}
