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

use std::borrow::Cow;
use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use super::json::{put_decimal, top_level_values, Kind, Value};
use super::Protocol;
use crate::status::Status;
use crate::xfer::{XferId, XferPipe};
use crate::{
    CodecId, DecodeError, EncodeError, Message, MessageType, Meta, ServiceMethod, WireConfig,
};

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

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/// What the head of a message says, as ranges into the buffer.
struct Head {
    /// `None` for a request, `Some(ok)` for a `200 OK` / `299 Business Error` response.
    response: Option<bool>,
    target: Range<usize>,
    codec: CodecId,
    content_length: u64,
    seq: i32,
    mtype: Option<u8>,
    filters: Vec<XferId>,
    /// Header pairs that become meta, in order (key range, trimmed value range).
    meta: Vec<(Range<usize>, Range<usize>)>,
    /// Length of the head, blank line included.
    len: usize,
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

impl HttpProto {
    /// Finds the lines of the head (without line endings, blank line excluded). `None` while
    /// the head is incomplete.
    fn split_head(
        &self,
        src: &BytesMut,
        cfg: &WireConfig,
    ) -> Result<Option<Vec<Range<usize>>>, DecodeError> {
        let max_head = self.max_head.min(cfg.max_message_size);
        let mut lines = Vec::new();
        let mut pos: usize = 0;
        loop {
            // Go reads the first 5 bytes blindly, then up to `\n`; a `\r` before the `\n` is
            // dropped when it belongs to the part read line-wise.
            let from = if lines.is_empty() { pos + 5 } else { pos };
            let window_end = src.len().min(pos.saturating_add(self.max_line));
            let found = if from < window_end {
                src[from..window_end].iter().position(|&b| b == b'\n')
            } else {
                None
            };
            let Some(i) = found else {
                if src.len() - pos >= self.max_line {
                    return Err(malformed(format_args!(
                        "header line longer than {} bytes",
                        self.max_line
                    )));
                }
                if src.len() > max_head {
                    return Err(head_too_large(src.len(), max_head, cfg));
                }
                return Ok(None);
            };
            let nl = from + i;
            let end = if nl > from && src[nl - 1] == b'\r' {
                nl - 1
            } else {
                nl
            };
            let start = pos;
            pos = nl + 1;
            if pos > max_head {
                return Err(head_too_large(pos, max_head, cfg));
            }
            if !lines.is_empty() && end == start {
                lines.push(start..pos); // marks the head length
                return Ok(Some(lines));
            }
            if lines.len() > self.max_headers {
                return Err(malformed(format_args!(
                    "more than {} header lines",
                    self.max_headers
                )));
            }
            lines.push(start..end);
        }
    }

    fn parse_head(
        &self,
        src: &[u8],
        lines: &[Range<usize>],
        cfg: &WireConfig,
    ) -> Result<Head, DecodeError> {
        let (blank, lines) = lines.split_last().ok_or_else(|| malformed("empty head"))?;
        let first = &lines[0];
        let line = &src[first.clone()];
        let mut head = Head {
            response: None,
            target: 0..0,
            codec: CodecId::NONE,
            content_length: 0,
            seq: 0,
            mtype: None,
            filters: Vec::new(),
            meta: Vec::new(),
            len: blank.end,
        };
        if line.starts_with(b"HTTP/") {
            let sp = line
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| malformed("bad HTTP message"))?;
            head.response = Some(match &line[sp + 1..] {
                b"200 OK" => true,
                b"299 Business Error" => false,
                _ => return Err(malformed("unsupport HTTP status code")),
            });
        } else {
            let sp1 = line
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| malformed("bad HTTP message"))?;
            let sp2 = line[sp1 + 1..]
                .iter()
                .position(|&b| b == b' ')
                .ok_or_else(|| malformed("bad HTTP message"))?;
            head.target = first.start + sp1 + 1..first.start + sp1 + 1 + sp2;
        }
        for r in &lines[1..] {
            let line = &src[r.clone()];
            let colon = line
                .iter()
                .position(|&b| b == b':')
                .ok_or_else(|| malformed("bad HTTP message: header line without a colon"))?;
            let key = &line[..colon];
            let (vs, ve) = trim_space(&line[colon + 1..]);
            let value_range = r.start + colon + 1 + vs..r.start + colon + 1 + ve;
            let value = &src[value_range.clone()];
            match key {
                b"Content-Type" => head.codec = self.codec_for(value),
                b"Content-Length" => {
                    head.content_length = match atoi(value) {
                        Some(n) if n >= 0 => n as u64,
                        _ => return Err(malformed("bad HTTP message: invalid Content-Length")),
                    }
                }
                b"X-Content-Encoding" => {
                    let f = std::str::from_utf8(value)
                        .ok()
                        .and_then(|name| cfg.xfer.by_name(name))
                        .ok_or_else(|| {
                            malformed(format_args!(
                                "unsupported transfer filter name {:?}",
                                String::from_utf8_lossy(value)
                            ))
                        })?;
                    if head.filters.len() == 255 {
                        return Err(malformed("more than 255 transfer filters"));
                    }
                    head.filters.push(f.id());
                }
                b"X-Seq" => {
                    head.seq = atoi(value)
                        .ok_or_else(|| malformed("bad HTTP message: invalid X-Seq"))?
                        as i32
                }
                b"X-Mtype" => {
                    head.mtype = Some(
                        atoi(value).ok_or_else(|| malformed("bad HTTP message: invalid X-Mtype"))?
                            as u8,
                    )
                }
                _ => head.meta.push((r.start..r.start + colon, value_range)),
            }
        }
        Ok(head)
    }
}

