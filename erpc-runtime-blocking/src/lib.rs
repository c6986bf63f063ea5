//! erpc-rs on plain std threads and sockets, for programs without an async runtime: an eRPC
//! [`Peer`] that listens and dials, calls and pushes, and talks to Go eRPC peers byte for
//! byte. Handlers are ordinary functions; [`Session::call`] blocks until the reply.
//!
//! ```no_run
//! use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, Status};
//!
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Server: Go's README `Math.Add` at /math/add.
//! let server = builder(PeerConfig { listen_port: 9090, ..PeerConfig::default() })
//!     .call("/math/add", |ctx: CallCtx, args: Vec<i64>| {
//!         tracing::info!(author = ?ctx.peek_meta("author"), "add");
//!         Ok::<_, Status>(args.iter().sum::<i64>())
//!     })
//!     .build()?;
//! server.listen()?;
//!
//! // Client: dial and call.
//! let client = builder(PeerConfig::default()).build()?;
//! let session = client.dial("127.0.0.1:9090")?;
//! let sum: i64 = session.call_with("/math/add").meta("author", "henrylee2cn").send(&[1, 2, 3, 4, 5])?.body;
//! assert_eq!(sum, 15);
//! # Ok(()) }
//! ```
//!
//! The API is the one of the async adapters (`erpc-runtime-tokio`, `erpc-runtime-async-std`)
//! without `async`: [`PeerBuilder`] with `call`/`push` routes, sub-routes, plugins, codecs,
//! auth, heartbeat and TLS; [`Peer`] with `listen`, `dial`, `range_sessions`, `close`;
//! [`Session`] with `call`, `call_with`, `push`, `close`. The configuration ([`PeerConfig`]),
//! the TLS helpers ([`tls`]), the typed bodies ([`Raw`], `Proto<T>`, any serde type) and
//! handler answers ([`Response`], [`IntoReply`]) are the same types.
//!
//! # How it works
//!
//! This crate holds no peer logic of its own. [`Peer`], [`Session`] and [`PeerBuilder`] are
//! blocking facades over erpc-peer's, which runs here on [`Threads`], an implementation of
//! erpc-peer's `Runtime` with std threads and sockets. Sessions, redial, the session table,
//! shutdown, auth, heartbeats and TLS (futures-rustls) are erpc-peer's, exactly as on tokio
//! or smol.
//!
//! * A **spawned task** (the driver of one connection, an accept loop) gets a thread of its
//!   own and runs there under a small `block_on`: poll, park until woken, poll again (one
//!   unpark per wakeup). Blocking calls ([`Session::call`], [`Peer::dial`], ...) run the
//!   async method the same way on the calling thread.
//! * On unix a connection's thread **reads and writes its socket itself**, without blocking
//!   (`MSG_DONTWAIT`). When the socket has nothing to read, or its send buffer is full, the
//!   connection's `block_on` waits in `poll` on the socket and on a wake descriptor (an
//!   eventfd on Linux) that its wakers write to, instead of parking: the thread wakes the
//!   moment bytes arrive, room frees, or a caller, handler or timer needs it, and goes on
//!   reading while a write is pending, so two peers that both send far more than their
//!   socket buffers at the same moment keep moving. What it does not read stays in the
//!   socket's receive buffer, and TCP pushes back on the sender. A peer that stops reading
//!   fails its connection after [`PeerConfig::write_timeout`] without progress, as on every
//!   runtime. (On other platforms a **reader thread** per connection blocks in `read` and
//!   hands what it read to the connection's thread through a queue of a few chunks, and
//!   writes block, at most `write_timeout` each.)
//! * **Connects** run on a helper thread, so that a redial stuck in `connect` still hears a
//!   close (and `Peer::close` returns); **accepts** run on a thread per listener, stopped
//!   (and the port freed) when the listener is dropped.
//! * **Timers** (call deadlines, heartbeats, redial pauses) are served by one timer thread
//!   per process.
//! * **KCP** (feature `kcp`, Go's kcp-go network): erpc-peer's KCP driver runs on a thread
//!   per UDP socket (a listener's, or a dialed session's), fed by a reader thread through a
//!   bounded queue of datagrams; see `kcp` (feature `kcp`).
//! * **WebSocket** (feature `ws`, Go's `mixer/websocket`): erpc-peer's websocket over the
//!   std TCP sockets above; the accept loop and each upgrade (at most
//!   `erpc_peer::ws::MAX_HANDSHAKES` at once) run on threads of their own.
//!
//! Handlers run on a **worker pool** shared by the peer's connections (at most
//! [`PoolConfig::max_workers`] threads, started on demand, and a queue of
//! [`PoolConfig::queue`] places); a handler is an ordinary function, run as the body of a
//! future that completes on its first poll on a worker. When both are full, an incoming call
//! is answered at once with status 500 (`worker pool overload, ...`, as Go's overloader
//! plugin words its refusals) and an incoming push is dropped with a WARN log; both are
//! counted in [`Peer::pool_stats`]. (The runtime polls the handler once on the connection's
//! thread in a refusing mode, in which this crate's handlers answer without running the
//! user's function.) The pool refuses instead of blocking the connection's thread until a
//! worker is free, because a blocked connection would stop delivering the replies that busy
//! handlers may be waiting for (a handler calling back to its caller) and the peer would
//! deadlock.
//!
//! A handler may call or push on any session, its own included: the caller's worker thread
//! blocks, the connection's thread does not. Plugin hooks run on the connection's thread and
//! must not block on a session.
//!
//! [`Peer::close`] waits `shutdown_timeout` for calls in flight, then cuts the connections
//! that are left, including those whose writes are stuck on a peer that stopped reading.

