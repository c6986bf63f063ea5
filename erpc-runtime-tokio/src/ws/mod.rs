//! The `ws` network (feature `ws`): WebSocket as Go eRPC's `mixer/websocket`, on
//! tokio-tungstenite.
//!
//! * **One eRPC message per websocket message**, sent as one binary frame; text messages are
//!   accepted, and fragmented messages (a browser may send them) are reassembled. Messages
//!   are bounded by [`MAX_WS_MESSAGE`] (Go's 32 MiB) on read and write.
//! * The peer sees a byte stream of records (`u32 BE length · payload`, one per websocket
//!   message; see [`erpc_proto::proto::ws`]): every record read is one message received, every
//!   record written is sent as one message. Speak [`WsProto`](erpc_proto::proto::WsProto)
//!   over it (the peer does so on [`Endpoint::Ws`](erpc_peer::Endpoint::Ws)).
//! * **No `Sec-WebSocket-Protocol`** is offered or required (the sub-protocol is
//!   configuration, as in Go). A dial sends `Origin: ws://<local addr><path>` as Go's client
//!   does; a listener checks no Origin.
//! * A listener serves its URL path (`/` matches every path, as Go's `http.ServeMux`; another
//!   path must match exactly, otherwise HTTP 404) and, with a token, requires
//!   `?access_token=<token>` (otherwise HTTP 403 with an empty body, as Go's `QueryToken`).
//!   It does the server handshake itself ([`upgrade`]): a plain HTTP `GET` that is not an
//!   upgrade gets one of the endpoint's [`files`](WsEndpoint::files) (e.g. `erpc serve`'s
//!   browser client and demo page), HTTP 400 at the websocket path, 404 elsewhere.
//! * Upgrades run in tasks of their own, at most [`MAX_HANDSHAKES`] at once and each within
//!   [`HANDSHAKE_TIMEOUT`], so a slow client never holds up `accept`; at most
//!   [`ACCEPT_BACKLOG`] upgraded connections wait for `accept`.
//! * Flow control: a write is taken only when the previous complete message has been handed
//!   to the websocket (so at most one message waits besides the one being written), and
//!   tungstenite's own write buffer is bounded ([`MAX_WRITE_BUFFER`]); the peer's queued-bytes
//!   mark then stops reading as on every network.
//!
//! * `wss://`: with TLS settings on the peer (`tls_server`, `tls_client`), the peer hands them
//!   to the endpoint ([`WsEndpoint::tls`]) and the TLS handshake (futures-rustls) runs on the
//!   TCP stream before the websocket one, within the same [`HANDSHAKE_TIMEOUT`]; a plain
//!   HTTP request then gets the files over HTTPS.
//!
//! * A listener's [`handshake`](WsEndpoint::handshake) check (Go's handshake-auth plugin)
//!   sees every upgrade request past the path and token checks: it refuses (HTTP 403) or
//!   names the session (Go's `Erpc-Session-Id`; [`TokioWsStream::session_id`]).
//!
//! * Mounting on an existing HTTP server (Go's `NewServeHandler`): the server answers the
//!   upgrade (`101`, [`accept_key`]) on its own route and hands the upgraded connection to
//!   [`serve_upgraded`].

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use erpc_peer::erpc_proto::proto::ws::{split_record, MAX_WS_MESSAGE, RECORD_HEADER};
use erpc_peer::WsEndpoint;
use futures_util::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

mod transport;
pub mod upgrade;

use tokio_util::compat::{FuturesAsyncReadCompatExt, TokioAsyncReadCompatExt};
pub use transport::{UpgradedIo, WsIo};

/// Upgraded connections waiting for `accept` (then upgrades wait).
pub const ACCEPT_BACKLOG: usize = 128;
/// Upgrades in progress at once per listener (then TCP accepts wait).
pub const MAX_HANDSHAKES: usize = 128;
/// How long an upgrade may take, from the TCP accept (or connect) to the 101 response.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes tungstenite buffers for the socket before a send waits (two messages).
pub const MAX_WRITE_BUFFER: usize = 2 * MAX_WS_MESSAGE + 4096;

fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_WS_MESSAGE))
        .max_frame_size(Some(MAX_WS_MESSAGE))
        .max_write_buffer_size(MAX_WRITE_BUFFER)
}

fn to_io(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        WsError::ConnectionClosed | WsError::AlreadyClosed => {
            io::Error::new(io::ErrorKind::BrokenPipe, "websocket closed")
        }
        WsError::Http(resp) => io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("bad status: {}", resp.status()),
        ),
        WsError::Capacity(e) => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
        other => io::Error::other(other.to_string()),
    }
}

/// A websocket connection as a stream of records (see the [module docs](self)).
#[derive(Debug)]
pub struct TokioWsStream {
    ws: WebSocketStream<WsIo>,
    local: SocketAddr,
    peer: SocketAddr,
    /// The record being read: its header, then its payload.
    read_head: [u8; RECORD_HEADER],
    read_head_pos: usize,
    read_body: Bytes,
    /// Written bytes not yet split into records.
    write: BytesMut,
    /// A complete message waiting for the websocket to take it.
    pending: Option<Bytes>,
    /// The session id the listener's handshake check gave.
    session_id: Option<String>,
}

impl TokioWsStream {
    fn new(ws: WebSocketStream<WsIo>, local: SocketAddr, peer: SocketAddr) -> Self {
        TokioWsStream {
            ws,
            local,
            peer,
            read_head: [0; RECORD_HEADER],
            read_head_pos: RECORD_HEADER,
            read_body: Bytes::new(),
            write: BytesMut::new(),
            pending: None,
            session_id: None,
        }
    }

    /// Dials `ws://<addr><path>[?access_token=T]` over a connected TCP stream (`wss://`, TLS
    /// first, when the endpoint's [`tls`](WsEndpoint::tls) has a client configuration); `opts`
    /// already applied. The TLS and websocket handshakes together take at most
    /// [`HANDSHAKE_TIMEOUT`].
    pub async fn connect(tcp: TcpStream, endpoint: &WsEndpoint) -> io::Result<Self> {
        let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
        let scheme = if endpoint.tls.is_client() {
            "wss"
        } else {
            "ws"
        };
        let mut url = format!("{scheme}://{}{}", endpoint.addr, endpoint.path);
        if let Some(t) = &endpoint.token {
            url.push_str("?access_token=");
            url.push_str(&percent_encode(t));
        }
        let mut req = url
            .into_client_request()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let origin = HeaderValue::from_str(&format!("{scheme}://{local}{}", endpoint.path))
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        req.headers_mut().insert("Origin", origin);
        let hs = async {
            let io = if endpoint.tls.is_client() {
                let tls = endpoint.tls.connect(tcp.compat()).await?;
                WsIo::Tls(tls.compat())
            } else {
                WsIo::Plain(tcp)
            };
            tokio_tungstenite::client_async_with_config(req, io, Some(ws_config()))
                .await
                .map_err(to_io)
        };
        let (ws, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT, hs)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "websocket handshake"))??;
        Ok(TokioWsStream::new(ws, local, peer))
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The session id the listener's [`handshake`](WsEndpoint::handshake) check gave (an
    /// accepted stream; `None` otherwise).
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    /// The other side's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Hands every complete written record to the websocket; `Ready(Ok)` when none is left.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.pending.is_none() {
                match split_record(&mut self.write, MAX_WS_MESSAGE) {
                    Ok(Some(p)) => self.pending = Some(p.freeze()),
                    Ok(None) => return Poll::Ready(Ok(())),
                    Err(e) => {
                        return Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidInput, e)))
                    }
                }
            }
            ready!(Pin::new(&mut self.ws).poll_ready(cx)).map_err(to_io)?;
            if let Some(p) = self.pending.take() {
                Pin::new(&mut self.ws)
                    .start_send(Message::Binary(p))
                    .map_err(to_io)?;
            }
        }
    }
}

