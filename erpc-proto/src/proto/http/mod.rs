//! httproto: eRPC messages as HTTP/1.1-style requests and responses (version id `h`, name
//! `http`).
//!
//! ```text
//! CALL, AUTH_CALL:     POST <path>[?<query>] HTTP/1.1\r\n  headers  \r\n  body
//! REPLY, AUTH_REPLY:   HTTP/1.1 200 OK\r\n                 headers  \r\n  body
//!   (error status):    HTTP/1.1 299 Business Error\r\n     headers  \r\n  {"code":…,"msg":…,"cause":…}
//! ```
//!
//! Headers: `Content-Length`, `Content-Type` (from the body codec, see
//! [`HttpProto::with_content_type`]), `X-Seq`, `X-Mtype`, requests also `User-Agent:
//! erpc-httproto/1.1` and `Accept-Encoding: gzip` (and `Host` when the service method names
//! one), every meta pair as a header, and for gzip transfer filters `Content-Encoding: gzip`
//! plus `X-Content-Encoding: <filter name>`. Keys are canonicalised and sorted as Go's
//! `http.Header.Write` does, so frames are byte-identical to Go's.
//!
//! # Compatibility decisions
//!
//! * **PUSH cannot be carried**: encoding a PUSH (or any type but CALL, REPLY, AUTH_CALL,
//!   AUTH_REPLY) fails with [`EncodeError::Unsupported`] and Go's text
//!   `unsupport message type: 3(PUSH)`.
//! * **Meta becomes headers, and changes on the way**, as in Go: keys are canonicalised
//!   (`author` → `Author`), keys that are not HTTP tokens are dropped, CR/LF in values become
//!   spaces and values are trimmed. For requests, meta `User-Agent`, `Accept-Encoding` and
//!   `Host` are overridden by the protocol's own values; a meta `Content-Encoding` is written
//!   as an extra line. Go also writes meta pairs named `X-Seq`, `X-Mtype` or
//!   `X-Content-Encoding` as extra lines, which then **override** the real seq, type or
//!   filter on a Go reader (a meta pair can hijack the seq); erpc-rs drops meta pairs whose
//!   canonical key is one of the five headers the reader reserves (`Content-Type`,
//!   `Content-Length`, `X-Content-Encoding`, `X-Seq`, `X-Mtype`) — they could never arrive as
//!   meta anyway. On reading, the request's query string becomes meta, then every header
//!   except those five is **set** into meta (last duplicate wins), including `User-Agent`,
//!   `Accept-Encoding`, `Host` and `Content-Encoding`.
//! * **Service method** = the request target parsed as Go's `url.Parse` does: the path is
//!   percent-decoded, the query goes to meta, a fragment is dropped, a `scheme://host` prefix
//!   yields a `Host` header, and a `scheme:opaque` method loses its path (Go does the same).
//!   Go writes the *decoded* path into the request line (a space breaks the frame); erpc-rs
//!   writes the path as given when it is validly escaped and percent-encodes it otherwise (Go's
//!   `EscapedPath`), and encodes spaces in the query as `%20` — the same service method and
//!   meta arrive, and frames with ordinary paths are byte-identical to Go's.
//! * **Transfer filters**: only gzip filters (recognised by their output) are allowed, as in
//!   Go; the receiver finds the filter by **name** in `X-Content-Encoding`. With several
//!   filters Go's writer is broken (only the last name is sent); erpc-rs applies them as the
//!   other protocols do (last id first) and names each in its own `X-Content-Encoding` line,
//!   outer-most first, which Go's reader undoes correctly. The `299` status body goes through
//!   the same filters.
//! * **Error replies**: a REPLY with a non-OK status is `299 Business Error` with the status as
//!   JSON (an absent cause is written as `""` and read back as absent); its body is not sent,
//!   and the reader sets the body codec from `Content-Type` (`j`). A `299` without a body
//!   reads as code −1 (Go's result is undefined).
//! * **Limits** (Go has none): the first line plus headers are capped
//!   ([`HttpProto::with_max_head_len`], [`HttpProto::with_max_header_line`],
//!   [`HttpProto::with_max_headers`]), and the whole frame (head plus `Content-Length`) must
//!   fit the message size limit; both are checked before the body is buffered. A negative or
//!   non-numeric `Content-Length` is an error (Go panics or fails). Encoding checks the size
//!   limit too.
//! * Only `Content-Length` bodies (no chunked encoding), as Go. The decoder is stateless, so
//!   while a head is incomplete each call rescans it (bounded by the head limit).
//!
//! # Why the head parser is hand-written (not httparse)
//!
//! Go's reader is not an HTTP parser: it splits the first line on single spaces into three
//! parts, each header line at its first `:`, and trims the value. httparse (1.10) refuses
//! much of what Go accepts and Go peers may send: header names that are not tokens
//! (`X Custom : v`), methods that are not tokens, versions other than `HTTP/1.0`/`1.1`
//! (`HTTP/2 200 OK`, or any third part of the request line), and control bytes in header
//! values. Wrapping it would mean a second, lenient parser for the frames it refuses, so the
//! reader stays one small scanner over the buffer (`decode.rs`), pinned to Go's behaviour by
//! `tests::accepts_what_go_accepts`. Modules: `decode.rs` (head, message), `url.rs` (Go's
//! `url.Parse` subset), `encode.rs` (Go's header order and escaping), `tests.rs`.