fn head_too_large(size: usize, max_head: usize, cfg: &WireConfig) -> DecodeError {
    if max_head == cfg.max_message_size {
        DecodeError::FrameTooLarge {
            size: size as u64,
            limit: cfg.max_message_size,
        }
    } else {
        malformed(format_args!("head longer than {max_head} bytes"))
    }
}

fn build_message(frame: Bytes, head: Head, cfg: &WireConfig) -> Result<Message, DecodeError> {
    let mut meta = Meta::new();
    let (mtype, service_method) = match head.response {
        Some(_) => (MessageType::REPLY, ServiceMethod::empty()),
        None => {
            let url = parse_url(&frame[head.target.clone()]).map_err(malformed)?;
            let base = head.target.start;
            if let Some(q) = url.query {
                meta = Meta::from_query(frame.slice(base + q.start..base + q.end));
            }
            let path = frame.slice(base + url.path.start..base + url.path.end);
            let path = unescape_path(path).ok_or_else(|| malformed("invalid URL escape"))?;
            let sm =
                ServiceMethod::from_utf8(path).map_err(|_| DecodeError::InvalidServiceMethod)?;
            (MessageType::CALL, sm)
        }
    };
    for (k, v) in head.meta {
        let key = frame.slice(k);
        let value = frame.slice(v);
        if meta.contains(&key) {
            meta.set(&key, &value);
        } else {
            meta.add_bytes(key, value);
        }
    }
    let xfer_pipe = XferPipe::from_ids(&head.filters);
    let mut body = frame.slice(head.len..);
    if !body.is_empty() && !xfer_pipe.is_empty() {
        body = cfg.xfer.unpack(&xfer_pipe, body, cfg.max_message_size)?;
    }
    let mut status = Status::OK;
    if head.response == Some(false) {
        status = parse_status_json(&body)?;
        body = Bytes::new();
    }
    Ok(Message {
        seq: head.seq,
        mtype: head.mtype.map_or(mtype, MessageType),
        service_method,
        status,
        meta,
        body_codec: head.codec,
        body,
        xfer_pipe,
    })
}

