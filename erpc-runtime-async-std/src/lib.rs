//! erpc-rs on async-io, for **smol and async-std**: an eRPC [`Peer`] that listens and dials,
//! calls and pushes, and talks to Go eRPC peers byte for byte.
//!
//! Sockets come from async-net and timers from async-io. Both run on async-io's own reactor,
//! so the one implementation serves every futures-io executor; the [`AsyncIo`] runtime value
//! only decides where the peer's background tasks are spawned:
//!
//! | executor | runtime value | feature |
//! |---|---|---|
//! | smol, global executor | [`AsyncIo::smol`] (the default of [`builder`]) | `smol` (default) |
//! | async-std | `AsyncIo::async_std` | `async-std` |
//! | smol, your `Arc<smol::Executor>` | [`AsyncIo::smol_executor`] | `smol` |
//! | anything else | [`AsyncIo::from_spawner`] | — |
//!
//! **async-std is discontinued upstream (RUSTSEC-2025-0052); smol is its successor.** The
//! `async-std` feature (off by default) is kept for existing applications; new ones should use
//! smol. The API is the same either way,
//! and the same as `erpc-runtime-tokio`'s: switching runtime changes an import.
//!
//! ```no_run
//! use erpc_runtime_async_std::{builder, CallCtx, PeerConfig, Status};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Server: Go's README `Math.Add` at /math/add.
//! let server = builder(PeerConfig { listen_port: 9090, ..PeerConfig::default() })
//!     .call("/math/add", |ctx: CallCtx, args: Vec<i64>| async move {
//!         tracing::info!(author = ?ctx.peek_meta("author"), "add");
//!         Ok::<_, Status>(args.iter().sum::<i64>())
//!     })
//!     .build()?;
//! server.listen().await?;
//!
//! // Client: dial and call.
//! let client = builder(PeerConfig::default()).build()?;
//! let session = client.dial("127.0.0.1:9090").await?;
//! let sum: i64 = session.call_with("/math/add").meta("author", "henrylee2cn").send(&[1, 2, 3, 4, 5]).await?.body;
//! assert_eq!(sum, 15);
//! # Ok(()) }
//! // smol: smol::block_on(run()).  async-std: async_std::task::block_on(run()) with
//! // builder_on(AsyncIo::async_std(), ..) to keep the tasks on async-std.
//! ```
//!
//! Handler registration by type with `#[service]` (`macros` feature) works as with tokio.
//! Networks beyond tcp and unix, each behind a feature as on tokio: `kcp` (Go's KCP over
//! UDP, module `kcp`), `ws` (Go's `mixer/websocket` on async-tungstenite, module `ws`) and
//! `unixpacket` (seqpacket unix sockets, Linux); set `PeerConfig::network` to use them.
//! TLS (`tls` feature) comes from [`erpc_peer`] over futures-rustls: see
//! [`PeerBuilder::tls_server`](erpc_peer::PeerBuilder::tls_server) and the [`tls`] helpers.
//! Everything but the runtime glue lives in [`erpc_peer`] (shared with the tokio adapter) and
//! the sans-IO [`erpc_proto`] core.

#[cfg(feature = "kcp")]
pub mod kcp;
mod net;
#[cfg(feature = "quic")]
pub mod quic;
mod rt;
#[cfg(all(
    feature = "unixpacket",
    any(target_os = "linux", target_os = "android")
))]
pub mod unixpacket;
#[cfg(feature = "ws")]
pub mod ws;

// What erpc-peer offers, named one by one (its hidden adapter glue is not part of this API).
/// Paths the `#[service]` macro expands to; not a public API.
#[doc(hidden)]
pub use erpc_peer::__private;
pub use erpc_peer::multiclient::{MultiClientConfig, MultiClientStats};
#[cfg(feature = "macros")]
pub use erpc_peer::service;
#[cfg(feature = "tower")]
pub use erpc_peer::tower;
#[cfg(feature = "binder")]
pub use erpc_peer::{binder, Bind};
pub use erpc_peer::{early, plugins, runtime};
pub use erpc_peer::{erpc_proto, Code, CodecId, Mapper, Message, Meta, Raw, Status};
pub use erpc_peer::{
    format_go_duration, limits, parse_go_duration, BoxFuture, BuildError, CallBuilder, CallCtx,
    CallFuture, CallReply, Connected, Endpoint, HandlerTasks, IntoReply, IpFamily, PeerConfig,
    PeerStats, PushCtx, Response, Runtime, Service, Session, SessionHandle, SessionStats,
    SocketOptions, SubRoute, Timer,
};
#[cfg(feature = "tls")]
pub use erpc_peer::{rustls, tls};
pub use erpc_peer::{BodyCodec, Network, UnknownName, WireProtocol, WsSubprotocol};
pub use net::{AsyncIoListener, AsyncIoStream, AsyncIoTimer};
pub use rt::AsyncIo;

/// A peer on async-io (async-std or smol).
pub type Peer = erpc_peer::Peer<AsyncIo>;
/// A peer builder on async-io (async-std or smol).
pub type PeerBuilder = erpc_peer::PeerBuilder<AsyncIo>;
/// Several sessions to one address, each call on the least-loaded one (Go's
/// `mixer/multiclient`; see [`erpc_peer::multiclient`]).
pub type MultiClient = erpc_peer::MultiClient<AsyncIo>;
/// A session hired from a [`MultiClient`] for one call.
pub type Hired = erpc_peer::multiclient::Hired<AsyncIo>;

/// Starts building a peer whose tasks run on smol's global executor (with the `smol` feature,
/// the default) or else on async-std's. See [`builder_on`] to pick.
#[cfg(any(feature = "async-std", feature = "smol"))]
pub fn builder(config: PeerConfig) -> PeerBuilder {
    erpc_peer::PeerBuilder::new(AsyncIo::default(), config)
}

/// Starts building a peer whose tasks are spawned by `rt`.
pub fn builder_on(rt: AsyncIo, config: PeerConfig) -> PeerBuilder {
    erpc_peer::PeerBuilder::new(rt, config)
}

/// Waits for SIGINT or SIGTERM, then closes `peer` gracefully: listeners stop, calls in
/// flight finish within the shutdown timeout. Works under any executor (async-signal on the
/// async-io reactor). Unix only.
#[cfg(unix)]
pub async fn graceful_shutdown_on_signal(peer: &Peer) -> std::io::Result<()> {
    use async_signal::{Signal, Signals};
    use futures_util::StreamExt;

    let mut signals = Signals::new([Signal::Int, Signal::Term])?;
    if let Some(sig) = signals.next().await {
        tracing::info!(signal = ?sig?, "signal received: shutting down");
    }
    peer.close().await;
    Ok(())
}