use bytes::BytesMut;

use super::Protocol;
use crate::{CodecId, DecodeError, EncodeError, Message, WireConfig};
use decode::build_message;

mod decode;
mod encode;
mod url;

#[cfg(test)]
mod tests;

/// Default [`HttpProto::with_max_header_line`]: 64 KiB.
pub const DEFAULT_MAX_HEADER_LINE: usize = 64 << 10;
/// Default [`HttpProto::with_max_headers`]: 512.
pub const DEFAULT_MAX_HEADERS: usize = 512;
/// Default [`HttpProto::with_max_head_len`]: 1 MiB (Go's `http.DefaultMaxHeaderBytes`).
pub const DEFAULT_MAX_HEAD_LEN: usize = 1 << 20;

/// eRPC's HTTP-style protocol. Holds the Content-Type table and the head limits; cheap to
/// clone.
///
/// ```
/// use bytes::BytesMut;
/// use erpc_proto::proto::{HttpProto, Protocol};
/// use erpc_proto::{CodecId, Message, MessageType, WireConfig};
///
/// let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
/// msg.meta.add("author", "henrylee2cn");
/// msg.body_codec = CodecId::JSON;
/// msg.body = bytes::Bytes::from_static(b"[1,2,3,4,5]");
/// let http = HttpProto::new();
/// let cfg = WireConfig::default();
/// let mut wire = BytesMut::new();
/// http.encode(&msg, &cfg, &mut wire).unwrap();
/// assert!(wire.starts_with(b"POST /math/add HTTP/1.1\r\nAccept-Encoding: gzip\r\nAuthor: henrylee2cn\r\n"));
/// let back = http.decode(&mut wire, &cfg).unwrap().unwrap();
/// assert_eq!(back.meta.peek("Author"), Some(&b"henrylee2cn"[..])); // canonicalised
/// assert_eq!(back.body, msg.body);
/// ```
#[derive(Debug, Clone)]
pub struct HttpProto {
    max_line: usize,
    max_headers: usize,
    max_head: usize,
    /// Codec → Content-Type written.
    write_types: Vec<(CodecId, String)>,
    /// Content-Type (part before `;`) → codec read.
    read_types: Vec<(String, CodecId)>,
}

impl Default for HttpProto {
    fn default() -> Self {
        HttpProto::new()
    }
}

