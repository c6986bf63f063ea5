//! [`PeerConfig`]: Go eRPC's `PeerConfig`, loadable with serde (TOML, YAML, …) with Go's keys,
//! defaults and duration syntax (`100ms`, `1.5s`, `2m`, `1h`).

use std::time::Duration;

mod names;

pub use names::{BodyCodec, Network, UnknownName, WireProtocol, WsSubprotocol};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A peer's configuration. Field names and defaults follow Go's `PeerConfig`; erpc-rs adds a
/// few knobs Go has as process-wide settings or not at all.
///
/// ```
/// let cfg: erpc_peer::PeerConfig = serde_json::from_str(
///     r#"{"network":"tcp","listen_port":9090,"redial_times":3,"redial_interval":"150ms","default_body_codec":"protobuf"}"#,
/// ).unwrap();
/// assert_eq!(cfg.listen_port, 9090);
/// assert_eq!(cfg.redial_interval, std::time::Duration::from_millis(150));
/// ```
///
/// Build it with struct update syntax (`PeerConfig { listen_port: 9090, ..Default::default() }`)
/// so that new fields do not break your code.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::exhaustive_structs)] // built with struct update syntax (`..Default::default()`), which new fields do not break
pub struct PeerConfig {
    /// `tcp`, `tcp4`, `tcp6`, `unix` (then `local_ip` is the socket path), `unixpacket`
    /// (seqpacket unix sockets, Linux; the adapters' feature `unixpacket`), `kcp` (UDP;
    /// served by adapters built with KCP support: the tokio, async-io and blocking adapters'
    /// feature `kcp`) or `ws` (WebSocket as Go's `mixer/websocket`, at `ws_path`; the tokio,
    /// async-io and blocking adapters' feature `ws`) or `quic` (QUIC over UDP with the peer's TLS
    /// configuration; the async adapters' feature `quic`). An unknown name fails to load.
    pub network: Network,
    /// Bind address for listening (and the unix socket path for `unix`).
    pub local_ip: String,
    /// Listening port; 0 picks a free one.
    pub listen_port: u16,
    /// Per-attempt dial timeout; zero: the OS default.
    #[serde(with = "go_duration")]
    pub dial_timeout: Duration,
    /// Redial attempts after a broken dialed session, and retries of the first dial (Go's
    /// rule); negative: forever; 0: none.
    pub redial_times: i32,
    /// Pause before each redial attempt (Go: 100 ms when zero).
    #[serde(with = "go_duration")]
    pub redial_interval: Duration,
    /// erpc-rs: the wire protocol of listeners and dials that name none (Go's process-wide
    /// default protocol): `raw` (default), `json`, `protobuf` (or `pb`), `thrift`,
    /// `thrift-struct`, `http`. A protocol of your own: `PeerBuilder::protocol`, which then
    /// takes the place of this one.
    pub protocol: WireProtocol,
    /// erpc-rs: with network `ws`, how each websocket message holds an eRPC message: `json`
    /// (Go's default), `pb`, or `proto` (a frame of `protocol` in each message). See
    /// [`erpc_proto::proto::ws`].
    pub ws_subproto: WsSubprotocol,
    /// erpc-rs: with network `ws`, the URL path served and dialed (default `/`, which a
    /// listener matches for every path, as Go's `http.ServeMux`).
    pub ws_path: String,
    /// erpc-rs: with network `ws`, the `access_token` query value an upgrade request must
    /// carry (Go's `QueryToken` handshake check; refused with HTTP 403) and a dial sends;
    /// empty: none.
    pub ws_token: String,
    /// Codec of outgoing messages that name none: `json` (default), `protobuf`, `thrift`,
    /// `xml`, `form`, `plain`, or the name of a codec you registered (`PeerBuilder::codecs`);
    /// a name no registered codec has fails the build.
    pub default_body_codec: BodyCodec,
    /// Maximum lifetime of a session; zero: unlimited.
    #[serde(with = "go_duration")]
    pub default_session_age: Duration,
    /// Budget of each incoming call's handler; zero: unlimited.
    #[serde(with = "go_duration")]
    pub default_context_age: Duration,
    /// Calls slower than this are logged at WARN as slow; zero: never.
    #[serde(with = "go_duration")]
    pub slow_comet_duration: Duration,
    /// Log the meta and body of every message (at DEBUG).
    pub print_detail: bool,
    /// Measure and log the cost of every call.
    pub count_time: bool,
    /// erpc-rs: default deadline of an outgoing call; zero: none (Go's behaviour).
    #[serde(with = "go_duration")]
    pub call_timeout: Duration,
    /// erpc-rs: largest message accepted or sent, in bytes (Go's process-wide read limit).
    pub max_message_size: usize,
    /// erpc-rs: how long a graceful close waits for calls in flight.
    #[serde(with = "go_duration")]
    pub shutdown_timeout: Duration,
    /// erpc-rs: `TCP_NODELAY` (Go's default: on).
    pub tcp_nodelay: bool,
    /// erpc-rs: TCP keep-alive period; zero: keep-alive off.
    #[serde(with = "go_duration")]
    pub tcp_keepalive: Duration,
    /// erpc-rs: `SO_RCVBUF`; 0: the OS default.
    pub read_buffer: usize,
    /// erpc-rs: `SO_SNDBUF`; 0: the OS default.
    pub write_buffer: usize,
    /// erpc-rs: the high-water mark of bytes queued for a session's socket (default 4 MiB).
    /// At the mark the session stops taking calls and pushes from its handles (they wait)
    /// until the queue drains below half the mark; when the bytes queued beyond its own calls
    /// and pushes (its handlers' replies) reach the mark, it stops starting handlers until
    /// those drain below half of it. Reading pauses while incoming work waits or the queue
    /// holds twice the mark beyond its own calls and pushes, so a peer that sends without
    /// reading is held back by its own TCP window. Calls and pushes made before the
    /// authentication handshake ends, which wait for it, count as queued. 0: the default.
    pub max_queued_bytes: usize,
    /// erpc-rs: handlers (call, push, auth) running at once per session (default 1024). At
    /// the limit the session stops reading until one finishes. 0: the default.
    pub max_handlers: usize,
    /// erpc-rs: handlers running at once in the whole peer (default 65,536). At the limit
    /// every session waits for a free slot before it starts another handler. 0: the default.
    pub max_peer_handlers: usize,
    /// erpc-rs: calls and pushes a session's handles may queue for its connection (default
    /// 1024). When the queue is full `call`/`push` wait for room (until their deadline) and
    /// `try_push` fails at once. 0: the default.
    pub max_queued_commands: usize,
    /// erpc-rs: a session whose queued bytes have not moved for this long is closed (its
    /// pending calls fail with 102); zero: never. Default 30 s.
    #[serde(with = "go_duration")]
    pub write_timeout: Duration,
    /// erpc-rs: with an auth checker, an accepted session that has not authenticated within
    /// this is closed (a dialed one waiting for its AUTH_REPLY too); zero: never. Default
    /// 10 s.
    #[serde(with = "go_duration")]
    pub auth_timeout: Duration,
    /// erpc-rs: where call and push handlers run (serde: `"adaptive"`, `"always"`,
    /// `"never"`). Default [`HandlerTasks::Adaptive`].
    pub handler_tasks: HandlerTasks,
}