/// Parses `{"code":N,"msg":"…","cause":"…"}`; an empty cause means none. An empty body reads
/// as code −1.
fn parse_status_json(body: &Bytes) -> Result<Status, DecodeError> {
    let (s, e) = trim_space(body);
    if s == e {
        return Ok(Status::new(
            crate::Code::UNKNOWN_ERROR,
            crate::Code::UNKNOWN_ERROR.text(),
            None::<&str>,
        ));
    }
    if body[s] != b'{' || body[e - 1] != b'}' {
        return Err(malformed("299 body is not a status JSON object"));
    }
    let [code, msg, cause] = top_level_values(body, [b"code", b"msg", b"cause"]);
    let code = match code {
        None => 0,
        Some(
            v @ Value {
                kind: Kind::Number, ..
            },
        ) => {
            let raw = &body[v.start..v.end];
            std::str::from_utf8(raw)
                .ok()
                .and_then(|t| t.parse::<i32>().ok())
                .ok_or_else(|| malformed("299 body: code is not an int32"))?
        }
        Some(_) => return Err(malformed("299 body: code is not a number")),
    };
    let text = |v: Option<Value>| -> Result<String, DecodeError> {
        match v {
            None
            | Some(Value {
                kind: Kind::Null, ..
            })
            | Some(Value {
                kind: Kind::String { .. },
                ..
            }) => String::from_utf8(Value::string(v.as_ref(), body).to_vec())
                .map_err(|_| DecodeError::BadStatus),
            Some(_) => Err(malformed("299 body: msg and cause must be strings")),
        }
    };
    let msg = text(msg)?;
    let cause = text(cause)?;
    Ok(Status::new(
        code,
        msg,
        if cause.is_empty() { None } else { Some(cause) },
    ))
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, `i64` range.
fn atoi(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

/// `bytes.TrimSpace`: the range of `s` without leading and trailing Unicode white space.
fn trim_space(s: &[u8]) -> (usize, usize) {
    fn space_len_at(s: &[u8]) -> usize {
        match s {
            [0x09..=0x0d | b' ', ..] => 1,
            [0xc2, 0x85 | 0xa0, ..] => 2,
            [0xe1, 0x9a, 0x80, ..]
            | [0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf, ..]
            | [0xe2, 0x81, 0x9f, ..]
            | [0xe3, 0x80, 0x80, ..] => 3,
            _ => 0,
        }
    }
    fn space_len_before(s: &[u8]) -> usize {
        match s {
            [.., 0x09..=0x0d | b' '] => 1,
            [.., 0xc2, 0x85 | 0xa0] => 2,
            [.., 0xe1, 0x9a, 0x80]
            | [.., 0xe2, 0x80, 0x80..=0x8a | 0xa8 | 0xa9 | 0xaf]
            | [.., 0xe2, 0x81, 0x9f]
            | [.., 0xe3, 0x80, 0x80] => 3,
            _ => 0,
        }
    }
    let mut start = 0;
    let mut end = s.len();
    while start < end {
        let n = space_len_at(&s[start..end]);
        if n == 0 {
            break;
        }
        start += n;
    }
    while end > start {
        let n = space_len_before(&s[start..end]);
        if n == 0 {
            break;
        }
        end -= n;
    }
    (start, end)
}

// ---------------------------------------------------------------------------------------------
// URLs (Go's `net/url.Parse`, the parts httproto uses)
// ---------------------------------------------------------------------------------------------

/// The parts of a parsed URL, as ranges of the input.
#[derive(Debug, PartialEq, Eq)]
struct Url {
    host: Option<Range<usize>>,
    /// The escaped path (empty for an opaque URL).
    path: Range<usize>,
    /// The raw query, when not empty.
    query: Option<Range<usize>>,
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Whether every `%` of `s` is followed by two hex digits.
fn valid_escapes(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// `url.Parse` as far as httproto needs it: errors where Go errors, the host, the escaped path
/// and the raw query.
fn parse_url(s: &[u8]) -> Result<Url, &'static str> {
    if s.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL");
    }
    let s = match s.iter().position(|&b| b == b'#') {
        Some(i) => {
            if !valid_escapes(&s[i + 1..]) {
                return Err("invalid URL escape");
            }
            &s[..i]
        }
        None => s,
    };
    if s == b"*" {
        return Ok(Url {
            host: None,
            path: 0..1,
            query: None,
        });
    }
    // Scheme: a letter, then letters, digits, `+`, `-`, `.`, up to a colon.
    let mut rest = 0;
    let mut scheme = false;
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme"),
            b':' => {
                scheme = true;
                rest = i + 1;
                break;
            }
            _ => break,
        }
    }
    let mut end = s.len();
    let mut query = None;
    let tail = &s[rest..];
    let qmarks = tail.iter().filter(|&&b| b == b'?').count();
    if tail.ends_with(b"?") && qmarks == 1 {
        end -= 1; // ForceQuery: an empty query
    } else if let Some(q) = tail.iter().position(|&b| b == b'?') {
        end = rest + q;
        if end + 1 < s.len() {
            query = Some(end + 1..s.len());
        }
    }
    let r = &s[rest..end];
    if !r.starts_with(b"/") {
        if scheme {
            return Ok(Url {
                host: None,
                path: rest..rest,
                query,
            });
        }
        let segment = r.split(|&b| b == b'/').next().unwrap_or_default();
        if segment.contains(&b':') {
            return Err("first path segment in URL cannot contain colon");
        }
    }
    let mut host = None;
    let mut path_start = rest;
    if (scheme || !r.starts_with(b"///")) && r.starts_with(b"//") {
        let auth_start = rest + 2;
        let auth_end = s[auth_start..end]
            .iter()
            .position(|&b| b == b'/')
            .map_or(end, |i| auth_start + i);
        let auth = &s[auth_start..auth_end];
        let host_start = match auth.iter().rposition(|&b| b == b'@') {
            Some(at) => {
                let user = &auth[..at];
                let ok = user
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c));
                if !ok {
                    return Err("net/url: invalid userinfo");
                }
                auth_start + at + 1
            }
            None => auth_start,
        };
        check_host(&s[host_start..auth_end])?;
        if host_start < auth_end {
            host = Some(host_start..auth_end);
        }
        path_start = auth_end;
    }
    if !valid_escapes(&s[path_start..end]) {
        return Err("invalid URL escape");
    }
    Ok(Url {
        host,
        path: path_start..end,
        query,
    })
}

