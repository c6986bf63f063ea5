//! The runtime-agnostic async half of erpc-rs: [`Peer`], [`Session`] handles, handler
//! registration, redial, graceful shutdown, TLS — written once against a small [`Runtime`]
//! trait that `erpc-runtime-tokio` and `erpc-runtime-async-std` implement.
//!
//! Applications use it through a runtime adapter, which re-exports everything here with the
//! runtime filled in. Protocol logic stays in the sans-IO [`erpc_proto`] core; this crate
//! moves bytes, time and handler results between the core and the sockets.
//!
//! # Architecture
//!
//! * `conn/`: the sans-IO connection core (its module docs are in the source): per
//!   connection, which outgoing calls wait for which caller, which incoming work may start
//!   (handler limits per session and per peer), flow control on the bytes queued for the
//!   socket, write and auth timeouts, cancellation, stats; the bounded command queue from
//!   handles to the connection (with deadlines, also while a dialed session redials); the
//!   redial rule. Time is passed in; tested with an in-memory peer and virtual time.
//! * `driver.rs`: one future per connection that moves bytes, commands, handler results and
//!   time between the stream and the core (I/O only). Handlers run as their own tasks
//!   ([`Runtime::spawn_handler`]), so a slow handler delays only itself and the handlers of
//!   one connection use every worker of a multi-thread runtime; by default the first step of
//!   a route proven fast runs inside the connection's task instead ([`HandlerTasks`]).
//! * `lifecycle.rs`: dialing, redialing, accepting, the end of a session; `peer.rs`: the
//!   [`Peer`] facade; `builder.rs`: [`PeerBuilder`]; `state.rs`: what they share.
//!
//! # Limits
//!
//! Every buffer the wire can grow has a bound, set in [`PeerConfig`] (defaults in
//! [`limits`]): bytes queued for a socket (`max_queued_bytes`, 4 MiB: above it a session
//! stops taking commands and starting handlers; reading pauses while work waits or twice the
//! mark is queued), handlers per session and per peer (`max_handlers`, `max_peer_handlers`),
//! calls and pushes queued by handles (`max_queued_commands`: `call`/`push` wait for room until
//! their deadline, [`Session::try_push`] fails at once), `write_timeout`, `auth_timeout`,
//! `max_message_size`. [`Session::stats`] and [`Peer::stats`] report the figures.
//!
//! # Trace context
//!
//! With the `opentelemetry` feature a call or push made inside a `tracing` span that has an
//! OpenTelemetry context (tracing-opentelemetry's layer) carries it in meta as W3C
//! `traceparent`/`tracestate`, and every handler runs in an `erpc.call` / `erpc.push` span
//! (`rpc.system`, `rpc.method`) whose parent is the caller's context, or a new root: a chain of
//! calls across peers is one trace.
//!
//! # Metrics
//!
//! With the `metrics` feature a peer records through the [`metrics`](https://docs.rs/metrics)
//! facade to whatever recorder the application installed (`metrics-exporter-prometheus`,
//! statsd, …; `erpc serve --metrics ADDR` serves them in Prometheus text):
//!
//! | name | kind | labels | what |
//! |---|---|---|---|
//! | `erpc_calls_served_total` | counter | `peer`, `route`, `code` | incoming calls answered |
//! | `erpc_call_served_seconds` | histogram | `peer`, `route` | handler time of incoming calls |
//! | `erpc_pushes_served_total` | counter | `peer`, `route` | incoming pushes handled |
//! | `erpc_calls_made_total` | counter | `peer`, `route`, `code` | outgoing calls completed |
//! | `erpc_call_made_seconds` | histogram | `peer`, `route` | outgoing calls, call to reply |
//! | `erpc_pushes_made_total` | counter | `peer`, `route`, `code` | outgoing pushes queued (or refused) |
//! | `erpc_bytes_received_total` / `erpc_bytes_sent_total` | counter | `peer` | bytes read / written |
//! | `erpc_connections` | gauge | `peer` | connection tasks (sessions, redialing ones, listeners) |
//! | `erpc_sessions` | gauge | `peer` | sessions in the peer's table |
//! | `erpc_queued_bytes` | gauge | `peer` | bytes waiting for sockets |
//! | `erpc_handlers_running` | gauge | `peer` | handlers running |
//! | `erpc_calls_pending` | gauge | `peer` | outgoing calls waiting for their reply |
//!
//! `peer` is the name given to [`PeerBuilder::metrics_name`] (default `erpc`). `route` is, on
//! the serving side, the *registered* route (`<unknown>` for the unknown-call and unknown-push
//! handlers, so that a client cannot create label values at will); on the calling side, the
//! service method called (the application chooses those). `code` is the status code (`0`:
//! OK).
//!
//! Handles are registered when the peer is built (per route) or on first use, so **install
//! the recorder before building the peer**; without one every update is a no-op. The hot path
//! takes no lock and allocates nothing: per-route handles are made at build time, a
//! connection keeps the handles of up to 256 service methods it calls, and the byte and level
//! figures are added once per turn of the connection's loop.

