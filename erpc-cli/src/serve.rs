//! `erpc serve`: a demo server with the routes of Go eRPC's examples and interop tests.
//!
//! | route | kind | does |
//! |---|---|---|
//! | `/math/add` | call | JSON array of ints → their sum; logs the `author` meta |
//! | `/echo/bytes` | call | returns the body as it came (raw bytes, the call's codec) |
//! | `/echo/string` | call | decodes a string with the call's codec and returns it |
//! | `/err/code` | call | fails with status 1001 `custom error`, cause `custom cause` |
//! | `/slow/sleep` | call | sleeps the given number of milliseconds, returns it |
//! | `/push/echo` | push | pushes the body back to the sender at `/push/echo_back` |
//! | `/push/status` | push sent | to every session each `--push-interval` (Go's broadcast text) |
//! | `/meta/echo` | call | the call's meta as a JSON object (the last value of each key) |
//! | `/meta/push` | push | recorded for `/meta/last_push` |
//! | `/meta/last_push` | call | `{"count":N,"meta":{…},"body":"…","body_codec":"s"}` of the last `/meta/push` |
//! | `/bind/check` | call | with `--binder`: Go's plugin/binder on the Go peer's `BindArgs` (JSON) |
//!
//! With `--proxy-to ADDR` the `/meta/*` routes are not served: they, and every other route
//! the server does not know, are forwarded to ADDR (Go's plugin/proxy).
//!
//! `--xfer` filters go on every reply (appended to the call's own filters, which a reply always
//! reuses) and on every push the server sends.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use erpc_proto::codec::{CodecRegistry, EncodeBody};
use erpc_proto::session::Reply;
use erpc_proto::{MessageType, XferPipe};
use erpc_runtime_tokio::{
    builder, graceful_shutdown_on_signal, CallCtx, Code, CodecId, Endpoint, HandlerTasks,
    IntoReply, Message, Network, Peer, PeerConfig, PushCtx, Raw, Session, Status, WireProtocol,
};

use crate::client::{
    named, parse_addr, parse_duration, parse_handler_tasks, parse_size, parse_xfer, Addr, BoxError,
    KcpArgs, SecureArgs, WsArgs,
};