/// Go's `parseHost` checks: brackets, port digits, escapes and allowed characters.
fn check_host(h: &[u8]) -> Result<(), &'static str> {
    let valid_port =
        |p: &[u8]| p.is_empty() || (p[0] == b':' && p[1..].iter().all(u8::is_ascii_digit));
    if h.starts_with(b"[") {
        let close = h
            .iter()
            .rposition(|&b| b == b']')
            .ok_or("missing ']' in host")?;
        if !valid_port(&h[close + 1..]) {
            return Err("invalid port after host");
        }
    } else if let Some(c) = h.iter().rposition(|&b| b == b':') {
        if !valid_port(&h[c..]) {
            return Err("invalid port after host");
        }
    }
    let mut i = 0;
    while i < h.len() {
        let c = h[i];
        if c == b'%' {
            if i + 2 >= h.len() || !is_hex(h[i + 1]) || !is_hex(h[i + 2]) {
                return Err("invalid URL escape");
            }
            if hex_val(h[i + 1]) < 8 && &h[i..i + 3] != b"%25" {
                return Err("invalid URL escape");
            }
            i += 3;
            continue;
        }
        if c < 0x80 && !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c)) {
            return Err("invalid character in host name");
        }
        i += 1;
    }
    Ok(())
}

fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Percent-decodes a path (`+` stays `+`); zero-copy without escapes. `None` on a bad escape.
fn unescape_path(p: Bytes) -> Option<Bytes> {
    if !p.contains(&b'%') {
        return Some(p);
    }
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'%' {
            if i + 2 >= p.len() || !is_hex(p[i + 1]) || !is_hex(p[i + 2]) {
                return None;
            }
            out.push(hex_val(p[i + 1]) << 4 | hex_val(p[i + 2]));
            i += 3;
        } else {
            out.push(p[i]);
            i += 1;
        }
    }
    Some(Bytes::from(out))
}

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/// Whether `c` may appear unescaped in a path (Go's `validEncoded` for paths).
fn path_byte_ok(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@!'()*[]%".contains(&c)
}

/// Whether `c` is kept by Go's `escape(path, encodePath)`.
fn path_byte_kept(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&c)
}

/// Whether `c` may appear in an HTTP header name (a token byte).
fn token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Go's `CanonicalMIMEHeaderKey`; `None` when the key is not a valid header name (Go then
/// drops it when writing).
fn canonical_key(key: &[u8]) -> Option<Cow<'_, [u8]>> {
    if key.is_empty() || !key.iter().all(|&c| token_byte(c)) {
        return None;
    }
    let mut upper = true;
    let canonical = key.iter().all(|&c| {
        let ok = if upper {
            !c.is_ascii_lowercase()
        } else {
            !c.is_ascii_uppercase()
        };
        upper = c == b'-';
        ok
    });
    if canonical {
        return Some(Cow::Borrowed(key));
    }
    let mut upper = true;
    let out = key
        .iter()
        .map(|&c| {
            let c = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == b'-';
            c
        })
        .collect();
    Some(Cow::Owned(out))
}

/// A header value as Go's `Header.Write` puts it: CR and LF become spaces, then leading and
/// trailing spaces and tabs are trimmed.
fn header_value(v: &[u8]) -> Cow<'_, [u8]> {
    let v: Cow<'_, [u8]> = if v.iter().any(|&b| b == b'\r' || b == b'\n') {
        Cow::Owned(
            v.iter()
                .map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(v)
    };
    let is_space = |b: &u8| matches!(b, b' ' | b'\t');
    let start = v.iter().position(|b| !is_space(b)).unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|b| !is_space(b))
        .map_or(start, |e| e + 1);
    match v {
        Cow::Borrowed(b) => Cow::Borrowed(&b[start..end]),
        Cow::Owned(o) => Cow::Owned(o[start..end].to_vec()),
    }
}

/// A header line: key and value.
type HeaderLine<'a> = (Cow<'a, [u8]>, Cow<'a, [u8]>);