impl AsyncRead for TokioWsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            let before = buf.filled().len();
            if this.read_head_pos < RECORD_HEADER {
                let n = (RECORD_HEADER - this.read_head_pos).min(buf.remaining());
                buf.put_slice(&this.read_head[this.read_head_pos..this.read_head_pos + n]);
                this.read_head_pos += n;
            }
            if this.read_head_pos == RECORD_HEADER && !this.read_body.is_empty() {
                let n = this.read_body.len().min(buf.remaining());
                buf.put_slice(&this.read_body.split_to(n));
            }
            if buf.filled().len() > before || buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            let payload = match ready!(Pin::new(&mut this.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(b))) => b,
                Some(Ok(Message::Text(t))) => Bytes::from(t),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(())),
                Some(Err(WsError::ConnectionClosed)) => return Poll::Ready(Ok(())),
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
            };
            // At most MAX_WS_MESSAGE (tungstenite checks it), so it fits the u32 header.
            this.read_head = (payload.len() as u32).to_be_bytes();
            this.read_head_pos = 0;
            this.read_body = payload;
        }
    }
}

impl AsyncWrite for TokioWsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match this.drain(cx) {
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending if this.pending.is_some() => return Poll::Pending,
            _ => {}
        }
        // Take at most the rest of the record being written, so that one complete message
        // at a time waits here.
        let want = match split_len(&this.write) {
            Some(total) => total.saturating_sub(this.write.len()).max(1),
            None => RECORD_HEADER - this.write.len(),
        };
        let n = want.min(buf.len());
        this.write.extend_from_slice(&buf[..n]);
        if let Poll::Ready(Err(e)) = this.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        Pin::new(&mut this.ws).poll_flush(cx).map_err(to_io)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.drain(cx))?;
        match ready!(Pin::new(&mut this.ws).poll_close(cx)) {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Poll::Ready(Ok(())),
            Err(e) => Poll::Ready(Err(to_io(e))),
        }
    }
}

/// The total length (header included) of the record at the front of `buf`, once its header
/// is there.
fn split_len(buf: &[u8]) -> Option<usize> {
    let head: [u8; RECORD_HEADER] = buf.get(..RECORD_HEADER)?.try_into().ok()?;
    Some(RECORD_HEADER + u32::from_be_bytes(head) as usize)
}

/// `application/x-www-form-urlencoded`-safe percent-encoding of a query value.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Go's `url.QueryUnescape` (`+` is a space); `None` on a bad escape.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A websocket listener: TCP accepts and upgrades in the background (see the
/// [module docs](self)).
#[derive(Debug)]
pub struct TokioWsListener {
    local: SocketAddr,
    /// A copy of the listening socket, which a graceful reboot hands over.
    #[cfg(unix)]
    fd: std::os::fd::OwnedFd,
    ready: tokio::sync::Mutex<mpsc::Receiver<io::Result<TokioWsStream>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TokioWsListener {
    /// Binds `addr` and serves `endpoint`'s path and token.
    pub async fn bind(addr: SocketAddr, endpoint: &WsEndpoint) -> io::Result<Self> {
        Self::serve(TcpListener::bind(addr).await?, endpoint)
    }

    /// Serves `endpoint`'s path and token on a TCP listener bound elsewhere (one inherited on
    /// a graceful reboot).
    pub fn from_std(tcp: std::net::TcpListener, endpoint: &WsEndpoint) -> io::Result<Self> {
        tcp.set_nonblocking(true)?;
        Self::serve(TcpListener::from_std(tcp)?, endpoint)
    }

    fn serve(tcp: TcpListener, endpoint: &WsEndpoint) -> io::Result<Self> {
        let local = tcp.local_addr()?;
        #[cfg(unix)]
        let fd = std::os::fd::AsFd::as_fd(&tcp).try_clone_to_owned()?;
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        let task = tokio::spawn(accept_loop(tcp, Arc::new(endpoint.clone()), tx));
        Ok(TokioWsListener {
            local,
            #[cfg(unix)]
            fd,
            ready: tokio::sync::Mutex::new(rx),
            task,
        })
    }

    /// The listening socket (a graceful reboot hands it to the next process).
    #[cfg(unix)]
    pub(crate) fn listener_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        std::os::fd::AsFd::as_fd(&self.fd)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next upgraded connection.
    pub async fn accept(&self) -> io::Result<TokioWsStream> {
        match self.ready.lock().await.recv().await {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "websocket listener stopped",
            )),
        }
    }
}

