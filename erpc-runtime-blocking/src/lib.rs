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
//! without `async`: [`PeerBuilder`] with `call`/`push` routes, plugins, codecs, auth,
//! heartbeat and TLS; [`Peer`] with `listen`, `dial`, `range_sessions`, `close`; [`Session`]
//! with `call`, `call_with`, `push`, `close`. The configuration ([`PeerConfig`]), the TLS
//! helpers ([`tls`]), the typed bodies ([`Raw`], `Proto<T>`, any serde type) and handler
//! answers ([`Response`], [`IntoReply`]) are the same types.
//!
//! # Threads
//!
//! Every connection has two threads:
//!
//! * the **connection thread** owns the connection's sans-IO [`erpc_proto`] session, its TLS
//!   state and the writing half of the socket. It sleeps on one channel, with a timeout
//!   taken from the session's `poll_timeout` (call deadlines, heartbeats, close linger), and
//!   wakes for anything that concerns the connection: bytes read, commands from
//!   [`Session`] handles (call, push, close), results of handlers. It handles everything that
//!   arrived as one batch, then writes everything the session queued with one write.
//! * the **reader thread** blocks in `read` (64 KiB at a time) and sends what it got to the
//!   connection thread.
//!
//! Why not one thread reading with a timeout? A thread blocked in `read` cannot hear a
//! command: with plain std sockets (no `poll`) a caller's request would wait for the next
//! byte from the peer or a read timeout, so every call would pay a polling delay. With a
//! reader thread, everything the connection thread waits for arrives on one channel and wakes
//! it at once. (For the same reason TLS does not use `rustls::StreamOwned`, which reads and
//! writes on one thread: the handshake runs with rustls's blocking `complete_io`, then the
//! connection thread decrypts what the reader thread hands it.)
//!
//! Handlers run on a **worker pool** shared by the peer's connections (at most
//! [`PoolConfig::max_workers`] threads, started on demand, and a queue of
//! [`PoolConfig::queue`] places). When both are full, an incoming call is answered at once
//! with status 500 (`worker pool overload, ...`, as Go's overloader plugin words its
//! refusals) and an incoming push is dropped with a WARN log; both are counted in
//! [`Peer::pool_stats`]. The pool refuses instead of blocking the connection thread, because
//! a blocked connection thread would stop delivering the replies that busy handlers may be
//! waiting for (a handler calling back to its caller) and the peer would deadlock.
//!
//! A handler may call or push on any session, its own included: the caller's worker thread
//! blocks, the connection thread does not. Plugin hooks run on the connection thread and must
//! not block on a session.
//!
//! Writes block until the kernel takes the bytes. The reader thread keeps reading meanwhile
//! (so two peers writing big messages to each other cannot deadlock); what it reads waits in
//! memory, as it does in the async adapters. [`Peer::close`] cuts connections whose writes are
//! still stuck when the shutdown timeout has passed.

mod builder;
mod conn;
mod handler;
mod peer;
mod pool;
mod session;
mod socket;
mod transport;

pub use builder::PeerBuilder;
pub use handler::{CallCtx, PushCtx};
pub use peer::Peer;
pub use pool::{PoolConfig, PoolStats};
pub use session::{CallBuilder, Session};

pub use erpc_peer::{
    format_go_duration, parse_go_duration, BuildError, CallReply, Endpoint, IntoReply, IpFamily,
    PeerConfig, Response, SessionHandle, SocketOptions,
};
#[cfg(feature = "tls")]
pub use erpc_peer::{rustls, tls};
pub use erpc_proto;
pub use erpc_proto::codec::Raw;
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
