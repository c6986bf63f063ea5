//! The small runtime abstraction the async adapters implement: spawning, a resettable timer,
//! and stream connect/accept. Everything else (sessions, handlers, redial, shutdown) is
//! written once against it.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// A byte stream the peer can drive.
pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// The stream as the type it is (through a `Box<dyn Stream>` too): the peer finds its
    /// runtime's own streams with it, for [`Runtime::poll_read_spare`]. Every stream has it
    /// (the one implementation below); not for use outside the peer.
    #[doc(hidden)]
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;
}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Stream for T {
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}

/// A resettable timer future.
pub trait Timer: Future<Output = ()> + Unpin + Send + 'static {
    /// Makes the timer fire at `deadline` instead (waking is the caller's concern: it polls
    /// the timer again after resetting it).
    fn reset(&mut self, deadline: Instant);
}

/// Where to listen or dial.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// TCP to or on `host:port` (an empty host means localhost when dialing and every
    /// address when listening, as in Go).
    Tcp {
        /// `host:port`.
        addr: String,
        /// Which address families are allowed.
        family: IpFamily,
    },
    /// A unix-domain stream socket at a filesystem path.
    Unix(PathBuf),
    /// A unix-domain seqpacket socket at a filesystem path, as Go's `unixpacket` network
    /// (Linux and Android; see `erpc_peer::unixpacket` for how packets carry the
    /// stream); adapters built with it serve it (feature `unixpacket`), others answer
    /// `Unsupported`.
    Unixpacket(PathBuf),
    /// KCP over UDP to or on `host:port`, as Go eRPC's `kcp` network (kcp-go, FEC 10 + 3
    /// shards); adapters built with KCP support serve it (tokio, async-std/smol, blocking:
    /// feature `kcp`, driven by `erpc_peer::kcp`), others answer `Unsupported`.
    Kcp(String),
    /// WebSocket (`ws://`) to or on `host:port` at a URL path, as Go eRPC's
    /// `mixer/websocket`; adapters built with websocket support serve it (tokio,
    /// async-std/smol, blocking: feature `ws`, written once in `erpc_peer::ws`), others
    /// answer `Unsupported`. The stream it yields carries one record per
    /// websocket message: speak [`erpc_proto::proto::WsProto`] over it (the peer wraps any
    /// other protocol as [`WsSubProto::Proto`](erpc_proto::proto::WsSubProto::Proto)).
    Ws(WsEndpoint),
    /// QUIC over UDP to or on `host:port`, as Go eRPC's `quic` network: one bidirectional
    /// stream per connection, TLS 1.3 from the peer's TLS configuration (required). Served by
    /// adapters built with QUIC support (tokio and async-std/smol: feature `quic`) through
    /// [`Runtime::connect_quic`] and [`Runtime::bind_quic`]; others answer `Unsupported`.
    Quic(String),
}

/// Where a websocket endpoint is: `host:port`, the URL path and the optional access token.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct WsEndpoint {
    /// `host:port` (an empty host as for TCP).
    pub addr: String,
    /// The URL path, normalised as Go's mixer does (`/`, `/abc`; no trailing slash).
    pub path: String,
    /// The `access_token` query value: sent by a dial, required by a listener (HTTP 403
    /// otherwise).
    pub token: Option<String>,
    /// Files a listener serves over plain HTTP: a `GET` or `HEAD` that is not a websocket
    /// upgrade, at one of these paths, gets the file (HTTP 200), whatever the websocket path;
    /// other plain requests get HTTP 400 at the websocket path and 404 elsewhere. Ignored by a
    /// dial. Empty by default.
    pub files: Arc<[HttpFile]>,
    /// TLS around the websocket (`wss://`): the peer sets it from its TLS settings when it
    /// listens or dials on this endpoint, and the runtime adapter runs the TLS handshake
    /// before the websocket one. None by default.
    pub tls: WsTls,
    /// A check of every upgrade request after the path and token ones (Go's handshake-auth
    /// plugin): a refusal is HTTP 403 with an empty body; an id names the session (Go's
    /// `Erpc-Session-Id`). Ignored by a dial. None by default.
    pub handshake: Option<WsHandshake>,
}

