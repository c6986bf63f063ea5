//! What every dialing subcommand shares: the flags (protocol, codec, meta, filters, timeout,
//! auth, TLS), their parsing, and dialing.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use erpc_proto::plugins::secure;
use std::str::FromStr;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use erpc_proto::xfer::XferRegistry;
use erpc_runtime_tokio::rustls::{self, ClientConfig};
use erpc_runtime_tokio::{
    builder, parse_go_duration, Code, CodecId, Endpoint, IpFamily, Meta, Network, Peer,
    PeerBuilder, PeerConfig, Session, UnknownName, WireProtocol, WsEndpoint, WsSubprotocol,
};

/// The error of a subcommand: its text is printed as one line after `error: `.
pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A clap parser for one of erpc-peer's named choices ([`WireProtocol`], [`Network`],
/// [`WsSubprotocol`]): every name and alias is a possible value.
pub(crate) fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: FromStr<Err = UnknownName> + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).try_map(|name| name.parse::<T>())
}

/// Refuses filters `proto` cannot carry (Go fails such writes with 104).
pub(crate) fn check_xfer(proto: WireProtocol, ids: &[u8]) -> Result<(), String> {
    let reg = XferRegistry::default();
    match proto {
        WireProtocol::Http => {
            if let Some(&id) = ids.iter().find(|&&id| id != b'g') {
                let name = reg.filter(id).map_or("?", |f| f.name()).to_owned();
                return Err(format!(
                    "--proto http carries only the gzip filter, not {name:?}"
                ));
            }
        }
        WireProtocol::ThriftStruct if !ids.is_empty() => {
            return Err("--proto thrift-struct carries no transfer filter".into());
        }
        _ => {}
    }
    Ok(())
}

/// Where to connect or listen: `host:port`, or `unix:/path` for a unix-domain socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Addr {
    /// TCP `host:port`.
    Tcp(String),
    /// A unix-domain socket path.
    Unix(PathBuf),
}

impl Addr {
    /// Parses `host:port` or `unix:/path`.
    pub(crate) fn parse(s: &str) -> Result<Addr, String> {
        if let Some(p) = s.strip_prefix("unix:") {
            let p = p.strip_prefix("//").unwrap_or(p);
            if p.is_empty() {
                return Err("unix: needs a socket path (unix:/tmp/erpc.sock)".into());
            }
            return Ok(Addr::Unix(PathBuf::from(p)));
        }
        if s.is_empty() {
            return Err("empty address".into());
        }
        if !s.contains(':') {
            return Err(format!(
                "address {s:?} has no port (host:port, or unix:/path)"
            ));
        }
        Ok(Addr::Tcp(s.to_owned()))
    }

    /// The endpoint to dial or bind on `network` (`unix:` addresses are unix sockets on
    /// `tcp` too; kcp, ws and quic need `host:port`).
    pub(crate) fn endpoint(&self, network: Network, ws: &WsArgs) -> Result<Endpoint, BoxError> {
        let built_without = |feature: &str| -> BoxError {
            format!("this erpc was built without the `{feature}` feature").into()
        };
        Ok(match (self, network) {
            (Addr::Unix(p), Network::Tcp | Network::Unix) => Endpoint::Unix(p.clone()),
            (Addr::Unix(_), Network::Unixpacket) if !cfg!(feature = "unixpacket") => {
                return Err(built_without("unixpacket"))
            }
            (Addr::Unix(p), Network::Unixpacket) => Endpoint::Unixpacket(p.clone()),
            (Addr::Tcp(_), Network::Unix | Network::Unixpacket) => {
                return Err(format!("{network} needs a unix:/path address").into())
            }
            (Addr::Unix(_), _) => return Err(format!("{network} needs a host:port address").into()),
            (Addr::Tcp(_), Network::Quic) if !cfg!(feature = "quic") => {
                return Err(built_without("quic"))
            }
            (Addr::Tcp(a), Network::Quic) => Endpoint::quic(a.clone()),
            (Addr::Tcp(_), Network::Ws) if !cfg!(feature = "ws") => {
                return Err(built_without("ws"))
            }
            (Addr::Tcp(a), Network::Ws) => Endpoint::Ws(
                WsEndpoint::new(a.clone())
                    .with_path(&ws.ws_path)
                    .with_token(ws.ws_token.clone()),
            ),
            (Addr::Tcp(a), Network::Tcp) => Endpoint::tcp(a.clone()),
            (Addr::Tcp(a), Network::Tcp4 | Network::Tcp6) => Endpoint::Tcp {
                addr: a.clone(),
                family: IpFamily::of(network),
            },
            (Addr::Tcp(_), Network::Kcp) if !cfg!(feature = "kcp") => {
                return Err(built_without("kcp"))
            }
            (Addr::Tcp(a), Network::Kcp) => Endpoint::kcp(a.clone()),
            (Addr::Tcp(_), other) => {
                return Err(format!("network {other} is not supported here").into())
            }
        })
    }

