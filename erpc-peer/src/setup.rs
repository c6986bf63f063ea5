//! Setting a peer up, whatever runs it: [`BuilderCore`], the runtime-independent half of a
//! peer builder (routes, plugins, codecs, protocol, auth, heartbeat) whose
//! [`build`](BuilderCore::build) maps a [`PeerConfig`] onto the session configuration,
//! socket options and log knobs; and what the configuration means for each connection
//! ([`session_core`], [`endpoint`], [`listen_addr`], [`redial_interval`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use erpc_proto::codec::CodecRegistry;
use erpc_proto::plugin::{Plugin, Plugins, RouteInfo, SessionInfo};
use erpc_proto::proto::Protocol;
use erpc_proto::router::{Mapper, RouteId, RouteKind, Router};
use erpc_proto::session::{Auth, HeartbeatPing, Session as Core, SessionConfig};
use erpc_proto::xfer::XferRegistry;
use erpc_proto::{CodecId, Meta, WireConfig};

use crate::builder::BuildError;
use crate::config::{Network, PeerConfig};
use crate::log::LogConfig;
use crate::runtime::{Endpoint, IpFamily, SocketOptions, WsEndpoint};

/// The runtime-independent half of a peer builder; `H` is the adapter's handler type.
pub struct BuilderCore<H> {
    config: PeerConfig,
    router: Router,
    handlers: Vec<Option<H>>,
    /// The route of each handler, by route id.
    route_names: Vec<Option<String>>,
    /// The `peer` label of the peer's metrics.
    metrics_name: String,
    routes: Vec<RouteInfo>,
    plugins: Vec<Arc<dyn Plugin>>,
    /// The body codecs (handlers registered afterwards decode with them).
    pub codecs: CodecRegistry,
    /// The transfer filters.
    pub xfer: XferRegistry,
    /// The wire protocol; `None`: the one `PeerConfig::protocol` names.
    pub protocol: Option<Arc<dyn Protocol>>,
    /// The authentication of dialed sessions (accepted ones authenticate when the adapter
    /// has an auth checker, see [`session_core`]).
    pub auth: Auth,
    /// Heartbeat pings on idle dialed sessions.
    pub heartbeat_ping: Option<HeartbeatPing>,
    /// Heartbeat answers.
    pub heartbeat_pong: bool,
    /// Body codec of the auth checker's replies (see `SessionConfig::auth_reply_codec`).
    pub auth_reply_codec: Option<CodecId>,
    errors: Vec<BuildError>,
}

impl<H> std::fmt::Debug for BuilderCore<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuilderCore")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// A built peer's parts, for the adapter to run.
#[derive(Debug)]
pub struct PeerParts<H> {
    /// The configuration, as the plugins' `pre_new_peer` left it.
    pub config: PeerConfig,
    /// The session configuration every connection starts from (see [`session_core`]).
    pub session_cfg: SessionConfig,
    /// The global plugins.
    pub plugins: Plugins,
    /// The socket options of every TCP connection.
    pub socket: SocketOptions,
    /// The run-log knobs.
    pub log: LogConfig,
    /// The handlers, indexed by route id.
    pub handlers: Vec<Option<H>>,
    /// The peer's metric handles (registered now: see the `metrics` module).
    pub(crate) metrics: crate::metrics::PeerMetrics,
}