/// What a [`WsHandshake`] checker sees of an upgrade request.
#[derive(Debug)]
#[non_exhaustive]
pub struct WsRequest<'a> {
    /// The URL path.
    pub path: &'a str,
    /// The raw query (without `?`), e.g. `access_token=T&sid=7`.
    pub query: &'a str,
    /// Every header as sent (names as the client spelled them).
    pub headers: &'a [(String, String)],
    /// The client's address.
    pub remote_addr: &'a str,
}

impl<'a> WsRequest<'a> {
    /// A request at `path` with this raw query and these headers, from `remote_addr`.
    pub fn new(
        path: &'a str,
        query: &'a str,
        headers: &'a [(String, String)],
        remote_addr: &'a str,
    ) -> Self {
        WsRequest {
            path,
            query,
            headers,
            remote_addr,
        }
    }

    /// The first value of the header `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The checker type of a [`WsHandshake`].
type HandshakeFn = dyn Fn(&WsRequest<'_>) -> Result<Option<String>, crate::Status> + Send + Sync;

/// A websocket listener's check of upgrade requests (see [`WsEndpoint::handshake`]), as Go's
/// handshake-auth checker: `Err(status)` refuses (HTTP 403; the status is logged),
/// `Ok(Some(id))` accepts and names the session `id`, `Ok(None)` accepts
/// with the remote address as the id. Two handshakes are equal when they are the same checker
/// (one `Arc`).
///
/// ```
/// use erpc_peer::{WsEndpoint, WsHandshake};
/// let ep = WsEndpoint::new("127.0.0.1:0").with_handshake(WsHandshake::new(|req| {
///     let user = req.query.split('&').find_map(|kv| kv.strip_prefix("user="));
///     let user = user.ok_or_else(|| erpc_peer::Status::with_cause(erpc_peer::Code::UNAUTHORIZED, "no user"))?;
///     Ok(Some(format!("user-{user}")))
/// }));
/// assert!(ep.handshake.is_some());
/// ```
#[derive(Clone)]
pub struct WsHandshake(Arc<HandshakeFn>);

impl WsHandshake {
    /// A handshake running `check`.
    pub fn new(
        check: impl Fn(&WsRequest<'_>) -> Result<Option<String>, crate::Status> + Send + Sync + 'static,
    ) -> Self {
        WsHandshake(Arc::new(check))
    }

    /// Runs the check.
    pub fn check(&self, req: &WsRequest<'_>) -> Result<Option<String>, crate::Status> {
        (self.0)(req)
    }
}

impl fmt::Debug for WsHandshake {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WsHandshake(..)")
    }
}

impl PartialEq for WsHandshake {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for WsHandshake {}

impl std::hash::Hash for WsHandshake {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (Arc::as_ptr(&self.0) as *const () as usize).hash(state);
    }
}

/// The TLS of a websocket endpoint (`wss://`; see [`WsEndpoint::tls`]). Two values are equal
/// when both are off or both are on for the same sides (the configurations are not compared).
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct WsTls {
    #[cfg(feature = "tls")]
    pub(crate) settings: crate::tls::TlsSettings,
}

impl WsTls {
    /// Whether a listener runs a TLS server handshake first.
    pub fn is_server(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.settings.server.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Whether a dial runs a TLS client handshake first.
    pub fn is_client(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.settings.client.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// The TLS server handshake on an accepted stream (the stream itself without a server
    /// configuration).
    pub async fn accept<S: Stream>(&self, stream: S) -> io::Result<Box<dyn Stream>> {
        #[cfg(feature = "tls")]
        if let Some(acceptor) = &self.settings.server {
            return Ok(Box::new(acceptor.accept(stream).await?));
        }
        Ok(Box::new(stream))
    }

    /// The TLS client handshake on a dialed stream, for the configured server name (the
    /// stream itself without a client configuration).
    pub async fn connect<S: Stream>(&self, stream: S) -> io::Result<Box<dyn Stream>> {
        #[cfg(feature = "tls")]
        if let Some((connector, name)) = &self.settings.client {
            return Ok(Box::new(connector.connect(name.clone(), stream).await?));
        }
        Ok(Box::new(stream))
    }
}

impl fmt::Debug for WsTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsTls")
            .field("server", &self.is_server())
            .field("client", &self.is_client())
            .finish()
    }
}

impl PartialEq for WsTls {
    fn eq(&self, other: &Self) -> bool {
        (self.is_server(), self.is_client()) == (other.is_server(), other.is_client())
    }
}

impl Eq for WsTls {}

impl std::hash::Hash for WsTls {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (self.is_server(), self.is_client()).hash(state);
    }
}

/// A file a websocket listener serves over plain HTTP (see [`WsEndpoint::files`]), e.g. a
/// page and the script that speaks eRPC from a browser.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct HttpFile {
    /// The URL path it is served at, exactly (`/`, `/erpc.js`; the query is ignored).
    pub path: String,
    /// Its `Content-Type`.
    pub content_type: String,
    /// Its bytes.
    pub body: bytes::Bytes,
}

