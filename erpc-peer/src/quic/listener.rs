//! A bound QUIC endpoint that accepts connections: every handshake runs in its own task on
//! the quinn runtime, at most `accept_backlog` at once (counting completed ones not yet taken
//! by `accept`), each within the handshake timeout; past the backlog a connection is refused.

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use event_listener::Event;
use futures_util::future::{select, Either};
use quinn::{Connection, Endpoint, EndpointConfig, Incoming};

use super::{QuicListen, QuicStream};

#[derive(Default)]
struct Queue {
    ready: VecDeque<Connection>,
    handshaking: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    /// A connection is ready, or the listener closed (for `accept`).
    changed: Event,
    /// The listener closed (for the loop taking incoming connections).
    closing: Event,
    backlog: usize,
}

fn lock(shared: &Shared) -> MutexGuard<'_, Queue> {
    // Plain data behind the lock: a panic elsewhere leaves it usable.
    shared.queue.lock().unwrap_or_else(|e| e.into_inner())
}

/// A bound QUIC listener; its connections come from [`accept`](QuicListener::accept).
/// Dropping it refuses new connections; accepted ones go on.
pub struct QuicListener {
    endpoint: Endpoint,
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for QuicListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicListener")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl QuicListener {
    /// Binds a UDP socket at `addr` serving `listen`'s configuration on `runtime`.
    pub fn bind(
        addr: SocketAddr,
        listen: &QuicListen,
        runtime: Arc<dyn quinn::Runtime>,
    ) -> io::Result<Self> {
        let socket = std::net::UdpSocket::bind(addr)?;
        let endpoint = Endpoint::new(
            EndpointConfig::default(),
            Some(listen.server.clone()),
            socket,
            runtime.clone(),
        )?;
        let local_addr = endpoint.local_addr()?;
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            changed: Event::new(),
            closing: Event::new(),
            backlog: listen.accept_backlog.max(1),
        });
        let task = incoming_loop(
            endpoint.clone(),
            shared.clone(),
            runtime.clone(),
            listen.handshake_timeout,
        );
        runtime.spawn(Box::pin(task));
        Ok(QuicListener {
            endpoint,
            shared,
            local_addr,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for the next connection whose handshake completed.
    pub async fn accept(&self) -> io::Result<QuicStream> {
        loop {
            let changed = self.shared.changed.listen();
            {
                let mut q = lock(&self.shared);
                if let Some(conn) = q.ready.pop_front() {
                    return Ok(QuicStream::accepted(conn, self.local_addr));
                }
                if q.closed {
                    return Err(io::Error::new(
                        io::ErrorKind::NotConnected,
                        "QUIC listener closed",
                    ));
                }
            }
            changed.await;
        }
    }
}

impl Drop for QuicListener {
    fn drop(&mut self) {
        self.endpoint.set_server_config(None);
        let mut q = lock(&self.shared);
        q.closed = true;
        q.ready.clear();
        drop(q);
        self.shared.changed.notify(usize::MAX);
        self.shared.closing.notify(usize::MAX);
    }
}

/// Takes the endpoint's incoming connections until the listener closes.
async fn incoming_loop(
    endpoint: Endpoint,
    shared: Arc<Shared>,
    runtime: Arc<dyn quinn::Runtime>,
    timeout: Duration,
) {
    loop {
        let closed = shared.closing.listen();
        if lock(&shared).closed {
            break;
        }
        let incoming = match select(Box::pin(endpoint.accept()), closed).await {
            Either::Left((Some(incoming), _)) => incoming,
            Either::Left((None, _)) => break,
            Either::Right(_) => continue,
        };
        let mut q = lock(&shared);
        if q.closed {
            break;
        }
        if q.ready.len() + q.handshaking >= shared.backlog {
            drop(q);
            tracing::debug!(remote = %incoming.remote_address(), "quic backlog full: refused");
            incoming.refuse();
            continue;
        }
        q.handshaking += 1;
        drop(q);
        let task = handshake(incoming, shared.clone(), runtime.clone(), timeout);
        runtime.spawn(Box::pin(task));
    }
}

async fn handshake(
    incoming: Incoming,
    shared: Arc<Shared>,
    runtime: Arc<dyn quinn::Runtime>,
    timeout: Duration,
) {
    let remote = incoming.remote_address();
    let deadline = runtime.now() + timeout;
    let timer = std::future::poll_fn({
        let mut t = runtime.new_timer(deadline);
        move |cx| t.as_mut().poll(cx)
    });
    let result = match select(
        std::future::IntoFuture::into_future(incoming),
        Box::pin(timer),
    )
    .await
    {
        Either::Left((Ok(conn), _)) => Some(conn),
        Either::Left((Err(e), _)) => {
            tracing::debug!(%remote, "quic handshake failed: {e}");
            None
        }
        Either::Right(_) => {
            tracing::debug!(%remote, "quic handshake timeout");
            None
        }
    };
    let mut q = lock(&shared);
    q.handshaking -= 1;
    if let (Some(conn), false) = (result, q.closed) {
        q.ready.push_back(conn);
        drop(q);
        shared.changed.notify(1);
    }
}