    /// The host part, for the TLS server name (`localhost` for unix sockets).
    fn host(&self) -> String {
        match self {
            Addr::Unix(_) => "localhost".into(),
            Addr::Tcp(a) => {
                let host = match a.rsplit_once(':') {
                    Some((h, _)) => h,
                    None => a,
                };
                let host = host.trim_start_matches('[').trim_end_matches(']');
                if host.is_empty() {
                    "localhost".into()
                } else {
                    host.to_owned()
                }
            }
        }
    }
}

impl std::fmt::Display for Addr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Addr::Tcp(a) => f.write_str(a),
            Addr::Unix(p) => write!(f, "unix:{}", p.display()),
        }
    }
}

/// Parses a codec by name (`json`, `protobuf`, `plain`, `thrift`, `xml`, `form`), by its
/// one-character id (`j`, `p`, `s`, ...) or by its decimal id (any 1..=255).
pub(crate) fn parse_codec(s: &str) -> Result<CodecId, String> {
    let reg = erpc_proto::CodecRegistry::default();
    if let Some(c) = reg.by_name(s) {
        return Ok(c.id());
    }
    if let [b] = s.as_bytes() {
        if let Some(c) = reg.codec(CodecId(*b)) {
            return Ok(c.id());
        }
    }
    if let Ok(n) = s.parse::<u8>() {
        if n != 0 {
            return Ok(CodecId(n));
        }
    }
    let names: Vec<String> = reg.iter().map(|c| c.name().to_owned()).collect();
    Err(format!(
        "unknown codec {s:?} (known: {}, or a decimal id 1-255)",
        names.join(", ")
    ))
}

/// The name of a codec id (`json`), `none` for 0, or its number.
pub(crate) fn codec_name(id: CodecId) -> String {
    if id.0 == 0 {
        return "none".into();
    }
    match erpc_proto::CodecRegistry::default().codec(id) {
        Some(c) => c.name().to_owned(),
        None if id.0.is_ascii_graphic() => format!("{:?}", id.0 as char),
        None => id.0.to_string(),
    }
}

/// Parses one transfer filter name of the default registry (`gzip`, `md5`) to its id.
pub(crate) fn parse_xfer(s: &str) -> Result<u8, String> {
    let reg = XferRegistry::default();
    reg.by_name(s.trim()).map(|f| f.id()).ok_or_else(|| {
        let names: Vec<&str> = [b'g', b'm']
            .iter()
            .filter_map(|&id| reg.filter(id).map(|f| f.name()))
            .collect();
        format!(
            "unknown transfer filter {s:?} (known: {})",
            names.join(", ")
        )
    })
}