mod builder;
mod handler;
mod io_stream;
#[cfg(feature = "kcp")]
pub mod kcp;
mod multiclient;
mod net;
mod peer;
mod pipe;
mod pool;
mod reader;
mod rt;
mod session;
mod socket;
mod stream;
#[cfg(unix)]
mod wait;

pub use builder::{PeerBuilder, Service, SubRoute};
pub use erpc_peer::multiclient::{MultiClientConfig, MultiClientStats};
pub use handler::{CallCtx, PushCtx};
pub use io_stream::MAX_QUEUED_WRITES;
pub use multiclient::{Hired, MultiClient};
pub use peer::Peer;
pub use pool::{PoolConfig, PoolStats};
pub use rt::{ThreadTimer, Threads};
pub use session::{CallBuilder, Session};
pub use stream::{ThreadListener, ThreadStream};

#[cfg(feature = "macros")]
pub use erpc_macros::service;
pub use erpc_peer::plugins;
#[cfg(feature = "binder")]
pub use erpc_peer::{binder, Bind};
pub use erpc_peer::{
    format_go_duration, limits, parse_go_duration, BuildError, CallReply, Endpoint, IntoReply,
    IpFamily, PeerConfig, PeerStats, Response, SessionHandle, SessionStats, SocketOptions,
};
#[cfg(feature = "tls")]
pub use erpc_peer::{rustls, tls};
pub use erpc_peer::{BodyCodec, Network, UnknownName, WireProtocol, WsSubprotocol};
pub use erpc_proto;
pub use erpc_proto::codec::Raw;
pub use erpc_proto::router::Mapper;

/// Paths `#[service(blocking)]` expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::{PeerBuilder, Service, Session};
    #[cfg(feature = "binder")]
    pub use erpc_peer::binder;
    pub use erpc_proto::codec::DecodeBody;
    pub use erpc_proto::router::Mapper;
    pub use erpc_proto::Status;
}
pub use erpc_proto::{Code, CodecId, Message, Meta, Status};

/// Starts building a peer.
pub fn builder(config: PeerConfig) -> PeerBuilder {
    PeerBuilder::new(config)
}

/// Blocks the calling thread until SIGINT or SIGTERM, then closes `peer` gracefully
/// (listeners stop, calls in flight finish within the shutdown timeout) and returns. Also
/// returns, without waiting for a signal, once the peer is closed some other way. Unix only
/// (signal-hook).
#[cfg(unix)]
pub fn graceful_shutdown_on_signal(peer: &Peer) -> std::io::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};

    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
    let handle = signals.handle();
    let watcher = peer.clone();
    std::thread::Builder::new()
        .name("erpc-signal".into())
        .spawn(move || {
            watcher.wait_closed();
            handle.close();
        })?;
    if let Some(sig) = signals.forever().next() {
        tracing::info!(signal = sig, "signal received: shutting down");
        peer.close();
    }
    Ok(())
}
