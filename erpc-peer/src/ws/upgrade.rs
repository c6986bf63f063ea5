//! The server side of the websocket handshake (RFC 6455 §4.2), done here rather than in
//! tungstenite so that a plain HTTP request on the same port can get a file
//! ([`WsEndpoint::files`]): read the request head (bounded), then answer `101 Switching
//! Protocols`, a file, or an HTTP error, and close.

use std::io;

use async_tungstenite::WebSocketStream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};
use tungstenite::handshake::derive_accept_key;
use tungstenite::protocol::Role;

use crate::{HttpFile, WsEndpoint, WsRequest};

use super::{percent_decode, ws_config};

/// The largest request head (request line and headers) a listener reads; a longer one gets
/// HTTP 431.
pub const MAX_REQUEST_HEAD: usize = 16 * 1024;
/// The most request headers; more get HTTP 431.
pub const MAX_REQUEST_HEADERS: usize = 64;

/// The parts of a request head the listener looks at.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) method: String,
    pub(super) path: String,
    pub(super) query: String,
    /// An `Upgrade: websocket` header is there.
    pub(super) upgrade: bool,
    /// A `Connection` header has the `upgrade` token.
    pub(super) connection_upgrade: bool,
    pub(super) version: Option<String>,
    pub(super) key: Option<String>,
    /// Every header, for the endpoint's handshake check.
    pub(super) headers: Vec<(String, String)>,
}

/// What to answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer<'a> {
    /// Switch to the websocket with this `Sec-WebSocket-Accept`; the session id the
    /// handshake check gave.
    Upgrade(String, Option<String>),
    /// Serve this file (`head`: without the body).
    File(&'a HttpFile, bool),
    /// An HTTP error status, with `Sec-WebSocket-Version: 13` for 426.
    Error(u16),
}

/// Parses a complete request head (through `\r\n\r\n`); `Err` with the HTTP status to answer.
pub(super) fn parse_head(bytes: &[u8]) -> Result<Head, u16> {
    let mut headers = [httparse::EMPTY_HEADER; MAX_REQUEST_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(bytes) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Err(400),
        Err(httparse::Error::TooManyHeaders) => return Err(431),
        Err(_) => return Err(400),
    }
    let target = req.path.unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut head = Head {
        method: req.method.unwrap_or("").to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        ..Head::default()
    };
    let tokens = |v: &[u8], want: &str| {
        String::from_utf8_lossy(v)
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(want))
    };
    for h in req.headers.iter() {
        let value = || String::from_utf8_lossy(h.value).trim().to_owned();
        head.headers.push((h.name.to_owned(), value()));
        if h.name.eq_ignore_ascii_case("upgrade") {
            head.upgrade |= tokens(h.value, "websocket");
        } else if h.name.eq_ignore_ascii_case("connection") {
            head.connection_upgrade |= tokens(h.value, "upgrade");
        } else if h.name.eq_ignore_ascii_case("sec-websocket-version") {
            head.version = Some(value());
        } else if h.name.eq_ignore_ascii_case("sec-websocket-key") {
            head.key = Some(value());
        }
    }
    Ok(head)
}

