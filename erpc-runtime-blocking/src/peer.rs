//! [`Peer`]: erpc-peer's peer on [`Threads`], with methods that block.

use std::sync::Arc;

use erpc_peer::{Endpoint, PeerConfig, PeerStats};
use erpc_proto::proto::Protocol;
use erpc_proto::{Code, Status};

use crate::pool::PoolStats;
use crate::rt::{block_on, Threads};
use crate::session::Session;
use crate::stream::{ThreadListener, ThreadStream};

/// An eRPC peer on std threads: listens and dials with the same routes; every session,
/// dialed or accepted, can call and push to the other side. Cheap to clone; every method
/// blocks the calling thread at most as long as it says.
///
/// Build one with [`PeerBuilder`](crate::PeerBuilder) (or [`builder`](crate::builder)).
#[derive(Clone)]
pub struct Peer {
    inner: erpc_peer::Peer<Threads>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.inner, f)
    }
}

impl Peer {
    pub(crate) fn new(inner: erpc_peer::Peer<Threads>) -> Self {
        Peer { inner }
    }

    /// erpc-peer's peer under this one (its async API, on the [`Threads`] runtime).
    pub fn as_async(&self) -> &erpc_peer::Peer<Threads> {
        &self.inner
    }

    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        self.inner.config()
    }

    /// The wire protocol of listens and dials that name none (see
    /// [`erpc_peer::Peer::protocol`]).
    pub fn protocol(&self) -> &Arc<dyn Protocol> {
        self.inner.protocol()
    }

    /// Whether [`close`](Peer::close) was called.
    pub fn is_closing(&self) -> bool {
        self.inner.is_closing()
    }

    /// A snapshot of the handler worker pool: threads, queue, refused work.
    pub fn pool_stats(&self) -> PoolStats {
        self.inner.runtime().pool_stats()
    }

    /// The endpoint of `addr` on the configured network (`unix`: `addr` is a path).
    pub fn endpoint(&self, addr: &str) -> Endpoint {
        self.inner.endpoint(addr)
    }

    /// Starts listening on the configured `local_ip:listen_port` (for `unix`: the path in
    /// `local_ip`) and serving on background threads. Returns the bound address.
    pub fn listen(&self) -> Result<String, Status> {
        block_on(self.inner.listen())
    }

    /// Starts listening on `endpoint` and serving on background threads. Returns the bound
    /// address (with the port chosen when it was 0).
    pub fn listen_on(&self, endpoint: Endpoint) -> Result<String, Status> {
        block_on(self.inner.listen_on(endpoint))
    }

    /// Listens on `endpoint` speaking `protocol` there (e.g. `erpc_proto::proto::by_name("json")`),
    /// whatever the peer's default.
    pub fn listen_on_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<String, Status> {
        block_on(self.inner.listen_on_with(endpoint, protocol))
    }

    /// Listens like [`listen`](Peer::listen) and blocks until the peer is closed (by another
    /// thread, or [`graceful_shutdown_on_signal`](crate::graceful_shutdown_on_signal)).
    pub fn listen_and_serve(&self) -> Result<(), Status> {
        block_on(self.inner.listen_and_serve())
    }

    /// Serves a TCP listener the application bound itself (Go's `ServeListener`): one handed
    /// over by a supervisor, or bound with options this crate does not set. Connections are
    /// accepted on a background thread until the peer closes, exactly as after
    /// [`listen`](Peer::listen). Returns the listener's address.
    pub fn serve_listener(&self, listener: std::net::TcpListener) -> Result<String, Status> {
        let (l, addr) =
            ThreadListener::from_tcp(listener).map_err(|e| io_failed("serve a listener", e))?;
        self.inner.serve_listener(l, addr.clone())?;
        Ok(addr)
    }

    /// Serves a TCP connection the application already has (Go's `ServeConn`), as an
    /// accepted one: TLS when the peer has a server TLS config, the `post_accept` plugins,
    /// the auth checker, flow control, graceful close. Returns the session once it is in the
    /// peer's table (its id is the remote address); it is served in the background.
    pub fn serve_conn(&self, stream: std::net::TcpStream) -> Result<Session, Status> {
        let conn = ThreadStream::from_tcp(self.inner.runtime().conns(), stream)
            .map_err(|e| io_failed("serve a connection", e))?;
        block_on(self.inner.serve_conn(conn)).map(Session::new)
    }

    /// Serves any std byte stream as an accepted connection (Go's `ServeConn` for a pipe, a
    /// serial line, a stream of a transport this crate does not know): `reader` is read by a
    /// thread of its own, `writer` written by another through a bounded queue
    /// ([`MAX_QUEUED_WRITES`](crate::MAX_QUEUED_WRITES)); `local` and `remote` name the ends
    /// (the session's id is `remote`). Dropping the session drops `writer` once what was
    /// queued is written; the reader thread ends at its next read.
    ///
    /// ```no_run
    /// # fn demo(peer: erpc_runtime_blocking::Peer) -> Result<(), erpc_runtime_blocking::Status> {
    /// let (child_out, child_in) = (std::io::stdin(), std::io::stdout());
    /// let session = peer.serve_io(child_out, child_in, "stdio", "parent")?;
    /// session.push("/hello", &"over a pipe")?;
    /// # Ok(()) }
    /// ```
    pub fn serve_io<R, W>(
        &self,
        reader: R,
        writer: W,
        local: &str,
        remote: &str,
    ) -> Result<Session, Status>
    where
        R: std::io::Read + Send + 'static,
        W: std::io::Write + Send + 'static,
    {
        let stream = ThreadStream::from_io(reader, writer)
            .map_err(|e| io_failed("start the stream's threads", e))?;
        let conn = erpc_peer::Connected::new(stream, local, remote);
        block_on(self.inner.serve_conn(conn)).map(Session::new)
    }

    /// Blocks until [`close`](Peer::close) is called.
    pub fn wait_closed(&self) {
        block_on(self.inner.wait_closed());
    }

    /// Dials `addr` on the configured network and blocks until the session is open
    /// (authenticated, when auth is configured). With `redial_times` ≠ 0 failed attempts
    /// (including a refused authentication) are retried, and a session that breaks later is
    /// re-established behind the same handle. Fails with 105 `Dial Failed`.
    pub fn dial(&self, addr: &str) -> Result<Session, Status> {
        block_on(self.inner.dial(addr)).map(Session::new)
    }

    /// Dials an explicit endpoint.
    pub fn dial_endpoint(&self, endpoint: Endpoint) -> Result<Session, Status> {
        block_on(self.inner.dial_endpoint(endpoint)).map(Session::new)
    }

    /// Dials `addr` speaking `protocol` on that session, whatever the peer's default.
    pub fn dial_with(&self, addr: &str, protocol: Arc<dyn Protocol>) -> Result<Session, Status> {
        block_on(self.inner.dial_with(addr, protocol)).map(Session::new)
    }

    /// Dials an explicit endpoint with an explicit protocol.
    pub fn dial_endpoint_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        block_on(self.inner.dial_endpoint_with(endpoint, protocol)).map(Session::new)
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Option<Session> {
        self.inner.session(id).map(Session::new)
    }

    /// Visits every live session until `f` returns false (e.g. to broadcast a push).
    pub fn range_sessions(&self, mut f: impl FnMut(&Session) -> bool) {
        self.inner.range_sessions(|s| f(&Session::new(s.clone())));
    }

    /// Number of live sessions.
    pub fn count_sessions(&self) -> usize {
        self.inner.count_sessions()
    }

    /// The peer's figures: sessions, connection threads, handlers running, bytes queued, bytes
    /// in and out, calls and pushes served.
    pub fn stats(&self) -> PeerStats {
        self.inner.stats()
    }

    /// Closes gracefully and blocks until done: stops accepting (the listening sockets are
    /// closed when this returns), asks every session to finish its calls in flight within
    /// `shutdown_timeout`, then cuts whatever is left (connections whose writes are stuck
    /// on a peer that stopped reading included). Idempotent.
    pub fn close(&self) {
        block_on(self.inner.close());
        let rt = self.inner.runtime();
        rt.cut_connections();
        rt.pool().close();
    }
}

/// A local I/O failure as a status: 500 with `what: error` as its cause, the error as its
/// source.
fn io_failed(what: &str, e: std::io::Error) -> Status {
    Status::with_cause(Code::INTERNAL_SERVER_ERROR, format!("{what}: {e}")).with_source(e)
}