/// Go's `http.Header` operations, on a list kept in insertion order.
#[derive(Default)]
struct Headers<'a> {
    pairs: Vec<HeaderLine<'a>>,
}

impl<'a> Headers<'a> {
    fn set(&mut self, key: &'static str, value: impl Into<Cow<'a, [u8]>>) {
        self.pairs.retain(|(k, _)| &k[..] != key.as_bytes());
        self.pairs
            .push((Cow::Borrowed(key.as_bytes()), value.into()));
    }

    fn add(&mut self, key: Cow<'a, [u8]>, value: Cow<'a, [u8]>) {
        self.pairs.push((key, value));
    }
}

fn decimal(v: i64) -> Cow<'static, [u8]> {
    let mut out = Vec::with_capacity(11);
    put_decimal(&mut out, v);
    Cow::Owned(out)
}

impl HttpProto {
    fn encode_message(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let request = match msg.mtype {
            MessageType::CALL | MessageType::AUTH_CALL => true,
            MessageType::REPLY | MessageType::AUTH_REPLY => false,
            t => {
                return Err(EncodeError::Unsupported(format!(
                    "unsupport message type: {t}"
                )))
            }
        };
        let error_reply = !request && !msg.status.is_ok();
        let mut body = if error_reply {
            Bytes::from(msg.status.to_json())
        } else {
            msg.body.clone()
        };
        let mut h = Headers::default();
        if !msg.xfer_pipe.is_empty() {
            if msg.xfer_pipe.len() > 255 {
                return Err(EncodeError::FieldTooLong {
                    field: "transfer pipe",
                    len: msg.xfer_pipe.len(),
                    max: 255,
                });
            }
            cfg.xfer.check(&msg.xfer_pipe)?;
            for &id in msg.xfer_pipe.ids().iter().rev() {
                let f = cfg.xfer.filter(id).ok_or(EncodeError::UnknownFilter(id))?;
                body = f
                    .pack(body)
                    .map_err(|source| EncodeError::Filter { id, source })?;
                if !body.starts_with(&[0x1f, 0x8b]) {
                    return Err(EncodeError::Unsupported(format!(
                        "unsupport xfer filter: {}",
                        f.name()
                    )));
                }
            }
            h.set("Content-Encoding", &b"gzip"[..]);
            for &id in msg.xfer_pipe.ids() {
                if let Some(f) = cfg.xfer.filter(id) {
                    let name = header_value(f.name().as_bytes()).into_owned();
                    h.add(Cow::Borrowed(b"X-Content-Encoding"), Cow::Owned(name));
                }
            }
        }
        h.set("X-Seq", decimal(msg.seq.into()));
        h.set("X-Mtype", decimal(msg.mtype.0.into()));
        for (k, v) in msg.meta.iter() {
            match canonical_key(k) {
                Some(k) if !RESERVED.contains(&&k[..]) => h.add(k, header_value(v)),
                _ => {}
            }
        }
        let mut target = Vec::new();
        if request {
            let sm = msg.service_method.as_bytes();
            let url = parse_url(sm)
                .map_err(|e| EncodeError::Unsupported(format!("service method: {e}")))?;
            if let Some(host) = &url.host {
                let host = unescape_path(sm.slice(host.clone())).unwrap_or_default();
                h.set("Host", header_value(&host).into_owned());
            }
            h.set("User-Agent", &b"erpc-httproto/1.1"[..]);
            let path = &sm[url.path.clone()];
            if path.iter().all(|&c| path_byte_ok(c)) {
                target.extend_from_slice(path);
            } else {
                let decoded = unescape_path(sm.slice(url.path.clone())).unwrap_or_default();
                for &c in decoded.iter() {
                    if path_byte_kept(c) {
                        target.push(c);
                    } else {
                        target.extend_from_slice(&[
                            b'%',
                            HEX[(c >> 4) as usize],
                            HEX[(c & 15) as usize],
                        ]);
                    }
                }
            }
            if let Some(q) = &url.query {
                target.push(b'?');
                for &c in &sm[q.clone()] {
                    if c == b' ' {
                        target.extend_from_slice(b"%20");
                    } else {
                        target.push(c);
                    }
                }
            }
            let ct = self
                .content_type(msg.body_codec)
                .unwrap_or("text/plain;charset=utf-8");
            h.set("Content-Type", ct.as_bytes());
            h.set("Content-Length", decimal(body.len() as i64));
            h.set("Accept-Encoding", &b"gzip"[..]);
        } else if error_reply {
            h.set("Content-Type", &b"application/json"[..]);
            h.set("Content-Length", decimal(body.len() as i64));
        } else {
            let ct = self.content_type(msg.body_codec).unwrap_or("text/plain");
            h.set("Content-Type", ct.as_bytes());
            h.set("Content-Length", decimal(body.len() as i64));
        }
        h.pairs.sort_by(|a, b| a.0.cmp(&b.0));

        let first_len = if request {
            5 + target.len() + 11
        } else if error_reply {
            29
        } else {
            17
        };
        let headers_len: usize = h.pairs.iter().map(|(k, v)| k.len() + 2 + v.len() + 2).sum();
        let total = first_len + headers_len + 2 + body.len();
        if total > cfg.max_message_size {
            return Err(EncodeError::FrameTooLarge {
                size: total as u64,
                limit: cfg.max_message_size,
            });
        }
        dst.reserve(total);
        if request {
            dst.put_slice(b"POST ");
            dst.put_slice(&target);
            dst.put_slice(b" HTTP/1.1\r\n");
        } else if error_reply {
            dst.put_slice(b"HTTP/1.1 299 Business Error\r\n");
        } else {
            dst.put_slice(b"HTTP/1.1 200 OK\r\n");
        }
        for (k, v) in &h.pairs {
            dst.put_slice(k);
            dst.put_slice(b": ");
            dst.put_slice(v);
            dst.put_slice(b"\r\n");
        }
        dst.put_slice(b"\r\n");
        dst.put_slice(&body);
        Ok(())
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The headers the reader never turns into meta; meta pairs of these names are not written.
const RESERVED: [&[u8]; 5] = [
    b"Content-Type",
    b"Content-Length",
    b"X-Content-Encoding",
    b"X-Seq",
    b"X-Mtype",
];

#[cfg(test)]
mod tests {
    use super::*;

    const README_CALL: &str =
        "POST /math/add HTTP/1.1\r\nAccept-Encoding: gzip\r\nAuthor: henrylee2cn\r\n\
        Content-Length: 11\r\nContent-Type: application/json;charset=utf-8\r\n\
        User-Agent: erpc-httproto/1.1\r\nX-Mtype: 1\r\nX-Seq: 1\r\n\r\n[1,2,3,4,5]";

    fn readme_call() -> Message {
        let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
        msg.meta.add("author", "henrylee2cn");
        msg.body_codec = CodecId::JSON;
        msg.body = Bytes::from_static(b"[1,2,3,4,5]");
        msg
    }

    fn enc(msg: &Message) -> String {
        let mut b = BytesMut::new();
        HttpProto::new()
            .encode(msg, &WireConfig::default(), &mut b)
            .unwrap();
        String::from_utf8(b.to_vec()).unwrap()
    }

    fn dec(s: &[u8]) -> Result<Option<Message>, DecodeError> {
        HttpProto::new().decode(&mut BytesMut::from(s), &WireConfig::default())
    }

    #[test]
    fn readme_call_and_replies() {
        assert_eq!(enc(&readme_call()), README_CALL);
        let m = dec(README_CALL.as_bytes()).unwrap().unwrap();
        assert_eq!(m.service_method, "/math/add");
        assert_eq!(m.seq, 1);
        assert_eq!(m.mtype, MessageType::CALL);
        assert_eq!(m.body_codec, CodecId::JSON);
        assert_eq!(
            m.meta.to_query_string(),
            "Accept-Encoding=gzip&Author=henrylee2cn&User-Agent=erpc-httproto%2F1.1"
        );
        let mut reply = Message::new(MessageType::REPLY, 1, "");
        reply.body_codec = CodecId::JSON;
        reply.body = Bytes::from_static(b"15");
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json;charset=utf-8\r\n\
            X-Mtype: 2\r\nX-Seq: 1\r\n\r\n15";
        assert_eq!(enc(&reply), text);
        assert_eq!(dec(text.as_bytes()).unwrap().unwrap(), reply);
        reply.status = Status::new(1, "test error", Some("this is test:110"));
        let text = "HTTP/1.1 299 Business Error\r\nContent-Length: 56\r\nContent-Type: application/json\r\n\
            X-Mtype: 2\r\nX-Seq: 1\r\n\r\n{\"code\":1,\"msg\":\"test error\",\"cause\":\"this is test:110\"}";
        assert_eq!(enc(&reply), text);
        let back = dec(text.as_bytes()).unwrap().unwrap();
        assert_eq!(back.status, reply.status);
        assert!(back.body.is_empty());
        assert_eq!(back.body_codec, CodecId::JSON);
    }

    #[test]
    fn body_and_meta_are_zero_copy() {
        let mut wire = BytesMut::from(README_CALL.as_bytes());
        let range = wire.as_ptr() as usize..wire.as_ptr() as usize + wire.len();
        let m = HttpProto::new()
            .decode(&mut wire, &WireConfig::default())
            .unwrap()
            .unwrap();
        assert!(range.contains(&(m.body.as_ptr() as usize)));
        assert!(range.contains(&(m.meta.peek("Author").unwrap().as_ptr() as usize)));
        assert!(range.contains(&(m.service_method.as_bytes().as_ptr() as usize)));
    }

    #[test]
    fn push_is_unsupported() {
        let mut msg = readme_call();
        msg.mtype = MessageType::PUSH;
        let mut dst = BytesMut::new();
        match HttpProto::new().encode(&msg, &WireConfig::default(), &mut dst) {
            Err(EncodeError::Unsupported(t)) => assert_eq!(t, "unsupport message type: 3(PUSH)"),
            other => panic!("{other:?}"),
        }
        assert!(dst.is_empty());
    }

    #[test]
    fn service_methods_and_meta_headers() {
        let mut msg = Message::new(
            MessageType::CALL,
            -5,
            "http://localhost:9090/home/test?peer_id=110",
        );
        msg.meta.add("x-real-ip", " 1.2.3.4\r\n");
        msg.meta.add("bad key", "dropped");
        msg.meta.add("user-agent", "overridden");
        msg.meta.add("dup", "1");
        msg.meta.add("dup", "2");
        msg.meta.add("X-Seq", "9");
        let text = enc(&msg);
        assert!(
            text.starts_with("POST /home/test?peer_id=110 HTTP/1.1\r\n"),
            "{text}"
        );
        assert!(text.contains("\r\nHost: localhost:9090\r\n"));
        assert!(text.contains("\r\nX-Real-Ip: 1.2.3.4\r\n"));
        assert!(text.contains("\r\nDup: 1\r\nDup: 2\r\n"));
        assert!(text.contains("\r\nX-Seq: -5\r\n"));
        assert!(!text.contains("X-Seq: 9"), "meta cannot hijack the seq");
        assert!(text.contains("\r\nUser-Agent: erpc-httproto/1.1\r\n"));
        assert!(text.contains("Content-Type: text/plain;charset=utf-8"));
        assert!(!text.contains("bad key"));
        let m = dec(text.as_bytes()).unwrap().unwrap();
        assert_eq!(m.service_method, "/home/test");
        assert_eq!(m.seq, -5);
        assert_eq!(m.meta.peek("peer_id"), Some(&b"110"[..]));
        assert_eq!(m.meta.peek("Dup"), Some(&b"2"[..]));
        assert_eq!(m.meta.peek("Host"), Some(&b"localhost:9090"[..]));
        assert_eq!(m.body_codec, CodecId::PLAIN);

        // Paths needing escapes are escaped; the same service method comes back.
        let msg = Message::new(MessageType::CALL, 1, "/a b/é?q=x y#frag");
        let text = enc(&msg);
        assert!(
            text.starts_with("POST /a%20b/%C3%A9?q=x%20y HTTP/1.1\r\n"),
            "{text}"
        );
        let m = dec(text.as_bytes()).unwrap().unwrap();
        assert_eq!(m.service_method, "/a b/é");
        assert_eq!(m.meta.peek("q"), Some(&b"x y"[..]));
        // Dotted RPC names and empty ones travel as they are.
        assert!(enc(&Message::new(MessageType::CALL, 1, "Hello.Say"))
            .starts_with("POST Hello.Say HTTP/1.1\r\n"));
        assert!(enc(&Message::new(MessageType::AUTH_CALL, 1, "")).starts_with("POST  HTTP/1.1\r\n"));
        let mut dst = BytesMut::new();
        for bad in ["/a%zz", "1a:b", ":x", "/a\u{1}"] {
            let msg = Message::new(MessageType::CALL, 1, bad);
            assert!(
                matches!(
                    HttpProto::new().encode(&msg, &WireConfig::default(), &mut dst),
                    Err(EncodeError::Unsupported(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn urls() {
        let p = |s: &str| parse_url(s.as_bytes());
        let u = p("/a?b=c").unwrap();
        assert_eq!((u.path, u.query, u.host), (0..2, Some(3..6), None));
        assert_eq!(p("/a?").unwrap().query, None);
        assert_eq!(p("/a??").unwrap().query, Some(3..4));
        assert_eq!(p("//h:1/x").unwrap().host, Some(2..5));
        assert_eq!(p("///x").unwrap().path, 0..4);
        assert_eq!(p("mailto:x?y").unwrap().path, 7..7);
        assert_eq!(p("http://u@h/p").unwrap().host, Some(9..10));
        assert!(p("http://h:x/").is_err());
        assert!(p("http://[::1/").is_err());
        assert!(p("http://h^/").is_err());
        assert!(p("1a:b").is_err());
        assert!(p("/x#%zz").is_err());
        assert!(p("/x#%41").is_ok());
    }

    #[test]
    fn head_limits_and_errors() {
        let http = HttpProto::new()
            .with_max_headers(2)
            .with_max_header_line(64);
        let cfg = WireConfig::default();
        let many = b"POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
        assert!(matches!(
            http.decode(&mut BytesMut::from(&many[..]), &cfg),
            Err(DecodeError::Malformed(_))
        ));
        let long = [b"POST /".as_slice(), &[b'a'; 100]].concat();
        assert!(matches!(
            http.decode(&mut BytesMut::from(&long[..]), &cfg),
            Err(DecodeError::Malformed(_))
        ));
        assert!(http
            .decode(&mut BytesMut::from(&long[..50]), &cfg)
            .unwrap()
            .is_none());
        let small = WireConfig::default().with_max_message_size(80);
        let mut b = BytesMut::from(&b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc"[..]);
        assert!(matches!(
            http.decode(&mut b, &small),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        for bad in [
            &b"POST /\r\n\r\n"[..],
            b"HTTP/1.1 404 Not Found\r\n\r\n",
            b"POST / HTTP/1.1\r\nNoColon\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nX-Seq: 1.5\r\n\r\n",
            b"POST / HTTP/1.1\r\nX-Content-Encoding: nope\r\n\r\n",
            b"POST /%zz HTTP/1.1\r\n\r\n",
            b"HTTP/1.1 299 Business Error\r\nContent-Length: 3\r\n\r\nabc",
            b"HTTP/1.1 299 Business Error\r\nContent-Length: 12\r\n\r\n{\"code\":1.5}",
        ] {
            assert!(
                matches!(dec(bad), Err(DecodeError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(matches!(
            dec(b"POST \xff HTTP/1.1\r\n\r\n"),
            Err(DecodeError::InvalidServiceMethod)
        ));
        // Partial frames wait and consume nothing.
        let mut b = BytesMut::from(&README_CALL.as_bytes()[..README_CALL.len() - 1]);
        assert!(HttpProto::new().decode(&mut b, &cfg).unwrap().is_none());
        assert_eq!(b.len(), README_CALL.len() - 1);
    }

    #[test]
    fn lenient_reading_like_go() {
        // Bare LF line endings, Unicode trimming, sign in numbers, query meta then header set,
        // a method other than POST, leading CRLF (Go reads 5 bytes blindly).
        let m = dec(b"\r\nGET /x?Author=q&k=v HTTP/1.0\nX-Seq: +7\nAuthor:\xc2\xa0 me \t\nX-Mtype: 258\n\nrest")
            .unwrap()
            .unwrap();
        assert_eq!(m.seq, 7);
        assert_eq!(m.mtype.0, 2);
        assert_eq!(m.service_method, "/x");
        assert_eq!(m.meta.to_query_string(), "Author=me&k=v");
        assert!(m.body.is_empty());
        assert_eq!(trim_space(b"\xe3\x80\x80a\xe2\x80\xaf"), (3, 4));
        assert_eq!(trim_space(b" \t "), (3, 3));
    }

    #[test]
    fn gzip_filters() {
        let cfg = WireConfig::default();
        let mut msg = readme_call();
        msg.xfer_pipe = XferPipe::from_ids(b"g");
        let mut wire = BytesMut::new();
        HttpProto::new().encode(&msg, &cfg, &mut wire).unwrap();
        let text = String::from_utf8_lossy(&wire).into_owned();
        assert!(text.contains("\r\nContent-Encoding: gzip\r\n"));
        assert!(text.contains("\r\nX-Content-Encoding: gzip\r\n"));
        let back = HttpProto::new().decode(&mut wire, &cfg).unwrap().unwrap();
        assert_eq!(back.body, msg.body);
        assert_eq!(back.xfer_pipe, msg.xfer_pipe);
        msg.xfer_pipe = XferPipe::from_ids(b"m");
        let mut dst = BytesMut::new();
        match HttpProto::new().encode(&msg, &cfg, &mut dst) {
            Err(EncodeError::Unsupported(t)) => assert_eq!(t, "unsupport xfer filter: md5"),
            other => panic!("{other:?}"),
        }
        assert!(dst.is_empty());
    }
}