impl HttpFile {
    /// The file at `path` with this content type and body.
    pub fn new(
        path: impl Into<String>,
        content_type: impl Into<String>,
        body: impl Into<bytes::Bytes>,
    ) -> Self {
        HttpFile {
            path: path.into(),
            content_type: content_type.into(),
            body: body.into(),
        }
    }
}

impl WsEndpoint {
    /// `host:port` at path `/`, no token.
    pub fn new(addr: impl Into<String>) -> Self {
        WsEndpoint {
            addr: addr.into(),
            path: "/".into(),
            token: None,
            files: Arc::from([]),
            tls: WsTls::default(),
            handshake: None,
        }
    }

    /// `host:port` or a `ws://host:port/path` URL (whose path, when it has one other than `/`,
    /// wins over `path`; an `access_token` in its query becomes the token).
    pub fn parse(addr: &str, path: &str) -> Self {
        let Some(rest) = addr.strip_prefix("ws://") else {
            return WsEndpoint::new(addr).with_path(path);
        };
        let (hostport, tail) = match rest.find(['/', '?']) {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        let (url_path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let token = query
            .split('&')
            .find_map(|kv| kv.strip_prefix("access_token="))
            .map(str::to_owned);
        let path = if url_path.is_empty() || url_path == "/" {
            path
        } else {
            url_path
        };
        WsEndpoint::new(hostport).with_path(path).with_token(token)
    }

    /// The same at `path`, normalised as Go's `path.Join("/", strings.TrimRight(p, "/"))`.
    pub fn with_path(mut self, path: &str) -> Self {
        let mut parts: Vec<&str> = Vec::new();
        for seg in path.trim_end_matches('/').split('/') {
            match seg {
                "" | "." => {}
                ".." => {
                    parts.pop();
                }
                s => parts.push(s),
            }
        }
        self.path = format!("/{}", parts.join("/"));
        self
    }

    /// The same with this access token (`None`: none).
    pub fn with_token(mut self, token: Option<String>) -> Self {
        self.token = token;
        self
    }

    /// The same with this upgrade check (see [`handshake`](Self::handshake)).
    pub fn with_handshake(mut self, handshake: WsHandshake) -> Self {
        self.handshake = Some(handshake);
        self
    }

    /// The same serving these files over plain HTTP (see [`files`](Self::files)).
    pub fn with_files(mut self, files: impl Into<Arc<[HttpFile]>>) -> Self {
        self.files = files.into();
        self
    }
}

/// Address family restriction of Go's `tcp`, `tcp4` and `tcp6` networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[allow(clippy::exhaustive_enums)] // an address family is IPv4 or IPv6
pub enum IpFamily {
    /// IPv4 or IPv6 (`tcp`).
    #[default]
    Any,
    /// IPv4 only (`tcp4`).
    V4,
    /// IPv6 only (`tcp6`).
    V6,
}

impl IpFamily {
    /// The family of `network`: `tcp4` V4, `tcp6` V6, any other `Any`.
    pub fn of(network: crate::Network) -> IpFamily {
        match network {
            crate::Network::Tcp4 => IpFamily::V4,
            crate::Network::Tcp6 => IpFamily::V6,
            _ => IpFamily::Any,
        }
    }
}

impl Endpoint {
    /// A TCP endpoint of any family.
    pub fn tcp(addr: impl Into<String>) -> Self {
        Endpoint::Tcp {
            addr: addr.into(),
            family: IpFamily::Any,
        }
    }

    /// A unix socket endpoint.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Endpoint::Unix(path.into())
    }

    /// A unixpacket (seqpacket) socket endpoint.
    pub fn unixpacket(path: impl Into<PathBuf>) -> Self {
        Endpoint::Unixpacket(path.into())
    }

    /// A websocket endpoint (`host:port` at path `/`; see [`WsEndpoint`] for path and token).
    pub fn ws(addr: impl Into<String>) -> Self {
        Endpoint::Ws(WsEndpoint::new(addr))
    }

    /// A KCP endpoint (`host:port`).
    pub fn kcp(addr: impl Into<String>) -> Self {
        Endpoint::Kcp(addr.into())
    }

    /// A QUIC endpoint (`host:port`).
    pub fn quic(addr: impl Into<String>) -> Self {
        Endpoint::Quic(addr.into())
    }

    /// The network of this endpoint ([`PeerConfig::network`](crate::PeerConfig::network)'s
    /// names).
    pub fn network(&self) -> crate::Network {
        use crate::Network;
        match self {
            Endpoint::Tcp {
                family: IpFamily::V4,
                ..
            } => Network::Tcp4,
            Endpoint::Tcp {
                family: IpFamily::V6,
                ..
            } => Network::Tcp6,
            Endpoint::Tcp { .. } => Network::Tcp,
            Endpoint::Unix(_) => Network::Unix,
            Endpoint::Unixpacket(_) => Network::Unixpacket,
            Endpoint::Kcp(_) => Network::Kcp,
            Endpoint::Ws(_) => Network::Ws,
            Endpoint::Quic(_) => Network::Quic,
        }
    }

    /// `Ok` when this endpoint is on `network`; an `InvalidInput` error otherwise (for an
    /// adapter's per-network `connect_*`/`bind_*` given another endpoint).
    pub fn require(&self, network: crate::Network) -> io::Result<()> {
        if self.network() == network {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{self} is not a {network} endpoint"),
        ))
    }