/// Parses `key=value` (or `key` for an empty value).
pub(crate) fn parse_meta(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').unwrap_or((s, ""));
    if k.is_empty() {
        return Err(format!("meta {s:?} has an empty key (key=value)"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// Parses a Go duration (`500ms`, `5s`, `1m30s`, `0` for none).
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    parse_go_duration(s)
}

/// `--handler-tasks`: `adaptive`, `always` or `never` (`PeerConfig::handler_tasks`).
pub(crate) fn parse_handler_tasks(s: &str) -> Result<erpc_runtime_tokio::HandlerTasks, String> {
    serde_json::from_value(serde_json::Value::String(s.trim().to_ascii_lowercase()))
        .map_err(|_| format!("{s:?}: expected adaptive, always or never"))
}

/// Parses a byte size: a number with an optional `K`, `M` or `G` suffix (powers of 1024,
/// `KiB`/`MiB`/`GiB` spellings too): `4M`, `65536`, `1GiB`.
pub(crate) fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: usize = num
        .parse()
        .map_err(|_| format!("invalid size {s:?} (e.g. 65536, 64K, 4M, 1G)"))?;
    let scale: usize = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1 << 10,
        "M" | "MB" | "MIB" => 1 << 20,
        "G" | "GB" | "GIB" => 1 << 30,
        _ => return Err(format!("unknown size unit in {s:?} (K, M, G)")),
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("size {s:?} is too large"))
}

/// Parses an ADDR argument (see [`Addr::parse`]).
pub(crate) fn parse_addr(s: &str) -> Result<Addr, String> {
    Addr::parse(s)
}

/// TLS flags of a dialing subcommand.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct TlsArgs {
    /// Connect over TLS (trusting the system's certificate authorities unless --ca).
    #[arg(long)]
    pub(crate) tls: bool,
    /// TLS without checking the server's certificate (self-signed development servers).
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Trust the certificates of this PEM file (implies --tls).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// The name the server certificate must carry (default: the host of ADDR).
    #[arg(long, value_name = "NAME")]
    pub(crate) tls_name: Option<String>,
}

impl TlsArgs {
    fn enabled(&self) -> bool {
        self.tls || self.insecure || self.ca.is_some()
    }

    fn client_config(&self) -> Result<Arc<ClientConfig>, BoxError> {
        use erpc_runtime_tokio::tls;
        if self.insecure {
            return Ok(tls::dangerous_client_config_skip_verify()?);
        }
        if let Some(path) = &self.ca {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read --ca {}: {e}", path.display()))?;
            let certs =
                tls::certs_from_pem(&pem).map_err(|e| format!("--ca {}: {e}", path.display()))?;
            return Ok(tls::client_config_trusting(&certs)?);
        }
        // The system's authorities; the ones rustls cannot parse are skipped.
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        if roots.is_empty() {
            return Err(
                "no system certificate authority found: pass --ca FILE or --insecure".into(),
            );
        }
        Ok(tls::client_config_with_roots(roots)?)
    }
}

/// The KCP flags of `serve`, `call`, `push`, `watch` and `bench` (with `--network kcp`).
/// Without them KCP runs with kcp-go's defaults, which Go eRPC's `kcp` network uses.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct KcpArgs {
    /// With `--network kcp`: send and receive windows in segments (kcp-go's default 32). A
    /// larger window on both erpc sides moves large bodies many times faster; against a Go
    /// peer its 32 sets the pace.
    #[arg(long, value_name = "SEGMENTS", value_parser = clap::value_parser!(u16).range(1..))]
    pub(crate) kcp_window: Option<u16>,
    /// With `--network kcp`: kcp-go's "turbo" mode (nodelay, 10 ms interval, fast resend
    /// after 2 skipping ACKs, no congestion control): lower latency, more packets.
    #[arg(long)]
    pub(crate) kcp_turbo: bool,
}

impl KcpArgs {
    /// The KCP parameters these flags give (`None`: kcp-go's defaults).
    #[cfg(feature = "kcp")]
    pub(crate) fn config(&self) -> Option<erpc_peer::kcp::KcpConfig> {
        if self.kcp_window.is_none() && !self.kcp_turbo {
            return None;
        }
        let mut c = erpc_peer::kcp::KcpConfig::default();
        if let Some(w) = self.kcp_window {
            c.send_window = w;
            c.recv_window = w;
        }
        if self.kcp_turbo {
            c.nodelay = true;
            c.interval_ms = 10;
            c.fast_resend = 2;
            c.congestion_control = false;
        }
        Some(c)
    }

    /// Sets the parameters on a peer builder (nothing without the flags).
    pub(crate) fn apply<R: erpc_peer::Runtime>(
        &self,
        b: erpc_peer::PeerBuilder<R>,
    ) -> erpc_peer::PeerBuilder<R> {
        #[cfg(feature = "kcp")]
        if let Some(c) = self.config() {
            return b.kcp(c);
        }
        b
    }
}

