//! The `ws` network, written once for every adapter (feature `ws`): WebSocket as Go eRPC's
//! `mixer/websocket` on async-tungstenite over any futures-io byte stream. The adapters give
//! only their TCP sockets ([`WsStream::connect`], [`WsListener::serve`]).
//!
//! * **One eRPC message per websocket message**, sent as one binary frame; text messages are
//!   accepted, and fragmented messages (a browser may send them) are reassembled. Messages
//!   are bounded by [`MAX_WS_MESSAGE`] (Go's 32 MiB) on read and write.
//! * The peer sees a byte stream of records (`u32 BE length · payload`, one per websocket
//!   message; see [`erpc_proto::proto::ws`]): every record read is one message received, every
//!   record written is sent as one message ([`WsRecords`]). Speak
//!   [`WsProto`](erpc_proto::proto::WsProto) over it (the peer does so on
//!   [`Endpoint::Ws`](crate::Endpoint::Ws)).
//! * **No `Sec-WebSocket-Protocol`** is offered or required (the sub-protocol is
//!   configuration, as in Go). A dial sends `Origin: ws://<local addr><path>` as Go's client
//!   does ([`client_request`]); a listener checks no Origin.
//! * A listener does the server handshake itself ([`upgrade`]): it serves its URL path (`/`
//!   matches every path, as Go's `http.ServeMux`; another path must match exactly, otherwise
//!   HTTP 404) and, with a token, requires `?access_token=<token>` (otherwise HTTP 403 with an
//!   empty body, as Go's `QueryToken`); a plain HTTP `GET` that is not an upgrade gets one of
//!   the endpoint's [`files`](crate::WsEndpoint::files) (e.g. `erpc serve`'s browser client
//!   and demo page), HTTP 400 at the websocket path, 404 elsewhere.
//! * A listener's [`handshake`](crate::WsEndpoint::handshake) check (Go's handshake-auth
//!   plugin) sees every upgrade request past the path and token checks: it refuses (HTTP 403)
//!   or names the session (Go's `Erpc-Session-Id`; [`WsStream::session_id`]).
//! * `wss://`: with TLS settings on the peer (`tls_server`, `tls_client`), the peer hands them
//!   to the endpoint ([`WsEndpoint::tls`](crate::WsEndpoint::tls)) and the TLS handshake
//!   (futures-rustls) runs on the TCP stream before the websocket one, within the same
//!   [`HANDSHAKE_TIMEOUT`]; a plain HTTP request then gets the files over HTTPS.
//! * Upgrades run in tasks of their own on the adapter's runtime, at most [`MAX_HANDSHAKES`]
//!   at once and each within [`HANDSHAKE_TIMEOUT`], so a slow client never holds up
//!   `accept`; at most [`ACCEPT_BACKLOG`] upgraded connections wait for `accept`.
//! * Flow control: a write is taken only when the previous complete message has been handed
//!   to the websocket (so at most one message waits besides the one being written), and
//!   tungstenite's own write buffer is bounded ([`MAX_WRITE_BUFFER`]); the peer's queued-bytes
//!   mark then stops reading as on every network.
//! * Mounting on an existing HTTP server (Go's `NewServeHandler`): the server answers the
//!   upgrade (`101`, [`accept_key`]) on its own route and hands the upgraded connection to
//!   [`WsStream::upgraded`] (the adapters wrap it: `erpc_runtime_tokio::ws::serve_upgraded`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
pub use erpc_proto::proto::ws::MAX_WS_MESSAGE;
use erpc_proto::proto::ws::{split_record, RECORD_HEADER};
use futures_util::{Sink, Stream};
pub use tungstenite;
use tungstenite::client::IntoClientRequest;
use tungstenite::handshake::client::Request as ClientRequest;
use tungstenite::http::HeaderValue;
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Error as WsError, Message};

use crate::WsEndpoint;

mod conn;
pub mod upgrade;

pub use conn::{WsListener, WsStream};

/// Upgraded connections waiting for `accept` (then upgrades wait).
pub const ACCEPT_BACKLOG: usize = 128;
/// Upgrades in progress at once per listener (then TCP accepts wait).
pub const MAX_HANDSHAKES: usize = 128;
/// How long an upgrade may take, from the TCP accept (or connect) to the 101 response.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The most bytes tungstenite buffers for the socket before a send waits (two messages).
pub const MAX_WRITE_BUFFER: usize = 2 * MAX_WS_MESSAGE + 4096;

/// The websocket configuration of every connection: messages and frames of at most
/// [`MAX_WS_MESSAGE`], a write buffer of at most [`MAX_WRITE_BUFFER`].
pub fn ws_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(MAX_WS_MESSAGE))
        .max_frame_size(Some(MAX_WS_MESSAGE))
        .max_write_buffer_size(MAX_WRITE_BUFFER)
}