    /// The `host:port` to look up for a TCP or KCP endpoint (an empty host made explicit:
    /// localhost when dialing, every address when listening, in the allowed family).
    pub fn lookup_target(&self, listening: bool) -> io::Result<String> {
        let (addr, family) = match self {
            Endpoint::Tcp { addr, family } => (addr, family),
            Endpoint::Kcp(addr) | Endpoint::Quic(addr) => (addr, &IpFamily::Any),
            Endpoint::Ws(ws) => (&ws.addr, &IpFamily::Any),
            Endpoint::Unix(_) | Endpoint::Unixpacket(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "not a TCP or KCP endpoint",
                ))
            }
        };
        Ok(if let Some(port) = addr.strip_prefix(':') {
            match (listening, family) {
                (true, IpFamily::V6) => format!("[::]:{port}"),
                (true, _) => format!("0.0.0.0:{port}"),
                (false, IpFamily::V6) => format!("[::1]:{port}"),
                (false, _) => format!("127.0.0.1:{port}"),
            }
        } else {
            addr.clone()
        })
    }

    /// The addresses of `addrs` in the endpoint's family; an error when none is left.
    pub fn filter_family(
        &self,
        addrs: impl IntoIterator<Item = std::net::SocketAddr>,
    ) -> io::Result<Vec<std::net::SocketAddr>> {
        let family = match self {
            Endpoint::Tcp { family, .. } => *family,
            Endpoint::Unix(_)
            | Endpoint::Unixpacket(_)
            | Endpoint::Kcp(_)
            | Endpoint::Ws(_)
            | Endpoint::Quic(_) => IpFamily::Any,
        };
        let list: Vec<_> = addrs
            .into_iter()
            .filter(|a| match family {
                IpFamily::Any => true,
                IpFamily::V4 => a.is_ipv4(),
                IpFamily::V6 => a.is_ipv6(),
            })
            .collect();
        if list.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::AddrNotAvailable,
                format!("no {family:?} address for {self}"),
            ));
        }
        Ok(list)
    }

    /// The address when the endpoint is a literal `ip:port` (no lookup needed).
    pub fn literal(&self, listening: bool) -> Option<std::net::SocketAddr> {
        self.lookup_target(listening).ok()?.parse().ok()
    }

    /// Resolves `host:port` to socket addresses of the allowed family, blocking the calling
    /// thread for a DNS lookup when the host is a name (literal addresses never block). The
    /// async adapters look names up without blocking (see their `connect`); this is for
    /// listening and for the blocking adapter.
    pub fn resolve(&self, listening: bool) -> io::Result<Vec<std::net::SocketAddr>> {
        use std::net::ToSocketAddrs;
        if let Some(a) = self.literal(listening) {
            return self.filter_family([a]);
        }
        let target = self.lookup_target(listening)?;
        self.filter_family(target.to_socket_addrs()?)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Tcp { addr, .. } => f.write_str(addr),
            Endpoint::Unix(p) => write!(f, "unix:{}", p.display()),
            Endpoint::Unixpacket(p) => write!(f, "unixpacket:{}", p.display()),
            Endpoint::Kcp(addr) => write!(f, "kcp:{addr}"),
            Endpoint::Ws(ws) => write!(f, "ws://{}{}", ws.addr, ws.path),
            Endpoint::Quic(addr) => write!(f, "quic:{addr}"),
        }
    }
}