/// The answer to `head` from `remote` on `endpoint`: a websocket upgrade at the endpoint's
/// path (`/` matches every path) with its token and past its handshake check, a file for a
/// plain `GET`/`HEAD` at a file's path.
pub(super) fn answer<'a>(head: &Head, remote: &str, endpoint: &'a WsEndpoint) -> Answer<'a> {
    let at_ws_path = endpoint.path == "/" || head.path == endpoint.path;
    if !head.upgrade {
        let get = head.method == "GET";
        if get || head.method == "HEAD" {
            if let Some(f) = endpoint.files.iter().find(|f| f.path == head.path) {
                return Answer::File(f, !get);
            }
        }
        return Answer::Error(if at_ws_path { 400 } else { 404 });
    }
    if !at_ws_path {
        return Answer::Error(404);
    }
    if let Some(want) = &endpoint.token {
        let got = head.query.split('&').find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k).as_deref() == Some("access_token")).then(|| percent_decode(v))
        });
        if got.flatten().as_deref() != Some(want.as_str()) {
            return Answer::Error(403);
        }
    }
    if head.method != "GET" {
        return Answer::Error(405);
    }
    if head.version.as_deref() != Some("13") {
        return Answer::Error(426);
    }
    let accept = match &head.key {
        Some(key) if head.connection_upgrade && !key.is_empty() => {
            derive_accept_key(key.as_bytes())
        }
        _ => return Answer::Error(400),
    };
    let id = match &endpoint.handshake {
        None => None,
        Some(h) => {
            let req = WsRequest::new(&head.path, &head.query, &head.headers, remote);
            match h.check(&req) {
                Ok(id) => id,
                // Go's handshake auth: 403 with an empty body.
                Err(st) => {
                    tracing::debug!(remote, status = %st, "websocket handshake refused");
                    return Answer::Error(403);
                }
            }
        }
    };
    Answer::Upgrade(accept, id)
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    }
}

/// Reads the request head on `tcp` (from `remote`) and answers it: `Ok(Some((ws, id)))` once
/// upgraded (`id`: the session id of the handshake check), `Ok(None)` when a file or an HTTP
/// error was sent (the connection is then closed).
pub(super) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut tcp: S,
    remote: &str,
    endpoint: &WsEndpoint,
) -> io::Result<Option<(WebSocketStream<S>, Option<String>)>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 2048];
    let end = loop {
        let n = tcp.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "connection closed in the request head",
            ));
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            break from + i + 4;
        }
        if buf.len() > MAX_REQUEST_HEAD {
            respond(&mut tcp, 431, None).await?;
            return Ok(None);
        }
    };
    if end > MAX_REQUEST_HEAD {
        respond(&mut tcp, 431, None).await?;
        return Ok(None);
    }
    let answer = match parse_head(&buf[..end]) {
        Ok(head) => answer(&head, remote, endpoint),
        Err(code) => Answer::Error(code),
    };
    match answer {
        Answer::Upgrade(accept, id) => {
            let resp = format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
            );
            tcp.write_all(resp.as_bytes()).await?;
            let rest = buf.split_off(end);
            let ws =
                WebSocketStream::from_partially_read(tcp, rest, Role::Server, Some(ws_config()))
                    .await;
            Ok(Some((ws, id)))
        }
        Answer::File(f, head_only) => {
            respond(&mut tcp, 200, Some((f, head_only))).await?;
            Ok(None)
        }
        Answer::Error(code) => {
            respond(&mut tcp, code, None).await?;
            Ok(None)
        }
    }
}