/// `erpc serve`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct ServeArgs {
    /// Where to listen: `host:port` (port 0: any free port), or `unix:/path/to.sock`.
    #[arg(long, default_value = "127.0.0.1:9090", value_parser = parse_addr)]
    addr: Addr,
    /// Network: tcp (or unix for `unix:` addresses), tcp4, tcp6, unix, unixpacket
    /// (seqpacket, `unix:` addresses, Linux), kcp (UDP), ws, or quic (UDP with TLS 1.3:
    /// needs --tls-self-signed or --cert/--key). kcp, ws, quic and unixpacket need their
    /// cargo features.
    #[arg(long, value_parser = named::<Network>(Network::NAMES), default_value_t = Network::Tcp)]
    network: Network,
    #[command(flatten)]
    ws: WsArgs,
    #[command(flatten)]
    kcp: KcpArgs,
    /// Wire protocol: raw, json, protobuf (pb), thrift, thrift-struct, http.
    #[arg(long, value_parser = named::<WireProtocol>(WireProtocol::NAMES),
          default_value_t = WireProtocol::Raw)]
    proto: WireProtocol,
    /// Transfer filters added to every reply and push the server sends: `--xfer gzip,md5`.
    #[arg(long, value_name = "NAMES", value_delimiter = ',', value_parser = parse_xfer)]
    xfer: Vec<u8>,
    /// Period of the `/push/status` broadcast to every session (Go syntax); 0: none.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    push_interval: Duration,
    /// Require this auth token from every client (Go's auth checker; others get 401).
    #[arg(long, value_name = "TOKEN")]
    auth: Option<String>,
    /// Answer heartbeat pings (Go's heart-pong) and drop clients whose pings stop.
    #[arg(long)]
    heartbeat: bool,
    /// TLS with a fresh self-signed certificate for localhost and 127.0.0.1.
    #[arg(long, conflicts_with_all = ["cert", "key"])]
    tls_self_signed: bool,
    /// TLS certificate chain (PEM); needs --key.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Largest message accepted or sent (bytes; K, M, G suffixes); larger frames close the
    /// connection.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size)]
    max_message_size: usize,
    /// Handlers running at once per session; at the limit the session stops reading.
    #[arg(long, value_name = "N", default_value_t = erpc_runtime_tokio::limits::MAX_HANDLERS)]
    max_handlers: usize,
    /// Handlers running at once in the whole server.
    #[arg(long, value_name = "N", default_value_t = erpc_runtime_tokio::limits::MAX_PEER_HANDLERS)]
    max_peer_handlers: usize,
    /// Bytes queued for one connection's socket before it stops reading and starting
    /// handlers (K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    max_queued: usize,
    /// Close a connection whose queued bytes have not moved for this long (Go syntax); 0:
    /// never.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    write_timeout: Duration,
    /// With --auth: close a connection that has not authenticated within this (Go syntax);
    /// 0: never.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    auth_timeout: Duration,
    /// Where handlers run: `adaptive` (a task each, the first step of routes proven fast
    /// inside the connection's task), `always` (a task each), `never` (first step inline).
    #[arg(long, value_name = "MODE", default_value = "adaptive", value_parser = parse_handler_tasks)]
    handler_tasks: HandlerTasks,
    #[command(flatten)]
    secure: SecureArgs,
    /// Go's plugin/ignorecase: service methods of incoming calls and pushes are lower-cased
    /// before routing (`/Math/Add` reaches `/math/add`).
    #[arg(long)]
    ignorecase: bool,
    /// Go's plugin/binder: serve `/bind/check`, whose argument (the Go peer's `BindArgs`:
    /// body `name`, `age`, `email`, `score`, meta `token`, `level`) is bound and validated
    /// before the handler; a failure answers Go's status (`400 Invalid Parameter` with its
    /// JSON cause, or the rule's own code and message).
    #[arg(long)]
    binder: bool,
    /// Go's plugin/overloader: `maxconn=N,qps=N,interval=1s` (any subset; interval in (0,
    /// 1s]; a `/route=N` item limits one route). A connection over maxconn is accepted and
    /// closed with nothing sent (the reason is only logged, at debug level); a call over a
    /// QPS limit gets `500 qps overload, total_limit=N` (or `handler_limit=N`).
    #[arg(long, value_name = "SPEC", value_delimiter = ',', value_parser = crate::overload::parse_item)]
    overload: Vec<crate::overload::Item>,
    /// A route's QPS limit, repeatable or comma-separated: `--overload-handler /math/add=5`.
    #[arg(long, value_name = "ROUTE=N", value_delimiter = ',', value_parser = crate::overload::parse_route)]
    overload_handler: Vec<crate::overload::Item>,
    /// Serve the peer's metrics in Prometheus text at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9100): calls, pushes and latencies per route, bytes, connections.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<std::net::SocketAddr>,
    /// Go's plugin/proxy: calls and pushes to routes this server does not serve (and the
    /// `/meta/*` routes) are forwarded to the eRPC peer at ADDR (tcp), with their meta plus
    /// `X-Real-IP`; its replies and statuses come back (codes 100–199 as `502 Bad Gateway`).
    #[arg(long, value_name = "ADDR")]
    proxy_to: Option<String>,
    /// Go's graceful reboot (unix; tcp and unix addresses): on SIGUSR2 a new `erpc serve`
    /// with the same arguments takes the listener over (`LISTEN_FDS`, `LISTEN_PARENT_ADDRS`
    /// as Go eRPC writes them, so port 0 keeps its port); once it serves, this process
    /// drains (calls in flight finish) and exits 0. No connection attempt is refused.
    #[arg(long, conflicts_with = "register")]
    reboot: bool,
    /// Write this process's pid to PATH once it listens (each reboot generation does).
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
    /// The protocol spoken to the --proxy-to upstream (default: --proto).
    #[arg(long, value_name = "PROTO", requires = "proxy_to",
          value_parser = named::<WireProtocol>(WireProtocol::NAMES))]
    proxy_proto: Option<WireProtocol>,
    #[command(flatten)]
    registry: crate::registry::RegisterArgs,
}

/// A handler's result plus the server's filters to append to the reply's pipe.
struct WithXfer<R>(Result<R, Status>, Vec<u8>);

impl<R: EncodeBody> IntoReply for WithXfer<R> {
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply {
        let mut reply = self.0.into_reply(codec, codecs);
        reply.extra_xfer = self.1;
        reply
    }
}

/// The server's filters the call does not already use (a reply reuses the call's).
fn extra_xfer(ctx: &CallCtx, server: &[u8]) -> Vec<u8> {
    server
        .iter()
        .copied()
        .filter(|id| !ctx.xfer_pipe().contains(id))
        .collect()
}

