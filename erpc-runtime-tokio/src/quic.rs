//! QUIC on tokio (feature `quic`): quinn endpoints, one bidirectional stream per connection.
//!
//! A dialed session has its own endpoint (UDP socket) and opens the stream; a listener's
//! endpoint runs every handshake in its own task (at most [`QuicListen::accept_backlog`] at
//! once, each within its handshake timeout) and hands completed connections to `accept`. The
//! accepted stream is taken when the dialer's first bytes arrive (QUIC announces a stream
//! with its first frame): the session exists from the handshake on, and what it writes
//! before that waits. The configurations come from erpc-peer's [`erpc_peer::quic`].

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pub use erpc_peer::quic::{
    QuicConfig, QuicDial, QuicError, QuicListen, DEFAULT_ACCEPT_BACKLOG, DEFAULT_ALPN,
    DEFAULT_IDLE_TIMEOUT, DEFAULT_KEEP_ALIVE, QUIC_DRAFT_29, QUIC_V1,
};
use quinn::{Connection, Endpoint, RecvStream, SendStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::mpsc;

type AcceptBi =
    Pin<Box<dyn Future<Output = Result<(SendStream, RecvStream), quinn::ConnectionError>> + Send>>;

enum Streams {
    Ready(SendStream, RecvStream),
    /// The acceptor waits for the dialer's stream.
    Accepting(AcceptBi),
    Failed(io::ErrorKind, String),
}

/// One QUIC connection's bidirectional stream as a byte stream.
pub struct TokioQuicStream {
    streams: Streams,
    conn: Connection,
    /// A dialer's own endpoint, kept for the connection's life.
    _endpoint: Option<Endpoint>,
    local: SocketAddr,
}

impl std::fmt::Debug for TokioQuicStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokioQuicStream")
            .field("local", &self.local)
            .field("remote", &self.conn.remote_address())
            .finish()
    }
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

impl TokioQuicStream {
    /// Dials `remote` from a new endpoint on an ephemeral port of the same family, and opens
    /// the connection's stream.
    pub async fn connect(remote: SocketAddr, dial: &QuicDial) -> io::Result<Self> {
        let any: SocketAddr = if remote.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let endpoint = Endpoint::client(any)?;
        let local = endpoint.local_addr()?;
        let conn = endpoint
            .connect_with(dial.client.clone(), remote, &dial.server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
            .await
            .map_err(connection_error)?;
        let (send, recv) = conn.open_bi().await.map_err(connection_error)?;
        Ok(TokioQuicStream {
            streams: Streams::Ready(send, recv),
            conn,
            _endpoint: Some(endpoint),
            local,
        })
    }

    fn accepted(conn: Connection, local: SocketAddr) -> Self {
        let c = conn.clone();
        TokioQuicStream {
            streams: Streams::Accepting(Box::pin(async move { c.accept_bi().await })),
            conn,
            _endpoint: None,
            local,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.conn.remote_address()
    }

    /// This side's address (the endpoint's).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The QUIC connection.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    fn poll_streams(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(&mut SendStream, &mut RecvStream)>> {
        if let Streams::Accepting(fut) = &mut self.streams {
            self.streams = match ready!(fut.as_mut().poll(cx)) {
                Ok((send, recv)) => Streams::Ready(send, recv),
                Err(e) => {
                    let e = connection_error(e);
                    Streams::Failed(e.kind(), e.to_string())
                }
            };
        }
        match &mut self.streams {
            Streams::Ready(send, recv) => Poll::Ready(Ok((send, recv))),
            Streams::Failed(kind, msg) => Poll::Ready(Err(io::Error::new(*kind, msg.clone()))),
            Streams::Accepting(_) => Poll::Pending,
        }
    }
}

/// A closed connection reads as the end of the stream's peer: `ConnectionReset` for a
/// peer's close or a timeout, as a TCP reset would.
fn connection_error(e: quinn::ConnectionError) -> io::Error {
    use quinn::ConnectionError as E;
    let kind = match &e {
        E::TimedOut => io::ErrorKind::TimedOut,
        E::ApplicationClosed(_) | E::ConnectionClosed(_) | E::Reset | E::LocallyClosed => {
            io::ErrorKind::ConnectionReset
        }
        _ => io::ErrorKind::ConnectionRefused,
    };
    io::Error::new(kind, e.to_string())
}

impl AsyncRead for TokioQuicStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let (_, recv) = ready!(self.get_mut().poll_streams(cx))?;
        Pin::new(recv).poll_read(cx, buf)
    }
}

impl AsyncWrite for TokioQuicStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (send, _) = ready!(self.get_mut().poll_streams(cx))?;
        Pin::new(send).poll_write(cx, data).map_err(other)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (send, _) = ready!(self.get_mut().poll_streams(cx))?;
        Pin::new(send).poll_flush(cx)
    }

    /// Finishes the stream; an acceptor whose dialer never opened it closes the connection.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.streams {
            Streams::Ready(send, _) => Pin::new(send).poll_shutdown(cx),
            _ => {
                this.conn.close(0u32.into(), b"");
                Poll::Ready(Ok(()))
            }
        }
    }
}

/// A bound QUIC listener.
#[derive(Debug)]
pub struct TokioQuicListener {
    endpoint: Endpoint,
    accepted: tokio::sync::Mutex<mpsc::Receiver<Connection>>,
    task: tokio::task::JoinHandle<()>,
    local_addr: SocketAddr,
}

impl TokioQuicListener {
    /// Binds an endpoint at `addr` serving `listen`'s configuration.
    pub fn bind(addr: SocketAddr, listen: &QuicListen) -> io::Result<Self> {
        let endpoint = Endpoint::server(listen.server.clone(), addr)?;
        let local_addr = endpoint.local_addr()?;
        let (tx, rx) = mpsc::channel(listen.accept_backlog.max(1));
        let task = tokio::spawn(handshakes(endpoint.clone(), tx, listen.handshake_timeout));
        Ok(TokioQuicListener {
            endpoint,
            accepted: tokio::sync::Mutex::new(rx),
            task,
            local_addr,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Waits for the next connection whose handshake completed.
    pub async fn accept(&self) -> io::Result<TokioQuicStream> {
        let conn =
            self.accepted.lock().await.recv().await.ok_or_else(|| {
                io::Error::new(io::ErrorKind::NotConnected, "QUIC endpoint closed")
            })?;
        Ok(TokioQuicStream::accepted(conn, self.local_addr))
    }
}

/// Runs each incoming handshake in its own task, holding a place in `tx` (the backlog) for
/// it: past the backlog, connections are refused.
async fn handshakes(
    endpoint: Endpoint,
    tx: mpsc::Sender<Connection>,
    timeout: std::time::Duration,
) {
    while let Some(incoming) = endpoint.accept().await {
        let Ok(permit) = tx.clone().try_reserve_owned() else {
            tracing::debug!(remote = %incoming.remote_address(), "quic backlog full: refused");
            incoming.refuse();
            continue;
        };
        tokio::spawn(async move {
            let remote = incoming.remote_address();
            match tokio::time::timeout(timeout, incoming).await {
                Ok(Ok(conn)) => {
                    permit.send(conn);
                }
                Ok(Err(e)) => tracing::debug!(%remote, "quic handshake failed: {e}"),
                Err(_) => tracing::debug!(%remote, "quic handshake timeout"),
            }
        });
    }
}

impl Drop for TokioQuicListener {
    /// New connections are refused; accepted ones go on.
    fn drop(&mut self) {
        self.task.abort();
        self.endpoint.set_server_config(None);
    }
}