impl HttpProto {
    /// The protocol with Go's Content-Type table (`p`, `j`, `f`, `s`, `x`) and the default
    /// limits.
    pub fn new() -> Self {
        let table = [
            (CodecId::PROTOBUF, "application/x-protobuf;charset=utf-8"),
            (CodecId::JSON, "application/json;charset=utf-8"),
            (
                CodecId::FORM,
                "application/x-www-form-urlencoded;charset=utf-8",
            ),
            (CodecId::PLAIN, "text/plain;charset=utf-8"),
            (CodecId::XML, "text/xml;charset=utf-8"),
        ];
        let mut p = HttpProto {
            max_line: DEFAULT_MAX_HEADER_LINE,
            max_headers: DEFAULT_MAX_HEADERS,
            max_head: DEFAULT_MAX_HEAD_LEN,
            write_types: Vec::new(),
            read_types: Vec::new(),
        };
        for (codec, ct) in table {
            p = p.with_content_type(ct, codec);
        }
        p
    }

    /// Maps a Content-Type to a codec in both directions, as Go's `RegBodyCodec`: `codec` is
    /// written as `content_type`, and a received Content-Type whose part before `;` equals
    /// that of `content_type` reads as `codec`. Replaces earlier mappings of either.
    pub fn with_content_type(mut self, content_type: impl Into<String>, codec: CodecId) -> Self {
        let ct = content_type.into();
        let mime = ct.split(';').next().unwrap_or_default().to_owned();
        self.write_types.retain(|(c, _)| *c != codec);
        self.write_types.push((codec, ct));
        self.read_types.retain(|(m, _)| *m != mime);
        self.read_types.push((mime, codec));
        self
    }

    /// Longest line (request/status line or header, line ending included) accepted when
    /// decoding; default [`DEFAULT_MAX_HEADER_LINE`]. At least 64.
    pub fn with_max_header_line(mut self, len: usize) -> Self {
        self.max_line = len.max(64);
        self
    }

    /// Most header lines accepted in one message when decoding; default
    /// [`DEFAULT_MAX_HEADERS`].
    pub fn with_max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// Largest head (first line, headers and the blank line) accepted when decoding; default
    /// [`DEFAULT_MAX_HEAD_LEN`]. The message size limit applies as well.
    pub fn with_max_head_len(mut self, len: usize) -> Self {
        self.max_head = len.max(64);
        self
    }

    /// The Content-Type written for `codec`, if it has one (otherwise requests say
    /// `text/plain;charset=utf-8` and replies `text/plain`).
    pub fn content_type(&self, codec: CodecId) -> Option<&str> {
        self.write_types
            .iter()
            .find(|(c, _)| *c == codec)
            .map(|(_, ct)| ct.as_str())
    }

    /// The codec a received Content-Type stands for (its part before `;`, compared exactly);
    /// [`CodecId::NONE`] when unknown.
    pub fn codec_for(&self, content_type: &[u8]) -> CodecId {
        let mime = content_type
            .split(|&b| b == b';')
            .next()
            .unwrap_or_default();
        self.read_types
            .iter()
            .find(|(m, _)| m.as_bytes() == mime)
            .map_or(CodecId::NONE, |(_, c)| *c)
    }
}

fn malformed(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::Malformed(format!("http: {what}"))
}

impl Protocol for HttpProto {
    fn id(&self) -> u8 {
        b'h'
    }

    fn name(&self) -> &'static str {
        "http"
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        let Some(lines) = self.split_head(src, cfg)? else {
            return Ok(None);
        };
        let head = self.parse_head(src, &lines, cfg)?;
        let total = (head.len as u64).saturating_add(head.content_length);
        if total > cfg.max_message_size as u64 {
            return Err(DecodeError::FrameTooLarge {
                size: total,
                limit: cfg.max_message_size,
            });
        }
        let total = total as usize;
        if src.len() < total {
            return Ok(None);
        }
        let frame = src.split_to(total).freeze();
        build_message(frame, head, cfg).map(Some)
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        self.encode_message(msg, cfg, dst)
    }
}