/// Go's `time.Now().String()` in UTC, monotonic reading included:
/// `2021-05-19 12:08:02.12345 +0000 UTC m=+0.250639285`. Go's monotonic reading counts from
/// its process start; `started` stands in for it.
fn go_time_now(started: std::time::Instant) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    go_time_string(now, started.elapsed())
}

/// [`go_time_now`] for a wall time since the epoch and a monotonic reading. Go's layout
/// `2006-01-02 15:04:05.999999999 -0700 MST` drops the fraction's trailing zeros (and the dot
/// with them); the monotonic part ` m=+S.NNNNNNNNN` always has nine digits.
fn go_time_string(wall: Duration, mono: Duration) -> String {
    let secs = wall.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let frac = format!(".{:09}", wall.subsec_nanos());
    let frac = frac.trim_end_matches('0').trim_end_matches('.');
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}{frac} +0000 UTC m=+{}.{:09}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        mono.as_secs(),
        mono.subsec_nanos()
    )
}

/// Hands a PUSH to `session`'s connection without waiting: a session whose queue is full
/// (a client that does not read) loses the push, logged, instead of growing memory.
fn push_now(session: &Session, msg: Message) {
    if let Err(st) = session.try_push_message(msg) {
        tracing::debug!(session = %session.id(), %st, "push dropped");
    }
}

fn build(a: &ServeArgs) -> Result<Peer, BoxError> {
    crate::client::check_xfer(a.proto, &a.xfer)?;
    let xfer: Arc<[u8]> = a.xfer.clone().into();
    let config = PeerConfig {
        shutdown_timeout: Duration::from_secs(5),
        max_message_size: a.max_message_size,
        max_handlers: a.max_handlers,
        max_peer_handlers: a.max_peer_handlers,
        max_queued_bytes: a.max_queued,
        write_timeout: a.write_timeout,
        auth_timeout: a.auth_timeout,
        handler_tasks: a.handler_tasks,
        ws_subproto: a.ws.ws_subproto,
        protocol: a.proto,
        ..PeerConfig::default()
    };
    if a.network == Network::Quic && !(a.tls_self_signed || a.cert.is_some()) {
        return Err(
            "--network quic needs TLS (part of QUIC): pass --tls-self-signed or --cert/--key"
                .into(),
        );
    }
    let x = xfer.clone();
    let mut b =
        a.kcp
            .apply(builder(config))
            .call("/math/add", move |ctx: CallCtx, args: Vec<i64>| {
                let extra = extra_xfer(&ctx, &x);
                tracing::info!(
                    author = ctx.peek_meta("author").unwrap_or(""),
                    args = ?args,
                    "/math/add"
                );
                let sum = args
                    .iter()
                    .try_fold(0i64, |acc, &v| acc.checked_add(v))
                    .ok_or_else(|| {
                        Status::with_cause(Code::BAD_MESSAGE, "the sum overflows int64")
                    });
                std::future::ready(WithXfer(sum, extra))
            });
    let x = xfer.clone();
    b = b.call("/echo/bytes", move |ctx: CallCtx, body: Raw| {
        std::future::ready(WithXfer(Ok(body), extra_xfer(&ctx, &x)))
    });
    let x = xfer.clone();
    b = b.call("/echo/string", move |ctx: CallCtx, s: String| {
        std::future::ready(WithXfer(Ok(s), extra_xfer(&ctx, &x)))
    });
    let x = xfer.clone();
    b = b.call("/err/code", move |ctx: CallCtx, _: Raw| {
        let st = Status::new(1001, "custom error", Some("custom cause"));
        std::future::ready(WithXfer::<()>(Err(st), extra_xfer(&ctx, &x)))
    });
    let x = xfer.clone();
    b = b.call("/slow/sleep", move |ctx: CallCtx, ms: u64| {
        let extra = extra_xfer(&ctx, &x);
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            WithXfer(Ok(ms), extra)
        }
    });
    let x = xfer.clone();
    b = b.push("/push/echo", move |ctx: PushCtx, body: Raw| {
        tracing::info!(
            from = %ctx.remote_addr(),
            bytes = body.0.len(),
            "push /push/echo received"
        );
        let mut msg = Message::new(MessageType::PUSH, 0, "/push/echo_back");
        msg.body_codec = ctx.body_codec();
        msg.meta = ctx.meta().clone();
        msg.body = body.0;
        msg.xfer_pipe = XferPipe::from_ids(&x);
        push_now(ctx.session(), msg);
        std::future::ready(())
    });
    b = match &a.proxy_to {
        Some(addr) => {
            let upstream = PeerConfig {
                max_message_size: a.max_message_size,
                ..PeerConfig::default()
            };
            crate::proxy::install(b, addr, a.proxy_proto.unwrap_or(a.proto), upstream)?
        }
        None => crate::meta_routes::register(b),
    };
    if let Some(token) = &a.auth {
        let token = Bytes::from(token.clone().into_bytes());
        b = b.auth_checker(CodecId::PLAIN, move |m: Message| {
            let ok = m.body == token;
            async move {
                if ok {
                    Ok(Bytes::from_static(b"pass"))
                } else {
                    tracing::warn!("auth token refused");
                    Err(Status::with_cause(Code::UNAUTHORIZED, "invalid auth token"))
                }
            }
        });
    }
    if a.heartbeat {
        b = b.heartbeat_pong();
    }
    if a.binder {
        b = crate::bind_routes::register(b);
    }
    // Go's order: the service method is lower-cased before anything counts it.
    if a.ignorecase {
        b = b.plugin(erpc_proto::plugins::IgnoreCase::new());
    }
    let items: Vec<_> = a
        .overload
        .iter()
        .chain(&a.overload_handler)
        .cloned()
        .collect();
    if let Some(plugin) = crate::overload::overloader(&items)? {
        b = b.plugin(plugin);
    }
    if let Some(plugin) = a.secure.plugin()? {
        b = b.plugin(plugin);
    }
    if a.tls_self_signed {
        let (cfg, _cert) =
            erpc_runtime_tokio::tls::self_signed_server(&["localhost", "127.0.0.1"])?;
        b = b.tls_server(cfg);
    } else if let (Some(cert), Some(key)) = (&a.cert, &a.key) {
        let read =
            |p: &PathBuf| std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()));
        let cfg = erpc_runtime_tokio::tls::server_config_from_pem(&read(cert)?, &read(key)?)?;
        b = b.tls_server(cfg);
    }
    Ok(b.build()?)
}