/// A connected stream with its two addresses as text (`ip:port`, or the socket path).
#[derive(Debug)]
#[non_exhaustive]
pub struct Connected<S> {
    /// The stream.
    pub stream: S,
    /// This side's address.
    pub local_addr: String,
    /// The other side's address.
    pub remote_addr: String,
    /// The id an accepted session takes instead of `remote_addr` (a websocket
    /// [`handshake`](WsEndpoint::handshake) checker's, as Go's `Erpc-Session-Id`); `None`:
    /// the remote address.
    pub session_id: Option<String>,
    /// The transport is encrypted and authenticated already (QUIC): the peer layers no TLS
    /// on it.
    pub secured: bool,
}

impl<S> Connected<S> {
    /// `stream`, connected from `local_addr` to `remote_addr`.
    pub fn new(stream: S, local_addr: impl Into<String>, remote_addr: impl Into<String>) -> Self {
        Connected {
            stream,
            local_addr: local_addr.into(),
            remote_addr: remote_addr.into(),
            session_id: None,
            secured: false,
        }
    }

    /// The same with this session id (see [`session_id`](Self::session_id)).
    pub fn with_session_id(mut self, id: Option<String>) -> Self {
        self.session_id = id;
        self
    }

    /// The same, marked as encrypted by its transport (see [`secured`](Connected::secured)).
    pub fn secured(mut self) -> Self {
        self.secured = true;
        self
    }

    /// The same addresses with another stream (a TLS stream over this one, say).
    pub fn map<T>(self, f: impl FnOnce(S) -> T) -> Connected<T> {
        Connected {
            stream: f(self.stream),
            local_addr: self.local_addr,
            remote_addr: self.remote_addr,
            session_id: self.session_id,
            secured: self.secured,
        }
    }
}

/// Socket options applied to every TCP connection (Go's process-wide socket settings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SocketOptions {
    /// Disable Nagle's algorithm (Go's default: on).
    pub nodelay: bool,
    /// TCP keep-alive period; `None` leaves the OS default.
    pub keepalive: Option<Duration>,
    /// `SO_RCVBUF`; `None` leaves the OS default.
    pub recv_buffer: Option<usize>,
    /// `SO_SNDBUF`; `None` leaves the OS default.
    pub send_buffer: Option<usize>,
}

impl Default for SocketOptions {
    fn default() -> Self {
        SocketOptions {
            nodelay: true,
            keepalive: Some(Duration::from_secs(15)),
            recv_buffer: None,
            send_buffer: None,
        }
    }
}

impl SocketOptions {
    /// Applies the options to a TCP socket.
    #[cfg(unix)]
    pub fn apply(&self, sock: &impl std::os::fd::AsFd) -> io::Result<()> {
        let s = socket2::SockRef::from(sock);
        s.set_tcp_nodelay(self.nodelay)?;
        if let Some(period) = self.keepalive {
            s.set_tcp_keepalive(
                &socket2::TcpKeepalive::new()
                    .with_time(period)
                    .with_interval(period),
            )?;
        }
        if let Some(n) = self.recv_buffer {
            s.set_recv_buffer_size(n)?;
        }
        if let Some(n) = self.send_buffer {
            s.set_send_buffer_size(n)?;
        }
        Ok(())
    }
}