impl<H: Clone> BuilderCore<H> {
    /// No routes, every built-in codec, gzip and md5, the HTTP-style mapper.
    pub fn new(config: PeerConfig) -> Self {
        BuilderCore {
            config,
            router: Router::new(Mapper::Http),
            handlers: Vec::new(),
            route_names: Vec::new(),
            metrics_name: "erpc".to_owned(),
            routes: Vec::new(),
            plugins: Vec::new(),
            codecs: CodecRegistry::default(),
            xfer: XferRegistry::default(),
            protocol: None,
            auth: Auth::None,
            heartbeat_ping: None,
            heartbeat_pong: false,
            auth_reply_codec: None,
            errors: Vec::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.config
    }

    fn set_handler(&mut self, id: RouteId, name: &str, h: H) {
        let i = id.0 as usize;
        if self.handlers.len() <= i {
            self.handlers.resize(i + 1, None);
            self.route_names.resize(i + 1, None);
        }
        self.handlers[i] = Some(h);
        self.route_names[i] = Some(name.to_owned());
    }

    /// Registers `h` at exactly `service_method` (a failure is reported by `build`).
    pub fn add(&mut self, kind: RouteKind, service_method: &str, h: H) {
        self.add_with_plugins(kind, service_method, Vec::new(), h);
    }

    /// Registers `h` at exactly `service_method` with route plugins that run after the
    /// global ones (Go's sub-route plugins).
    pub fn add_with_plugins(
        &mut self,
        kind: RouteKind,
        service_method: &str,
        plugins: Vec<Arc<dyn Plugin>>,
        h: H,
    ) {
        match self.router.add_route(kind, service_method, plugins) {
            Ok(id) => {
                self.set_handler(id, service_method, h);
                self.routes
                    .push(RouteInfo::new(service_method, kind == RouteKind::Push));
            }
            Err(error) => self.errors.push(BuildError::Route {
                route: service_method.to_owned(),
                error,
            }),
        }
    }

    /// Sets the fallback for calls to unregistered service methods.
    pub fn unknown_call(&mut self, h: H) {
        let id = self.router.set_unknown_call();
        self.set_handler(id, crate::metrics::UNKNOWN_ROUTE, h);
    }

    /// Sets the fallback for pushes to unregistered service methods.
    pub fn unknown_push(&mut self, h: H) {
        let id = self.router.set_unknown_push();
        self.set_handler(id, crate::metrics::UNKNOWN_ROUTE, h);
    }

    /// The route the peer's mapper gives `name` under `prefix`.
    pub fn route(&self, prefix: &str, name: &str) -> String {
        let m = self.router.mapper();
        let p = if prefix.is_empty() {
            m.root()
        } else {
            m.map(&m.root(), prefix)
        };
        m.map(&p, name)
    }

    /// Sets the `peer` label of the peer's metrics (feature `metrics`).
    pub fn metrics_name(&mut self, name: &str) {
        name.clone_into(&mut self.metrics_name);
    }

    /// Uses the RPC-style mapper.
    pub fn rpc_mapper(&mut self) {
        self.router = Router::new(Mapper::Rpc);
    }

    /// Adds a global plugin.
    pub fn plugin(&mut self, plugin: impl Plugin) {
        self.plugins.push(Arc::new(plugin));
    }

    /// Dialed sessions authenticate with this token (Go's `auth-bearer`).
    pub fn auth_bearer(&mut self, codec: CodecId, info: Bytes) {
        self.auth = Auth::Bearer {
            codec,
            info,
            meta: Meta::new(),
        };
    }

    /// The TLS server name a client checks the certificate against; an invalid one is
    /// reported by `build`.
    #[cfg(feature = "tls")]
    pub fn tls_server_name(
        &mut self,
        name: &str,
    ) -> Option<futures_rustls::pki_types::ServerName<'static>> {
        futures_rustls::pki_types::ServerName::try_from(name.to_owned())
            .map_err(|e| {
                self.errors.push(BuildError::TlsServerName {
                    name: name.to_owned(),
                    reason: e.to_string(),
                })
            })
            .ok()
    }

    /// Checks everything and maps the configuration: reports the first registration error,
    /// runs `pre_new_peer`, checks the network, resolves the default codec and the protocol,
    /// runs `post_reg` for every route. The adapter runs [`post_new_peer`] once its peer
    /// exists.
    pub fn build(mut self) -> Result<PeerParts<H>, BuildError> {
        if let Some(e) = self.errors.drain(..).next() {
            return Err(e);
        }
        for p in &self.plugins {
            p.pre_new_peer(&mut self.config)
                .map_err(|st| BuildError::plugin(&**p, st))?;
        }
        let c = &self.config;
        let default_codec = self
            .codecs
            .by_name(c.default_body_codec.as_str())
            .map(|codec| codec.id())
            .ok_or_else(|| BuildError::UnknownCodec(c.default_body_codec.to_string()))?;
        let plugins = Plugins::from_vec(self.plugins.clone())?;
        for p in plugins.iter() {
            for r in &self.routes {
                p.post_reg(r).map_err(|st| BuildError::plugin(&**p, st))?;
            }
        }
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        let mut session_cfg = SessionConfig::acceptor();
        session_cfg.protocol = self.protocol.unwrap_or_else(|| c.protocol.protocol());
        if c.network == Network::Ws {
            session_cfg.protocol = c.ws_subproto.protocol(&session_cfg.protocol);
        }
        session_cfg.wire = WireConfig::default()
            .with_max_message_size(c.max_message_size)
            .with_xfer(self.xfer);
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
        session_cfg.auth_reply_codec = self.auth_reply_codec;
        let socket = SocketOptions {
            nodelay: c.tcp_nodelay,
            keepalive: nonzero(c.tcp_keepalive),
            recv_buffer: (c.read_buffer > 0).then_some(c.read_buffer),
            send_buffer: (c.write_buffer > 0).then_some(c.write_buffer),
        };
        Ok(PeerParts {
            log: LogConfig::new(c),
            config: self.config,
            session_cfg,
            plugins,
            socket,
            metrics: crate::metrics::PeerMetrics::new(&self.metrics_name, &self.route_names),
            handlers: self.handlers,
        })
    }
}