/// A unix socket left behind by a server that died: removed when nothing answers on it.
#[cfg(unix)]
fn clear_stale_socket(path: &std::path::Path) -> Result<(), BoxError> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(format!("{} exists and is not a socket", path.display()).into());
    }
    // Refused: nobody listens, the socket is stale. Connected, or a listener of another
    // socket type (a `unixpacket` server answers a stream connect with EPROTOTYPE): in use.
    match std::os::unix::net::UnixStream::connect(path) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
        _ => return Err(format!("{} is in use by another server", path.display()).into()),
    }
    std::fs::remove_file(path)?;
    Ok(())
}

#[cfg(not(unix))]
fn clear_stale_socket(_: &std::path::Path) -> Result<(), BoxError> {
    Ok(())
}

/// Pushes Go's broadcast text to every session each `interval`, until the peer closes.
async fn broadcast(peer: Peer, interval: Duration, xfer: Vec<u8>) {
    let started = std::time::Instant::now();
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if peer.is_closing() {
            break;
        }
        let text = format!("this is a broadcast, server time: {}", go_time_now(started));
        let body = match serde_json::to_vec(&text) {
            Ok(b) => Bytes::from(b),
            Err(_) => continue,
        };
        peer.range_sessions(|s| {
            let mut msg = Message::new(MessageType::PUSH, 0, "/push/status");
            msg.body_codec = CodecId::JSON;
            msg.body = body.clone();
            msg.xfer_pipe = XferPipe::from_ids(&xfer);
            push_now(s, msg);
            true
        });
    }
}

