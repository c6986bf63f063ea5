//! QUIC on async-io (feature `quic`): erpc-peer's [`QuicStream`] and [`QuicListener`] on a
//! quinn runtime whose sockets and timers are async-io's (quinn's smol flavour) and whose
//! tasks — the endpoint and connection drivers, the handshakes — go to the adapter's own
//! spawner, so they run on the executor the [`AsyncIo`] was made for. See
//! [`erpc_peer::quic`] for the settings, the versions and the bounds.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

pub use erpc_peer::quic::{
    QuicConfig, QuicDial, QuicError, QuicListen, QuicListener, QuicStream, DEFAULT_ACCEPT_BACKLOG,
    DEFAULT_ALPN, DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEP_ALIVE, HANDSHAKE_TIMEOUT, QUIC_DRAFT_29,
    QUIC_V1,
};
use erpc_peer::Runtime;

use crate::AsyncIo;

/// quinn's runtime on async-io, spawning with an [`AsyncIo`].
#[derive(Debug)]
struct QuinnOnAsyncIo(AsyncIo);

impl quinn::Runtime for QuinnOnAsyncIo {
    fn new_timer(&self, at: Instant) -> Pin<Box<dyn quinn::AsyncTimer>> {
        quinn::SmolRuntime.new_timer(at)
    }

    fn spawn(&self, future: Pin<Box<dyn Future<Output = ()> + Send>>) {
        self.0.spawn(future);
    }

    fn wrap_udp_socket(
        &self,
        socket: std::net::UdpSocket,
    ) -> io::Result<Arc<dyn quinn::AsyncUdpSocket>> {
        quinn::SmolRuntime.wrap_udp_socket(socket)
    }
}

/// The quinn runtime of `rt`.
pub fn quinn_runtime(rt: &AsyncIo) -> Arc<dyn quinn::Runtime> {
    Arc::new(QuinnOnAsyncIo(rt.clone()))
}

/// Dials `remote` over QUIC from a new endpoint and opens the connection's stream.
pub async fn connect(rt: &AsyncIo, remote: SocketAddr, dial: &QuicDial) -> io::Result<QuicStream> {
    QuicStream::connect(remote, dial, quinn_runtime(rt)).await
}

/// Binds a QUIC listener at `addr`.
pub fn bind(rt: &AsyncIo, addr: SocketAddr, listen: &QuicListen) -> io::Result<QuicListener> {
    QuicListener::bind(addr, listen, quinn_runtime(rt))
}