/// The websocket flags of `serve`, `call`, `push` and `watch` (with `--network ws`).
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct WsArgs {
    /// With `--network ws`: json (Go's default), pb, or proto (the `--proto` framing in each
    /// message). Must be the other side's.
    #[arg(long, value_parser = named::<WsSubprotocol>(WsSubprotocol::NAMES),
          default_value_t = WsSubprotocol::Json)]
    pub(crate) ws_subproto: WsSubprotocol,
    /// With `--network ws`: the URL path (`serve`: `/` answers every path).
    #[arg(long, value_name = "/P", default_value = "/")]
    pub(crate) ws_path: String,
    /// With `--network ws`: the `access_token` (`serve`: required of every upgrade, HTTP 403
    /// otherwise; clients: sent with the upgrade).
    #[arg(long, value_name = "T")]
    pub(crate) ws_token: Option<String>,
}

/// `--secure KEY` and `--secure-code N`, for `serve` and for the clients.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct SecureArgs {
    /// Go's plugin/secure with this AES key (16, 24 or 32 bytes: AES-128/192/256): bodies
    /// marked `X-Secure: true` travel AES-ECB encrypted. Weak (no MAC, ECB): for talking to Go
    /// peers that use it; prefer TLS. Clients mark their message unless `--meta X-Secure=…`
    /// says otherwise.
    #[arg(id = "secure", long = "secure", value_name = "KEY")]
    pub(crate) secure_key: Option<String>,
    /// The status code of plugin/secure's errors.
    #[arg(long, value_name = "N", default_value_t = secure::DEFAULT_CODE.0)]
    pub(crate) secure_code: i32,
}

impl SecureArgs {
    /// The plugin, when `--secure` is given.
    pub(crate) fn plugin(&self) -> Result<Option<secure::Secure>, BoxError> {
        let Some(key) = &self.secure_key else {
            return Ok(None);
        };
        let p = secure::Secure::new(key.as_bytes(), Code(self.secure_code))
            .map_err(|e| format!("--secure: {e}"))?;
        Ok(Some(p))
    }
}

/// The flags of `call`, `push` and `watch` that say how to connect and how to write messages.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ConnectArgs {
    /// Wire protocol (must be the server's): raw (eRPC's default), json, protobuf (pb),
    /// thrift (binary, THeader framing), thrift-struct (thrift bodies, no filters), http
    /// (HTTP/1.1 text; no PUSH, gzip the only filter).
    #[arg(long, value_parser = named::<WireProtocol>(WireProtocol::NAMES),
          default_value_t = WireProtocol::Raw)]
    pub(crate) proto: WireProtocol,
    /// Network (must be the server's): tcp (or a unix socket for `unix:` addresses), tcp4,
    /// tcp6, unix, unixpacket (`unix:` addresses), kcp, ws (see `--ws-*`), quic (needs the
    /// TLS flags). kcp, ws, quic and unixpacket need their cargo features.
    #[arg(long, value_parser = named::<Network>(Network::NAMES), default_value_t = Network::Tcp)]
    pub(crate) network: Network,
    #[command(flatten)]
    pub(crate) ws: WsArgs,
    #[command(flatten)]
    pub(crate) kcp: KcpArgs,
    /// Body codec: json (BODY must be JSON), or protobuf, plain, thrift, xml, form, a
    /// one-letter or decimal id (BODY is sent as raw bytes).
    #[arg(long, default_value = "json", value_parser = parse_codec)]
    pub(crate) codec: CodecId,
    /// Meta pair, repeatable: `--meta author=henrylee2cn --meta k=v`.
    #[arg(long = "meta", value_name = "K=V", value_parser = parse_meta)]
    pub(crate) meta: Vec<(String, String)>,
    /// Transfer filters, outer-most first: `--xfer gzip,md5`.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', value_parser = parse_xfer)]
    pub(crate) xfer: Vec<u8>,
    /// Deadline of the dial and of the call (Go syntax: 500ms, 5s, 1m); 0: none.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Authenticate with this token first (Go's auth bearer, plain codec).
    #[arg(long, value_name = "TOKEN")]
    pub(crate) auth: Option<String>,
    #[command(flatten)]
    pub(crate) secure: SecureArgs,
    #[command(flatten)]
    pub(crate) tls: TlsArgs,
    /// Show seq, status, meta, codec and timings on stderr.
    #[arg(short, long)]
    pub(crate) verbose: bool,
}