/// Where a connection runs its call and push handlers ([`PeerConfig::handler_tasks`]).
///
/// A handler in a task of its own never holds up its connection, and the handlers of one
/// connection run on every worker of a multi-thread runtime; but for a handler that only
/// decodes, looks something up and encodes, the task and the cross-thread wake-up that brings
/// its reply back cost more than the handler (on two cores, about a third of the calls a
/// connection serves per second).
///
/// `erpc-runtime-blocking` ignores this and gives every handler to its worker pool: its
/// handlers are plain functions that may block, or call back over their own session, which
/// would deadlock the connection's thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HandlerTasks {
    /// Each route starts with a task per handler. A route whose handlers finish within their
    /// first poll in at most 50 µs, 32 times on a connection (a first step between 50 µs and
    /// 1 ms takes 8 of them back), then runs that first step inside the connection's task (a
    /// handler that has to wait moves to a task of its own at its first `.await`). A first
    /// step that waits or takes longer than 1 ms sends the route back to its own tasks, and it
    /// must then prove itself for twice as many calls (up to 65,536) before it runs inline
    /// again.
    ///
    /// What this costs: a route that was fast every time and then, once, computes for long
    /// *before its first `.await`* holds up its connection for that call (not the others:
    /// they run on other workers). A handler that blocks its thread (`std::sync` waits,
    /// blocking I/O) should not run on an async worker at all (`spawn_blocking`); if your
    /// routes mix instant and long synchronous work, choose [`HandlerTasks::Always`].
    #[default]
    Adaptive,
    /// Every handler in a task of its own.
    Always,
    /// The first step of every handler inside the connection's task, a task of its own only
    /// if it has to wait. Fastest for handlers that never compute for long before their first
    /// `.await`; a handler that does holds up its whole connection.
    Never,
}

/// Defaults of the flow-control limits of [`PeerConfig`].
pub mod limits {
    /// [`PeerConfig::max_queued_bytes`](super::PeerConfig::max_queued_bytes): 4 MiB.
    pub const MAX_QUEUED_BYTES: usize = 4 << 20;
    /// [`PeerConfig::max_handlers`](super::PeerConfig::max_handlers): 1024.
    pub const MAX_HANDLERS: usize = 1024;
    /// [`PeerConfig::max_peer_handlers`](super::PeerConfig::max_peer_handlers): 65,536.
    pub const MAX_PEER_HANDLERS: usize = 1 << 16;
    /// [`PeerConfig::max_queued_commands`](super::PeerConfig::max_queued_commands): 1024.
    pub const MAX_QUEUED_COMMANDS: usize = 1024;
}