/// Runs every plugin's `post_new_peer`, the last step of building a peer.
pub fn post_new_peer(plugins: &Plugins) -> Result<(), BuildError> {
    for p in plugins.iter() {
        p.post_new_peer()
            .map_err(|st| BuildError::plugin(&**p, st))?;
    }
    Ok(())
}

/// The sans-IO session of one connection: the peer's configuration with this connection's
/// protocol, side, auth direction (accepted sessions authenticate the dialer when the peer has
/// an auth checker; a dialed session never checks) and heartbeat pinger (dialed sessions only).
pub fn session_core(
    peer: &SessionConfig,
    protocol: &Arc<dyn Protocol>,
    has_auth_checker: bool,
    dialed: bool,
    id: &str,
    remote: &str,
) -> Core {
    #[allow(clippy::disallowed_methods)] // For adapters without a `Runtime` clock.
    let now = Instant::now();
    session_core_at(peer, protocol, has_auth_checker, dialed, id, remote, now)
}

/// [`session_core`] started at `now` (the runtime's clock, or a test's virtual one).
pub fn session_core_at(
    peer: &SessionConfig,
    protocol: &Arc<dyn Protocol>,
    has_auth_checker: bool,
    dialed: bool,
    id: &str,
    remote: &str,
    now: Instant,
) -> Core {
    let cfg = session_config(peer, protocol, has_auth_checker, dialed);
    session_of(cfg, dialed, id, remote, now)
}

/// The session of one connection with its configuration.
fn session_of(
    cfg: impl Into<Arc<SessionConfig>>,
    dialed: bool,
    id: &str,
    remote: &str,
    now: Instant,
) -> Core {
    Core::new(
        cfg,
        SessionInfo::new(id, Some(remote.to_owned()), dialed),
        now,
    )
}

/// The configuration of one connection's session (see [`session_core`]).
fn session_config(
    peer: &SessionConfig,
    protocol: &Arc<dyn Protocol>,
    has_auth_checker: bool,
    dialed: bool,
) -> SessionConfig {
    let mut cfg = peer.clone();
    cfg.protocol = Arc::clone(protocol);
    cfg.dialed = dialed;
    if dialed {
        if matches!(cfg.auth, Auth::Checker) {
            cfg.auth = Auth::None;
        }
    } else if has_auth_checker {
        cfg.auth = Auth::Checker;
    } else {
        cfg.auth = Auth::None;
    }
    if !dialed {
        cfg.heartbeat_ping = None;
    }
    cfg
}

/// How many session configurations a [`SessionConfigs`] keeps.
const CONFIGS_KEPT: usize = 8;

/// The session configurations of a peer's connections, made once per protocol and side and
/// shared by the sessions ([`session_core_at`] makes one per session): a configuration is a
/// couple of hundred bytes, an idle session a few KiB. Keeps the last [`CONFIGS_KEPT`]; a
/// peer speaks one protocol or a handful.
#[derive(Default)]
pub(crate) struct SessionConfigs(std::sync::Mutex<Vec<MadeConfig>>);

/// One configuration a [`SessionConfigs`] made: for this protocol, on this side (dialed).
type MadeConfig = (Arc<dyn Protocol>, bool, Arc<SessionConfig>);