/// A listening socket this process inherited from the one that started it (a graceful
/// reboot, [`crate::reboot`]), for a runtime adapter to serve as its own listener
/// ([`Runtime::adopt`]).
#[cfg(unix)]
#[derive(Debug)]
#[non_exhaustive]
pub enum InheritedListener {
    /// A TCP listener (the `tcp`, `tcp4`, `tcp6` and `ws` networks).
    Tcp(std::net::TcpListener),
    /// A unix-domain stream listener.
    Unix(std::os::unix::net::UnixListener),
}

#[cfg(unix)]
static KEEP_UNIX_SOCKET_FILES: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Whether a unix listener's socket file must stay when the listener is dropped: a
/// graceful reboot handed the socket to a new process, which serves it at that path.
/// Adapters check it before they remove the file.
#[cfg(unix)]
pub fn unix_socket_files_kept() -> bool {
    KEEP_UNIX_SOCKET_FILES.load(std::sync::atomic::Ordering::Acquire)
}

#[cfg(all(unix, feature = "reboot"))]
pub(crate) fn keep_unix_socket_files() {
    KEEP_UNIX_SOCKET_FILES.store(true, std::sync::atomic::Ordering::Release);
}

/// `host` and `port` of `host:port` (`[v6]:port` too); the port is empty without one.
pub(crate) fn split_host_port(addr: &str) -> (&str, &str) {
    match addr.rsplit_once(':') {
        Some((h, p)) => (h.trim_start_matches('[').trim_end_matches(']'), p),
        None => (addr, ""),
    }
}

