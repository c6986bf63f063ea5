//! One QUIC connection's bidirectional stream as a byte stream (futures-io).
//!
//! QUIC announces a stream with its first frame, so the acceptor's stream is taken when the
//! dialer's first bytes arrive: the acceptor's session exists from the handshake on, and what
//! it writes before that waits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};
use quinn::{Connection, Endpoint, EndpointConfig, RecvStream, SendStream};

use super::QuicDial;

type AcceptBi =
    Pin<Box<dyn Future<Output = Result<(SendStream, RecvStream), quinn::ConnectionError>> + Send>>;

enum Streams {
    Ready(SendStream, RecvStream),
    /// The acceptor waits for the dialer's stream.
    Accepting(AcceptBi),
    Failed(io::ErrorKind, String),
}

/// One QUIC connection's bidirectional stream.
pub struct QuicStream {
    streams: Streams,
    conn: Connection,
    /// A dialer's own endpoint, kept for the connection's life.
    _endpoint: Option<Endpoint>,
    local: SocketAddr,
}

impl std::fmt::Debug for QuicStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuicStream")
            .field("local", &self.local)
            .field("remote", &self.conn.remote_address())
            .finish()
    }
}

/// A connection's end as an I/O error: `ConnectionReset` for a close by either side,
/// `TimedOut` for a peer that went silent (the idle timeout).
pub(crate) fn connection_error(e: quinn::ConnectionError) -> io::Error {
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

/// A dial that ended before the connection was up: `ConnectionRefused` (the server refused
/// it, the handshake failed), or `TimedOut` for no answer.
fn handshake_error(e: quinn::ConnectionError) -> io::Error {
    let kind = match &e {
        quinn::ConnectionError::TimedOut => io::ErrorKind::TimedOut,
        _ => io::ErrorKind::ConnectionRefused,
    };
    io::Error::new(kind, e.to_string())
}

impl QuicStream {
    /// Dials `remote` from a new endpoint (UDP socket) on an ephemeral port of the same family
    /// on `runtime`, and opens the connection's stream.
    pub async fn connect(
        remote: SocketAddr,
        dial: &QuicDial,
        runtime: Arc<dyn quinn::Runtime>,
    ) -> io::Result<Self> {
        let any: SocketAddr = if remote.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let socket = std::net::UdpSocket::bind(any)?;
        let endpoint = Endpoint::new(EndpointConfig::default(), None, socket, runtime)?;
        let local = endpoint.local_addr()?;
        let conn = endpoint
            .connect_with(dial.client.clone(), remote, &dial.server_name)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?
            .await
            .map_err(handshake_error)?;
        let (send, recv) = conn.open_bi().await.map_err(connection_error)?;
        Ok(QuicStream {
            streams: Streams::Ready(send, recv),
            conn,
            _endpoint: Some(endpoint),
            local,
        })
    }

    /// The acceptor's side of `conn`, whose stream is accepted on first use.
    pub(crate) fn accepted(conn: Connection, local: SocketAddr) -> Self {
        let c = conn.clone();
        QuicStream {
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

impl AsyncRead for QuicStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let (_, recv) = ready!(self.get_mut().poll_streams(cx))?;
        AsyncRead::poll_read(Pin::new(recv), cx, buf)
    }
}

impl AsyncWrite for QuicStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let (send, _) = ready!(self.get_mut().poll_streams(cx))?;
        AsyncWrite::poll_write(Pin::new(send), cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let (send, _) = ready!(self.get_mut().poll_streams(cx))?;
        AsyncWrite::poll_flush(Pin::new(send), cx)
    }

    /// Finishes the stream; an acceptor whose dialer never opened it closes the connection.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.streams {
            Streams::Ready(send, _) => AsyncWrite::poll_close(Pin::new(send), cx),
            _ => {
                this.conn.close(0u32.into(), b"");
                Poll::Ready(Ok(()))
            }
        }
    }
}