/// `erpc serve`.
pub(crate) fn run(a: ServeArgs) -> Result<(), BoxError> {
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    rt.enable_all();
    if let Some(t) = a.threads {
        rt.worker_threads(t.max(1));
    }
    rt.build()?.block_on(async {
        // The recorder first: the peer registers its per-route metrics when it is built.
        if let Some(addr) = a.metrics {
            crate::metrics::serve_prometheus(addr)?;
        }
        let peer = build(&a)?;
        if let Addr::Unix(p) = &a.addr {
            // A process a graceful reboot started serves the socket it inherited there.
            if std::env::var_os(erpc_runtime_tokio::reboot::LISTEN_FDS).is_none() {
                clear_stale_socket(p)?;
            }
        }
        let endpoint = match a.addr.endpoint(a.network, &a.ws)? {
            // The browser client and its demo page for plain HTTP requests on the port.
            Endpoint::Ws(ws) => {
                let files = crate::browser::files(&ws.path);
                Endpoint::Ws(ws.with_files(files))
            }
            other => other,
        };
        let bound = peer
            .listen_on(endpoint)
            .await
            .map_err(|st| format!("cannot listen on {}: {st}", a.addr))?;
        let registrar = a.registry.register(&peer, &bound).await?;
        let shown = match &a.addr {
            Addr::Unix(p) => format!("unix:{}", p.display()),
            Addr::Tcp(_) => bound,
        };
        let mut extras = vec![format!("proto {}", a.proto.as_str())];
        if matches!(a.network, Network::Kcp | Network::Unixpacket | Network::Quic) {
            extras.push(a.network.to_string());
        }
        if a.network == Network::Ws {
            extras.push(format!(
                "ws {} {}, browser client at /erpc.js, demo at /",
                a.ws.ws_subproto,
                a.ws.ws_path
            ));
        }
        if a.tls_self_signed || a.cert.is_some() {
            extras.push("tls".into());
        }
        if a.auth.is_some() {
            extras.push("auth".into());
        }
        if a.heartbeat {
            extras.push("heartbeat".into());
        }
        if let Some(m) = a.metrics {
            extras.push(format!("metrics http://{m}/metrics"));
        }
        if a.ignorecase {
            extras.push("ignorecase".into());
        }
        if a.binder {
            extras.push("binder".into());
        }
        if !a.overload.is_empty() || !a.overload_handler.is_empty() {
            extras.push("overload".into());
        }
        if a.secure.secure_key.is_some() {
            extras.push("secure".into());
        }
        if let Some(to) = &a.proxy_to {
            extras.push(format!("proxy to {to}"));
        }
        if let Some(r) = &registrar {
            extras.push(format!("registered {}", r.key()));
        }
        if a.reboot {
            extras.push(format!("pid {}, graceful reboot on SIGUSR2", std::process::id()));
        }
        if let Some(path) = &a.pid_file {
            std::fs::write(path, format!("{}\n", std::process::id()))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        // A fixed, parseable first line (scripts and tests read the port from it).
        eprintln!("erpc serve: listening on {shown} ({})", extras.join(", "));
        if a.proto == WireProtocol::Http && !a.push_interval.is_zero() {
            tracing::info!("httproto cannot carry pushes: no /push/status broadcast");
        } else if !a.push_interval.is_zero() {
            tokio::spawn(broadcast(peer.clone(), a.push_interval, a.xfer.clone()));
        }
        match registrar {
            None if a.reboot => {
                let opts = erpc_runtime_tokio::reboot::RebootOptions::default();
                if let Some(s) = erpc_runtime_tokio::graceful_reboot_on_signal(&peer, opts).await? {
                    eprintln!("erpc serve: rebooted into pid {}; this process drained", s.pid);
                }
            }
            None => graceful_shutdown_on_signal(&peer).await?,
            Some(reg) => {
                crate::registry::wait_for_signal().await?;
                tracing::info!("signal received: leaving the registry, then shutting down");
                if let Err(e) = reg.leave_and_close(&peer).await {
                    tracing::warn!(error = %e, "could not revoke the registration (it expires after its TTL)");
                }
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    #[test]
    fn go_time_shape() {
        let t = super::go_time_now(std::time::Instant::now());
        // 2021-05-19 12:08:02.0001 +0000 UTC m=+0.000001234
        assert!(t.contains(" +0000 UTC m=+0."), "{t}");
        assert_eq!(&t[4..5], "-");
        assert_eq!(&t[10..11], " ");
    }

    /// As Go's `Time.String()` prints them (erpc-go-peer's `/push/status` broadcasts).
    #[test]
    fn go_time_drops_trailing_zeros() {
        let t = |nanos| {
            super::go_time_string(
                Duration::new(1_621_426_082, nanos),
                Duration::new(0, 462_808_916),
            )
        };
        assert_eq!(
            t(123_456_789),
            "2021-05-19 12:08:02.123456789 +0000 UTC m=+0.462808916"
        );
        assert_eq!(
            t(205_148_160),
            "2021-05-19 12:08:02.20514816 +0000 UTC m=+0.462808916"
        );
        assert_eq!(t(0), "2021-05-19 12:08:02 +0000 UTC m=+0.462808916");
        let late = super::go_time_string(Duration::new(0, 5), Duration::new(61, 50));
        assert_eq!(
            late,
            "1970-01-01 00:00:00.000000005 +0000 UTC m=+61.000000050"
        );
    }
}