impl PeerConfig {
    /// [`max_queued_bytes`](PeerConfig::max_queued_bytes) with 0 meaning the default.
    pub fn queued_bytes_limit(&self) -> usize {
        nonzero_or(self.max_queued_bytes, limits::MAX_QUEUED_BYTES)
    }

    /// [`max_handlers`](PeerConfig::max_handlers) with 0 meaning the default.
    pub fn handlers_limit(&self) -> usize {
        nonzero_or(self.max_handlers, limits::MAX_HANDLERS)
    }

    /// [`max_peer_handlers`](PeerConfig::max_peer_handlers) with 0 meaning the default.
    pub fn peer_handlers_limit(&self) -> usize {
        nonzero_or(self.max_peer_handlers, limits::MAX_PEER_HANDLERS)
    }

    /// [`max_queued_commands`](PeerConfig::max_queued_commands) with 0 meaning the default.
    pub fn queued_commands_limit(&self) -> usize {
        nonzero_or(self.max_queued_commands, limits::MAX_QUEUED_COMMANDS)
    }
}

fn nonzero_or(v: usize, default: usize) -> usize {
    if v == 0 {
        default
    } else {
        v
    }
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            network: Network::Tcp,
            local_ip: "0.0.0.0".into(),
            listen_port: 0,
            dial_timeout: Duration::ZERO,
            redial_times: 0,
            redial_interval: Duration::from_millis(100),
            protocol: WireProtocol::Raw,
            ws_subproto: WsSubprotocol::Json,
            ws_path: "/".into(),
            ws_token: String::new(),
            default_body_codec: BodyCodec::Json,
            default_session_age: Duration::ZERO,
            default_context_age: Duration::ZERO,
            slow_comet_duration: Duration::ZERO,
            print_detail: false,
            count_time: false,
            call_timeout: Duration::from_secs(60),
            max_message_size: erpc_proto::DEFAULT_MAX_MESSAGE_SIZE,
            shutdown_timeout: Duration::from_secs(15),
            tcp_nodelay: true,
            tcp_keepalive: Duration::from_secs(15),
            read_buffer: 0,
            write_buffer: 0,
            max_queued_bytes: limits::MAX_QUEUED_BYTES,
            max_handlers: limits::MAX_HANDLERS,
            max_peer_handlers: limits::MAX_PEER_HANDLERS,
            max_queued_commands: limits::MAX_QUEUED_COMMANDS,
            write_timeout: Duration::from_secs(30),
            auth_timeout: Duration::from_secs(10),
            handler_tasks: HandlerTasks::Adaptive,
        }
    }
}

/// Go duration text: a sequence of decimal numbers with units `ns`, `us`/`µs`, `ms`, `s`,
/// `m`, `h` (`1h30m`, `1.5s`, `100ms`), or `0`. Negative durations are not accepted.
pub fn parse_go_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t == "0" || t.is_empty() {
        return Ok(Duration::ZERO);
    }
    let mut rest = t.strip_prefix('+').unwrap_or(t);
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in duration {text:?}"))?;
        let (num, tail) = rest.split_at(num_end);
        let value: f64 = num
            .parse()
            .map_err(|_| format!("invalid duration {text:?}"))?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let scale = match unit {
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(format!("unknown unit {unit:?} in duration {text:?}")),
        };
        total += value * scale;
        rest = tail;
    }
    Duration::try_from_secs_f64(total).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

/// Formats a duration as Go text (`1.5s`, `100ms`, `0s`).
pub fn format_go_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".into();
    }
    let nanos = d.as_nanos();
    if nanos % 1_000_000_000 == 0 {
        format!("{}s", d.as_secs())
    } else if nanos % 1_000_000 == 0 {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos % 1000 == 0 {
        format!("{}us", nanos / 1000)
    } else {
        format!("{nanos}ns")
    }
}

mod go_duration {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format_go_duration(*d))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Text {
            S(String),
            N(u64),
        }
        match Text::deserialize(d)? {
            Text::S(s) => parse_go_duration(&s).map_err(serde::de::Error::custom),
            // A bare number is nanoseconds, as Go's time.Duration.
            Text::N(n) => Ok(Duration::from_nanos(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("2us"), Ok(Duration::from_micros(2)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert!(parse_go_duration("5").is_err());
        assert!(parse_go_duration("5x").is_err());
        assert_eq!(format_go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(
            parse_go_duration(&format_go_duration(Duration::from_nanos(7))),
            Ok(Duration::from_nanos(7))
        );
    }
}