/// What a runtime adapter provides. Implemented by `erpc-runtime-tokio` and
/// `erpc-runtime-async-std`; applications pick an adapter, not this trait.
pub trait Runtime: Clone + Send + Sync + fmt::Debug + 'static {
    /// The stream of a connection.
    type Stream: Stream;
    /// A bound listener.
    type Listener: Send + Sync + 'static;
    /// The timer type.
    type Timer: Timer;

    /// Runs a future in the background.
    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static;

    /// Runs a handler's future (a call or push handler, an auth check) in the background.
    /// The default spawns it like any other task; an adapter whose tasks are expensive
    /// (threads) runs handlers on a bounded worker pool instead.
    fn spawn_handler<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn(fut)
    }

    /// Whether a handler's first step may run inside its connection's task
    /// ([`HandlerTasks`](crate::HandlerTasks)). Default `true`; an adapter whose handlers may
    /// block their thread (the blocking adapter's) answers `false`, and every handler then
    /// gets [`spawn_handler`](Runtime::spawn_handler).
    fn inline_handlers_allowed(&self) -> bool {
        true
    }

    /// The current time on this runtime's clock. The peer layer reads the clock only here
    /// and passes the time into its sans-IO core.
    #[allow(clippy::disallowed_methods)] // The one place the peer layer reads the clock.
    fn now(&self) -> Instant {
        Instant::now()
    }

    /// A timer firing at `deadline`.
    fn timer(&self, deadline: Instant) -> Self::Timer;

    /// Reads at most `max` bytes from `stream` into the spare capacity of `buf` (reserving
    /// room for them), appending them, without initializing that room first (a futures-io read needs initialized bytes,
    /// so the peer otherwise zeroes the room of a large frame before reading into it).
    /// `None` when this runtime cannot for this stream: the default, and the peer then reads
    /// through [`AsyncRead`]. An adapter whose sockets offer such reads (tokio's `ReadBuf`)
    /// answers for them; it must append exactly the bytes it reports.
    fn poll_read_spare(
        stream: &mut Self::Stream,
        cx: &mut std::task::Context<'_>,
        buf: &mut bytes::BytesMut,
        max: usize,
    ) -> Option<std::task::Poll<io::Result<usize>>> {
        let _ = (stream, cx, buf, max);
        None
    }

    /// Connects to `endpoint`, applying `opts` to TCP sockets.
    fn connect(
        &self,
        endpoint: &Endpoint,
        opts: SocketOptions,
    ) -> impl Future<Output = io::Result<Connected<Self::Stream>>> + Send;

    /// Binds a listener; returns it with its actual address (the port chosen for port 0).
    fn bind(
        &self,
        endpoint: &Endpoint,
    ) -> impl Future<Output = io::Result<(Self::Listener, String)>> + Send;

    /// Serves a listening socket inherited on a graceful reboot as this runtime's listener
    /// for `endpoint` (which it was found for); returns it with its address. The default
    /// answers `Unsupported` (the peer then binds a new one).
    #[cfg(unix)]
    fn adopt(
        &self,
        endpoint: &Endpoint,
        listener: InheritedListener,
    ) -> io::Result<(Self::Listener, String)> {
        let _ = (endpoint, listener);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this runtime does not serve inherited listeners",
        ))
    }

    /// The listening socket of `listener`, which a graceful reboot hands to the next
    /// process; `None` (the default) for listeners that cannot be handed over.
    #[cfg(unix)]
    fn listener_fd<'a>(&self, listener: &'a Self::Listener) -> Option<std::os::fd::BorrowedFd<'a>> {
        let _ = listener;
        None
    }

    /// Accepts the next connection, applying `opts` to TCP sockets.
    fn accept(
        &self,
        listener: &Self::Listener,
        opts: SocketOptions,
    ) -> impl Future<Output = io::Result<Connected<Self::Stream>>> + Send;

    /// Connects to a QUIC endpoint ([`Endpoint::Quic`]) with `dial`'s quinn configuration;
    /// the stream is marked [`secured`](Connected::secured). The default answers
    /// `Unsupported`: adapters built with QUIC support override it.
    #[cfg(feature = "quic")]
    fn connect_quic(
        &self,
        endpoint: &Endpoint,
        dial: &crate::quic::QuicDial,
    ) -> impl Future<Output = io::Result<Connected<Self::Stream>>> + Send {
        let _ = dial;
        std::future::ready(Err(quic_unsupported(endpoint)))
    }

    /// Binds a QUIC listener ([`Endpoint::Quic`]) with `listen`'s quinn configuration; its
    /// connections come from [`accept`](Runtime::accept). The default answers `Unsupported`.
    #[cfg(feature = "quic")]
    fn bind_quic(
        &self,
        endpoint: &Endpoint,
        listen: &crate::quic::QuicListen,
    ) -> impl Future<Output = io::Result<(Self::Listener, String)>> + Send {
        let _ = listen;
        std::future::ready(Err(quic_unsupported(endpoint)))
    }

    /// Connects to a KCP endpoint ([`Endpoint::Kcp`]) whose session uses `config`
    /// ([`PeerBuilder::kcp`](crate::PeerBuilder::kcp)). The default is
    /// [`connect`](Runtime::connect), with kcp-go's defaults (or the adapter's error when it
    /// has no KCP support); adapters built with KCP support override it.
    #[cfg(feature = "kcp")]
    fn connect_kcp(
        &self,
        endpoint: &Endpoint,
        opts: SocketOptions,
        config: &crate::kcp::KcpConfig,
    ) -> impl Future<Output = io::Result<Connected<Self::Stream>>> + Send {
        let _ = config;
        self.connect(endpoint, opts)
    }

    /// Binds a KCP listener ([`Endpoint::Kcp`]) whose sessions use `config`. The default is
    /// [`bind`](Runtime::bind), with kcp-go's defaults.
    #[cfg(feature = "kcp")]
    fn bind_kcp(
        &self,
        endpoint: &Endpoint,
        config: &crate::kcp::KcpConfig,
    ) -> impl Future<Output = io::Result<(Self::Listener, String)>> + Send {
        let _ = config;
        self.bind(endpoint)
    }
}

/// The error of an adapter without QUIC support.
pub fn quic_unsupported(endpoint: &Endpoint) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{endpoint}: this runtime adapter has no QUIC support (erpc-runtime-tokio and erpc-runtime-async-std have, with feature `quic`)"),
    )
}

#[cfg(test)]
mod host_port_tests {
    use super::split_host_port;

    #[test]
    fn host_and_port() {
        assert_eq!(split_host_port("127.0.0.1:0"), ("127.0.0.1", "0"));
        assert_eq!(split_host_port("[::1]:9090"), ("::1", "9090"));
        assert_eq!(split_host_port(":9090"), ("", "9090"));
        assert_eq!(split_host_port("localhost"), ("localhost", ""));
    }
}
