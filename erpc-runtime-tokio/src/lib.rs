//! erpc-rs on tokio: an eRPC [`Peer`] that listens and dials, calls and pushes, and talks to
//! Go eRPC peers byte for byte.
//!
//! ```no_run
//! use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};
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
//! ```
//!
//! Everything but the runtime glue lives in [`erpc_peer`] (shared with the async-std/smol
//! adapter) and the sans-IO [`erpc_proto`] core.

mod io;
#[cfg(feature = "kcp")]
pub mod kcp;
mod net;
#[cfg(feature = "quic")]
pub mod quic;
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
#[cfg(feature = "quic")]
pub use erpc_peer::quic::QuicConfig;
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
    CallFuture, CallReply, Connected, Endpoint, HandlerTasks, HttpFile, IntoReply, IpFamily,
    PeerConfig, PeerStats, PushCtx, Response, Runtime, Service, Session, SessionHandle,
    SessionStats, SocketOptions, SubRoute, Timer, WsEndpoint, WsHandshake, WsRequest, WsTls,
};
#[cfg(feature = "tls")]
pub use erpc_peer::{rustls, tls};
pub use erpc_peer::{BodyCodec, Network, UnknownName, WireProtocol, WsSubprotocol};
pub use io::TokioStream;
pub use net::{Tokio, TokioListener, TokioTimer};

/// A peer on tokio.
pub type Peer = erpc_peer::Peer<Tokio>;
/// A peer builder on tokio.
pub type PeerBuilder = erpc_peer::PeerBuilder<Tokio>;
/// Several sessions to one address, each call on the least-loaded one (Go's
/// `mixer/multiclient`; see [`erpc_peer::multiclient`]).
pub type MultiClient = erpc_peer::MultiClient<Tokio>;
/// A session hired from a [`MultiClient`] for one call.
pub type Hired = erpc_peer::multiclient::Hired<Tokio>;

/// Starts building a peer on the current tokio runtime.
pub fn builder(config: PeerConfig) -> PeerBuilder {
    erpc_peer::PeerBuilder::new(Tokio, config)
}

#[cfg(all(unix, feature = "reboot"))]
mod grace;
#[cfg(all(unix, feature = "reboot"))]
pub use erpc_peer::reboot;
#[cfg(all(unix, feature = "reboot"))]
pub use grace::graceful_reboot_on_signal;

/// Waits for SIGINT or SIGTERM (Ctrl-C on other platforms), then closes `peer` gracefully:
/// listeners stop, calls in flight finish within the shutdown timeout.
pub async fn graceful_shutdown_on_signal(peer: &Peer) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::future::Future;
        use std::task::Poll;
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut ctrl_c = std::pin::pin!(tokio::signal::ctrl_c());
        // The first of the two (without `tokio::select!`, so users need no `macros` feature).
        std::future::poll_fn(|cx| match ctrl_c.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => term.poll_recv(cx).map(|_| Ok(())),
        })
        .await?;
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    tracing::info!("signal received: shutting down");
    peer.close().await;
    Ok(())
}

/// The README's code, compiled as a doctest so that it cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