async fn respond<S: AsyncWrite + Unpin>(
    tcp: &mut S,
    code: u16,
    file: Option<(&HttpFile, bool)>,
) -> io::Result<()> {
    let (ctype, body, head_only) = match file {
        Some((f, h)) => (f.content_type.as_str(), &f.body[..], h),
        None => ("text/plain; charset=utf-8", &b""[..], false),
    };
    let mut resp = format!(
        "HTTP/1.1 {code} {}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nConnection: close\r\n",
        reason(code),
        body.len()
    );
    if code == 426 {
        resp.push_str("Sec-WebSocket-Version: 13\r\n");
    }
    resp.push_str("\r\n");
    tcp.write_all(resp.as_bytes()).await?;
    if !head_only {
        tcp.write_all(body).await?;
    }
    tcp.close().await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        parse_head(text.as_bytes()).unwrap_or_default()
    }

    const UPGRADE: &str = "GET /ws?access_token=a+b HTTP/1.1\r\nHost: x\r\nUpgrade: WebSocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn upgrades_at_the_path_with_the_token() {
        let ep = WsEndpoint::new("x").with_path("/ws");
        let h = head(UPGRADE);
        assert_eq!(
            answer(&h, "r", &ep),
            // RFC 6455's example key and accept value.
            Answer::Upgrade("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".into(), None)
        );
        let tok = ep.clone().with_token(Some("a b".into()));
        assert!(matches!(answer(&h, "r", &tok), Answer::Upgrade(..)));
        let wrong = ep.clone().with_token(Some("t".into()));
        assert_eq!(answer(&h, "r", &wrong), Answer::Error(403));
        assert_eq!(
            answer(&h, "r", &WsEndpoint::new("x").with_path("/other")),
            Answer::Error(404)
        );
        assert!(matches!(
            answer(&h, "r", &WsEndpoint::new("x")),
            Answer::Upgrade(..)
        ));
        let old = head(&UPGRADE.replace("Version: 13", "Version: 8"));
        assert_eq!(answer(&old, "r", &ep), Answer::Error(426));
        let nokey = head(&UPGRADE.replace("Sec-WebSocket-Key", "X-Key"));
        assert_eq!(answer(&nokey, "r", &ep), Answer::Error(400));
    }

    #[test]
    fn handshake_check_names_or_refuses() {
        use crate::WsHandshake;
        let ep = WsEndpoint::new("x").with_handshake(WsHandshake::new(|req| {
            match (req.header("x-user"), req.remote_addr) {
                (Some(u), "1.2.3.4:5") => Ok(Some(format!("{u}@{}", req.path))),
                (None, _) => Ok(None),
                _ => Err(crate::Status::with_cause(crate::Code::UNAUTHORIZED, "who?")),
            }
        }));
        let with_user = UPGRADE.replace("Host: x\r\n", "Host: x\r\nX-User: ann\r\n");
        assert!(matches!(
            answer(&head(&with_user), "1.2.3.4:5", &ep),
            Answer::Upgrade(_, Some(id)) if id == "ann@/ws"
        ));
        assert!(matches!(
            answer(&head(UPGRADE), "1.2.3.4:5", &ep),
            Answer::Upgrade(_, None)
        ));
        assert_eq!(
            answer(&head(&with_user), "9.9.9.9:1", &ep),
            Answer::Error(403)
        );
    }

    #[test]
    fn files_for_plain_requests() {
        let ep = WsEndpoint::new("x").with_files(vec![HttpFile::new(
            "/erpc.js",
            "text/javascript",
            "x",
        )]);
        let get = head("GET /erpc.js?v=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(matches!(answer(&get, "r", &ep), Answer::File(f, false) if f.path == "/erpc.js"));
        let h = head("HEAD /erpc.js HTTP/1.1\r\n\r\n");
        assert!(matches!(answer(&h, "r", &ep), Answer::File(_, true)));
        let post = head("POST /erpc.js HTTP/1.1\r\n\r\n");
        assert_eq!(answer(&post, "r", &ep), Answer::Error(400));
        let on_ws = ep.clone().with_path("/ws");
        let miss = head("GET /nope HTTP/1.1\r\n\r\n");
        assert_eq!(answer(&miss, "r", &on_ws), Answer::Error(404));
        let plain_ws = head("GET /ws HTTP/1.1\r\n\r\n");
        assert_eq!(answer(&plain_ws, "r", &on_ws), Answer::Error(400));
        // An upgrade at a file's path is an upgrade.
        let up = head(&UPGRADE.replace("/ws?", "/erpc.js?"));
        assert!(matches!(answer(&up, "r", &ep), Answer::Upgrade(..)));
    }

    #[test]
    fn bad_heads() {
        assert_eq!(parse_head(b"\x00\x01 nonsense\r\n\r\n"), Err(400));
        let many: String = (0..MAX_REQUEST_HEADERS + 1)
            .map(|i| format!("X-{i}: v\r\n"))
            .collect();
        assert_eq!(
            parse_head(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()),
            Err(431)
        );
    }
}
