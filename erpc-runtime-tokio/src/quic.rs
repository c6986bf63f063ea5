//! QUIC on tokio (feature `quic`): erpc-peer's [`QuicStream`] and [`QuicListener`] on quinn's
//! tokio runtime. A dialed session has its own endpoint (UDP socket) and opens the
//! connection's one bidirectional stream; a listener runs every handshake in its own task and
//! hands completed connections to `accept`. See [`erpc_peer::quic`] for the settings, the
//! versions and the bounds.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

pub use erpc_peer::quic::{
    QuicConfig, QuicDial, QuicError, QuicListen, QuicListener, QuicStream, DEFAULT_ACCEPT_BACKLOG,
    DEFAULT_ALPN, DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEP_ALIVE, HANDSHAKE_TIMEOUT, QUIC_DRAFT_29,
    QUIC_V1,
};

/// quinn's tokio runtime (the current tokio runtime drives the endpoints).
pub fn quinn_runtime() -> Arc<dyn quinn::Runtime> {
    Arc::new(quinn::TokioRuntime)
}

/// Dials `remote` over QUIC from a new endpoint and opens the connection's stream.
pub async fn connect(remote: SocketAddr, dial: &QuicDial) -> io::Result<QuicStream> {
    QuicStream::connect(remote, dial, quinn_runtime()).await
}

/// Binds a QUIC listener at `addr`.
pub fn bind(addr: SocketAddr, listen: &QuicListen) -> io::Result<QuicListener> {
    QuicListener::bind(addr, listen, quinn_runtime())
}