#[cfg(feature = "binder")]
pub mod binder;
mod builder;
// `#[derive(Bind)]` names this crate `::erpc_peer`, also in its own tests.
extern crate self as erpc_peer;
mod call;
mod config;
mod conn;
mod context;
mod driver;
pub mod early;
mod handler;
#[cfg(feature = "kcp")]
pub mod kcp;
mod large_reads;
mod lifecycle;
mod log;
mod metrics;
pub mod multiclient;
mod peer;
pub mod plugins;
#[cfg(feature = "quic")]
pub mod quic;
#[cfg(all(unix, feature = "reboot"))]
pub mod reboot;
pub mod runtime;
mod session;
mod setup;
mod state;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "tower")]
pub mod tower;
mod trace;
#[cfg(all(
    feature = "unixpacket",
    any(target_os = "linux", target_os = "android")
))]
pub mod unixpacket;
#[cfg(feature = "ws")]
pub mod ws;

pub use builder::{BuildError, PeerBuilder, Service, SubRoute};
pub use call::{CallBuilder, CallReply, SessionHandle};
pub use config::{
    format_go_duration, limits, parse_go_duration, BodyCodec, HandlerTasks, Network, PeerConfig,
    UnknownName, WireProtocol, WsSubprotocol,
};
pub use conn::stats::{PeerStats, SessionStats};
pub use context::{CallCtx, PushCtx};
#[cfg(feature = "macros")]
pub use erpc_macros::service;
#[cfg(feature = "binder")]
pub use erpc_macros::Bind;
pub use handler::{BoxFuture, IntoReply, Response};
pub use multiclient::{MultiClient, MultiClientConfig, MultiClientStats};
pub use peer::Peer;
#[cfg(unix)]
pub use runtime::InheritedListener;
pub use runtime::{
    Connected, Endpoint, HttpFile, IpFamily, Runtime, SocketOptions, Timer, WsEndpoint,
    WsHandshake, WsRequest, WsTls,
};
pub use session::{CallFuture, Session};

pub use erpc_proto;
pub use erpc_proto::codec::Raw;
pub use erpc_proto::router::Mapper;
pub use erpc_proto::{Code, CodecId, Message, Meta, Status};
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;

#[cfg(all(feature = "quic", not(any(feature = "ring", feature = "aws-lc-rs"))))]
compile_error!("erpc-peer's feature `quic` needs a crypto provider feature: `ring` or `aws-lc-rs`");

/// What the runtime adapters that do not run on [`Peer`] (erpc-runtime-blocking) share with
/// it, so that the mapping of the configuration, the per-connection session setup, the run
/// logs and the handling of handler arguments and panics exist once; not a public API.
#[doc(hidden)]
pub mod adapter {
    pub use crate::call::{decode_reply, encode_push};
    pub use crate::handler::{call_args, log_push_panic, panic_reply, push_args};
    pub use crate::log::LogConfig;
    pub use crate::setup::{
        endpoint, listen_addr, post_new_peer, redial_interval, session_core, session_core_at,
        BuilderCore, PeerParts,
    };
}

/// Paths the `#[service]` macro expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "binder")]
    pub use crate::binder;
    pub use crate::{PeerBuilder, Runtime, Service, Session, Status};
    pub use erpc_proto::codec::DecodeBody;
    pub use erpc_proto::router::Mapper;
}