impl SessionConfigs {
    /// [`session_core_at`] with a shared configuration.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn core_at(
        &self,
        peer: &SessionConfig,
        protocol: &Arc<dyn Protocol>,
        has_auth_checker: bool,
        dialed: bool,
        id: &str,
        remote: &str,
        now: Instant,
    ) -> Core {
        let cfg = {
            let mut made = self.0.lock().unwrap_or_else(|e| e.into_inner());
            let found = made
                .iter()
                .position(|(p, d, _)| *d == dialed && Arc::ptr_eq(p, protocol));
            match found {
                Some(i) => Arc::clone(&made[i].2),
                None => {
                    let cfg = Arc::new(session_config(peer, protocol, has_auth_checker, dialed));
                    if made.len() >= CONFIGS_KEPT {
                        made.remove(0);
                    }
                    made.push((Arc::clone(protocol), dialed, Arc::clone(&cfg)));
                    cfg
                }
            }
        };
        Core::new(
            cfg,
            SessionInfo::new(id, Some(remote.to_owned()), dialed),
            now,
        )
    }
}

/// The endpoint of `addr` on the configured network (`unix`, `unixpacket`: `addr` is a path; `kcp`: UDP;
/// `ws`: `host:port` or a `ws://host:port/path` URL, with `ws_path` and `ws_token`).
pub fn endpoint(config: &PeerConfig, addr: &str) -> Endpoint {
    match config.network {
        Network::Unix => Endpoint::unix(addr),
        Network::Unixpacket => Endpoint::unixpacket(addr),
        Network::Kcp => Endpoint::kcp(addr),
        Network::Quic => Endpoint::quic(addr),
        Network::Ws => {
            let token = (!config.ws_token.is_empty()).then(|| config.ws_token.clone());
            Endpoint::Ws(WsEndpoint::parse(addr, &config.ws_path).with_token(token))
        }
        tcp => Endpoint::Tcp {
            addr: addr.to_owned(),
            family: IpFamily::of(tcp),
        },
    }
}

/// Where `listen` listens: `local_ip:listen_port` (for `unix` and `unixpacket`: the path in
/// `local_ip`).
pub fn listen_addr(config: &PeerConfig) -> String {
    let c = config;
    if c.network.is_unix() {
        c.local_ip.clone()
    } else if c.local_ip.contains(':') && !c.local_ip.starts_with('[') {
        format!("[{}]:{}", c.local_ip, c.listen_port)
    } else {
        format!("{}:{}", c.local_ip, c.listen_port)
    }
}

/// The pause before a redial attempt (Go: 100 ms when zero).
pub fn redial_interval(config: &PeerConfig) -> Duration {
    if config.redial_interval.is_zero() {
        Duration::from_millis(100)
    } else {
        config.redial_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erpc_proto::proto::RawProto;

    use crate::conn::tests::origin;

    #[test]
    fn sessions_of_one_protocol_and_side_share_their_configuration() {
        let cache = SessionConfigs::default();
        let peer = SessionConfig::acceptor();
        let raw: Arc<dyn Protocol> = Arc::new(RawProto);
        let other: Arc<dyn Protocol> = Arc::new(RawProto);
        let now = origin();
        let a = cache.core_at(&peer, &raw, true, false, "a", "r", now);
        let b = cache.core_at(&peer, &raw, true, false, "b", "r", now);
        let dialed = cache.core_at(&peer, &raw, true, true, "c", "r", now);
        let elsewhere = cache.core_at(&peer, &other, true, false, "d", "r", now);
        assert!(std::ptr::eq(a.config(), b.config()));
        assert!(!std::ptr::eq(a.config(), dialed.config()));
        assert!(!std::ptr::eq(a.config(), elsewhere.config()));
        // The shared configuration is what each session would have had on its own.
        assert!(matches!(a.config().auth, Auth::Checker) && !a.config().dialed);
        assert!(matches!(dialed.config().auth, Auth::None) && dialed.config().dialed);
        assert_eq!(a.info().id, "a");
        assert_eq!(b.info().id, "b");
    }

    #[test]
    fn the_cache_keeps_a_bounded_number_of_configurations() {
        let cache = SessionConfigs::default();
        let peer = SessionConfig::acceptor();
        for _ in 0..3 * CONFIGS_KEPT {
            let p: Arc<dyn Protocol> = Arc::new(RawProto);
            cache.core_at(&peer, &p, false, true, "x", "r", origin());
        }
        assert_eq!(cache.0.lock().unwrap().len(), CONFIGS_KEPT);
    }
}