impl ConnectArgs {
    /// The meta pairs as a [`Meta`]; with `--secure`, `X-Secure: true` unless the pairs set
    /// `X-Secure` themselves.
    pub(crate) fn meta(&self) -> Meta {
        let mut meta: Meta = self.meta.iter().map(|(k, v)| (k, v)).collect();
        if self.secure.secure_key.is_some() && !meta.contains(secure::SECURE_META_KEY) {
            meta.set(secure::SECURE_META_KEY, "true");
        }
        meta
    }

    /// A client peer with these settings; `routes` adds handlers (for pushes received).
    pub(crate) fn peer(
        &self,
        addr: &Addr,
        routes: impl FnOnce(PeerBuilder) -> PeerBuilder,
    ) -> Result<Peer, BoxError> {
        check_xfer(self.proto, &self.xfer)?;
        let config = PeerConfig {
            dial_timeout: self.timeout,
            redial_times: 0,
            call_timeout: self.timeout,
            shutdown_timeout: Duration::from_secs(3),
            ws_subproto: self.ws.ws_subproto,
            protocol: self.proto,
            ..PeerConfig::default()
        };
        if self.network == Network::Quic && !self.tls.enabled() {
            return Err(
                "--network quic needs TLS (part of QUIC): pass --tls, --ca FILE or --insecure"
                    .into(),
            );
        }
        let mut b = self.kcp.apply(builder(config));
        if let Some(token) = &self.auth {
            b = b.auth_bearer(CodecId::PLAIN, token.clone().into_bytes());
        }
        if let Some(plugin) = self.secure.plugin()? {
            b = b.plugin(plugin);
        }
        if self.tls.enabled() {
            let name = self.tls.tls_name.clone().unwrap_or_else(|| addr.host());
            b = b.tls_client(self.tls.client_config()?, &name);
        }
        Ok(routes(b).build()?)
    }

    /// Dials `addr`, with a clear error when it fails.
    pub(crate) async fn dial(&self, peer: &Peer, addr: &Addr) -> Result<Session, BoxError> {
        peer.dial_endpoint(addr.endpoint(self.network, &self.ws)?)
            .await
            .map_err(|st| format!("cannot connect to {addr}: {st}").into())
    }
}

/// A single-threaded tokio runtime, enough for one client connection.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        assert_eq!(
            Addr::parse("unix:/tmp/a.sock"),
            Ok(Addr::Unix("/tmp/a.sock".into()))
        );
        assert_eq!(
            Addr::parse("127.0.0.1:9090"),
            Ok(Addr::Tcp("127.0.0.1:9090".into()))
        );
        assert!(Addr::parse("localhost").is_err());
        assert!(Addr::parse("unix:").is_err());
        assert_eq!(Addr::parse("[::1]:9").unwrap().host(), "::1");
        assert_eq!(Addr::parse(":9").unwrap().host(), "localhost");
    }

    #[test]
    fn names() {
        assert_eq!(parse_codec("json"), Ok(CodecId::JSON));
        assert_eq!(parse_codec("p"), Ok(CodecId::PROTOBUF));
        assert_eq!(parse_codec("200"), Ok(CodecId(200)));
        assert!(parse_codec("nope").is_err());
        assert_eq!(parse_xfer("gzip"), Ok(b'g'));
        assert_eq!(parse_xfer("md5"), Ok(b'm'));
        assert!(parse_xfer("zstd").unwrap_err().contains("gzip, md5"));
        assert_eq!(parse_meta("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert_eq!(parse_meta("k"), Ok(("k".into(), "".into())));
        assert!(parse_meta("=v").is_err());
        assert!(check_xfer(WireProtocol::Http, b"m").is_err());
        assert!(check_xfer(WireProtocol::Http, b"g").is_ok());
    }
}