/// A tungstenite error as an I/O error of the stream.
pub fn to_io(e: WsError) -> io::Error {
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

/// The upgrade request of a dial from `local`: `ws://<addr><path>[?access_token=T]`
/// (`wss://` when the endpoint's TLS has a client configuration) with Go's `Origin` header.
pub fn client_request(endpoint: &WsEndpoint, local: SocketAddr) -> io::Result<ClientRequest> {
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
    Ok(req)
}

/// The `Sec-WebSocket-Accept` value answering a request's `Sec-WebSocket-Key` (RFC 6455),
/// for an HTTP server that answers the upgrade itself (then [`WsStream::upgraded`]).
pub fn accept_key(sec_websocket_key: &str) -> String {
    tungstenite::handshake::derive_accept_key(sec_websocket_key.trim().as_bytes())
}

/// A websocket connection as a stream of records (see the [module docs](self)), over any
/// tungstenite stream `S` (tokio-tungstenite's, async-tungstenite's). The adapters wrap it in
/// their read and write traits.
#[derive(Debug)]
pub struct WsRecords<S> {
    ws: S,
    /// The record being read: its header, then its payload.
    read_head: [u8; RECORD_HEADER],
    read_head_pos: usize,
    read_body: Bytes,
    /// Written bytes not yet split into records.
    write: BytesMut,
    /// A complete message waiting for the websocket to take it.
    pending: Option<Bytes>,
}

impl<S> WsRecords<S>
where
    S: Stream<Item = Result<Message, WsError>> + Sink<Message, Error = WsError> + Unpin,
{
    /// Records over the upgraded websocket `ws`.
    pub fn new(ws: S) -> Self {
        WsRecords {
            ws,
            read_head: [0; RECORD_HEADER],
            read_head_pos: RECORD_HEADER,
            read_body: Bytes::new(),
            write: BytesMut::new(),
            pending: None,
        }
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

    /// Reads record bytes into `buf`; `Ready(Ok(0))` once the websocket closed.
    pub fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        loop {
            let mut n = 0;
            if self.read_head_pos < RECORD_HEADER {
                let take = (RECORD_HEADER - self.read_head_pos).min(buf.len());
                buf[..take].copy_from_slice(
                    &self.read_head[self.read_head_pos..self.read_head_pos + take],
                );
                self.read_head_pos += take;
                n = take;
            }
            if self.read_head_pos == RECORD_HEADER && !self.read_body.is_empty() {
                let take = self.read_body.len().min(buf.len() - n);
                buf[n..n + take].copy_from_slice(&self.read_body.split_to(take));
                n += take;
            }
            if n > 0 {
                return Poll::Ready(Ok(n));
            }
            let payload = match ready!(Pin::new(&mut self.ws).poll_next(cx)) {
                Some(Ok(Message::Binary(b))) => b,
                Some(Ok(Message::Text(t))) => Bytes::from(t),
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => continue,
                Some(Ok(Message::Close(_))) | None => return Poll::Ready(Ok(0)),
                Some(Err(WsError::ConnectionClosed)) => return Poll::Ready(Ok(0)),
                Some(Err(e)) => return Poll::Ready(Err(to_io(e))),
            };
            // At most MAX_WS_MESSAGE (tungstenite checks it), so it fits the u32 header.
            self.read_head = (payload.len() as u32).to_be_bytes();
            self.read_head_pos = 0;
            self.read_body = payload;
        }
    }

    /// Takes bytes of the record stream (at most the rest of the record being written, so
    /// that one complete message at a time waits here).
    pub fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.drain(cx) {
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending if self.pending.is_some() => return Poll::Pending,
            _ => {}
        }
        let want = match split_len(&self.write) {
            Some(total) => total.saturating_sub(self.write.len()).max(1),
            None => RECORD_HEADER - self.write.len(),
        };
        let n = want.min(buf.len());
        self.write.extend_from_slice(&buf[..n]);
        if let Poll::Ready(Err(e)) = self.drain(cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    /// Sends every complete record and flushes the websocket.
    pub fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.ws).poll_flush(cx).map_err(to_io)
    }

    /// Sends every complete record and closes the websocket.
    pub fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        match ready!(Pin::new(&mut self.ws).poll_close(cx)) {
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
pub(crate) fn percent_decode(s: &str) -> Option<String> {
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

    #[test]
    fn a_dial_asks_for_the_path_with_the_token_and_go_s_origin() {
        let ep = WsEndpoint::new("127.0.0.1:9")
            .with_path("/ws")
            .with_token(Some("a b".into()));
        let local: SocketAddr = "127.0.0.1:5".parse().unwrap_or_else(|_| unreachable!());
        let req = client_request(&ep, local).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            req.uri().to_string(),
            "ws://127.0.0.1:9/ws?access_token=a%20b"
        );
        assert_eq!(
            req.headers().get("Origin").map(|v| v.as_bytes()),
            Some(&b"ws://127.0.0.1:5/ws"[..])
        );
    }
}