impl Drop for TokioWsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    endpoint: Arc<WsEndpoint>,
    tx: mpsc::Sender<io::Result<TokioWsStream>>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (s, peer) = match tcp.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: report it and go on after a pause.
                if tx.send(Err(e)).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (endpoint, tx) = (Arc::clone(&endpoint), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let Ok(local) = s.local_addr() else { return };
            let _ = s.set_nodelay(true);
            let hs = async {
                let io = if endpoint.tls.is_server() {
                    WsIo::Tls(endpoint.tls.accept(s.compat()).await?.compat())
                } else {
                    WsIo::Plain(s)
                };
                upgrade::serve(io, &peer.to_string(), &endpoint).await
            };
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, hs).await {
                Ok(Ok(Some((ws, id)))) => {
                    let mut s = TokioWsStream::new(ws, local, peer);
                    s.session_id = id;
                    let _ = tx.send(Ok(s)).await;
                }
                Ok(Ok(None)) => tracing::debug!(%peer, "plain HTTP request answered"),
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "websocket upgrade failed"),
                Err(_) => tracing::debug!(%peer, "websocket upgrade timed out"),
            }
        });
    }
}

/// The `Sec-WebSocket-Accept` value answering a request's `Sec-WebSocket-Key` (RFC 6455),
/// for an HTTP server that answers the upgrade itself ([`serve_upgraded`]).
pub fn accept_key(sec_websocket_key: &str) -> String {
    tokio_tungstenite::tungstenite::handshake::derive_accept_key(
        sec_websocket_key.trim().as_bytes(),
    )
}

/// Serves on `peer` a websocket connection another HTTP server upgraded (Go's
/// `NewServeHandler`): the server checked the request and answered `101 Switching Protocols`
/// (with [`accept_key`]); `io` is the connection after that answer. The session speaks the
/// peer's websocket sub-protocol (`ws_subproto`), its id is `remote` (as for accepted
/// connections), and it is served in the background like [`Peer::serve_conn`](erpc_peer::Peer::serve_conn)'s.
///
/// ```no_run
/// # async fn demo(peer: erpc_runtime_tokio::Peer, upgraded: tokio::net::TcpStream) -> Result<(), erpc_runtime_tokio::Status> {
/// // In the HTTP server's handler for the route, after answering 101:
/// let local = "127.0.0.1:8080".parse().unwrap();
/// let remote = "127.0.0.1:50000".parse().unwrap();
/// let session = erpc_runtime_tokio::ws::serve_upgraded(&peer, upgraded, local, remote).await?;
/// session.push("/hello", &"over the mounted endpoint").await?;
/// # Ok(()) }
/// ```
pub async fn serve_upgraded(
    peer: &crate::Peer,
    io: impl UpgradedIo,
    local: SocketAddr,
    remote: SocketAddr,
) -> Result<erpc_peer::Session, erpc_peer::Status> {
    use tokio_tungstenite::tungstenite::protocol::Role;
    let io = WsIo::Upgraded(Box::new(io));
    let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await;
    let stream = TokioWsStream::new(ws, local, remote);
    let conn = erpc_peer::Connected::new(
        crate::TokioStream::Ws(Box::new(stream)).compat(),
        local.to_string(),
        remote.to_string(),
    );
    peer.serve_ws_conn(conn).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_roundtrip() {
        assert_eq!(
            percent_decode(&percent_encode("a&b=c%/ é")).as_deref(),
            Some("a&b=c%/ é")
        );
        assert_eq!(percent_decode("a+b").as_deref(), Some("a b"));
        assert_eq!(percent_decode("%zz"), None);
    }
}
