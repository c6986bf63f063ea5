//! jsonproto: eRPC's JSON protocol (version id `j`, name `json`).
//!
//! ```text
//! u32 BE L (bytes after the prefix) · u8 n · n filter ids ·
//! filtered region: {"seq":N,"mtype":N,"serviceMethod":"…","status":"…","meta":"…","bodyCodec":N,"body":"…"}
//! ```
//!
//! `L = 1 + n + len(filtered region)`: unlike rawproto, the prefix does not count itself.
//!
//! # Compatibility decisions
//!
//! * **Writer.** Go writes the body into the JSON string escaping only `"`, so a body holding a
//!   backslash or a control byte is corrupted on the way (a Go reader unescapes it). erpc-rs
//!   escapes the body as a JSON string **for bytes below 0x80 only** (`"` → `\"`, `\` → `\\`,
//!   bytes below 0x20 → `\u00XX`) and copies bytes of 0x80 and above verbatim. Go's reader
//!   (gjson) reconstructs exactly the original bytes from that, so every body travels intact,
//!   and for the bodies Go can carry the output is byte-identical to Go's. The service method is
//!   written as a JSON string with the same escaping (Go uses `strconv.Quote`, which can produce
//!   `\x..` escapes that are not JSON; for printable text the two agree). Status and meta are
//!   percent-encoded and need no escaping.
//! * **Reader.** Lenient like Go's gjson: the seven keys are looked up at the top level of the
//!   first object in the text (first occurrence wins, order irrelevant, unknown keys and nested
//!   values skipped, missing keys read as zero/empty, a numeric string or `true` accepted for a
//!   number, numbers truncated to the field's width). Strings without a backslash are taken
//!   verbatim (zero-copy); strings with one are unescaped by gjson's rules — standard JSON
//!   escapes including surrogate pairs, raw bytes ≥ 0x80 kept — and **stop silently** at a raw
//!   control byte or an unknown escape, as gjson does.
//! * **Size.** The size is `L`. Go checks it only on read; erpc-rs checks it on read (from the
//!   prefix, before anything is buffered) and on write. `L = 0` (Go returns an empty message
//!   and the receiver then closes the connection) is a [`DecodeError::FrameTooShort`].
//! * A frame whose text holds no JSON object decodes, as in Go, to a message with every field
//!   zero (message type 0), which a session rejects.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::Protocol;
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::{
    CodecId, DecodeError, EncodeError, Message, MessageType, Meta, ServiceMethod, WireConfig,
};

/// eRPC's JSON protocol. Stateless; use it by value (`JsonProto`).
///
/// ```
/// use bytes::BytesMut;
/// use erpc_proto::proto::{JsonProto, Protocol};
/// use erpc_proto::{CodecId, Message, MessageType, WireConfig};
///
/// let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
/// msg.meta.add("author", "henrylee2cn");
/// msg.body_codec = CodecId::JSON;
/// msg.body = bytes::Bytes::from_static(b"[1,2,3,4,5]");
/// let cfg = WireConfig::default();
/// let mut wire = BytesMut::new();
/// JsonProto.encode(&msg, &cfg, &mut wire).unwrap();
/// assert_eq!(wire.len(), 135); // Go's README call, byte for byte
/// assert_eq!(JsonProto.decode(&mut wire, &cfg).unwrap().unwrap(), msg);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit protocol
pub struct JsonProto;

impl Protocol for JsonProto {
    fn id(&self) -> u8 {
        b'j'
    }

    fn name(&self) -> &'static str {
        "json"
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        let Some((xfer_pipe, payload)) = split_prefixed(src, cfg)? else {
            return Ok(None);
        };
        decode_text(payload, xfer_pipe).map(Some)
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        // Escaping grows binary bodies; a rough hint, the buffer grows if needed.
        let hint = 110 + msg.service_method.len() + 2 * msg.body.len() + msg.meta.query_len();
        encode_prefixed(msg, cfg, dst, hint, |out| {
            write_text(msg, out);
            Ok(())
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Framing shared with pbproto: `u32 L | n | ids | filtered payload`, L excluding the prefix.
// ---------------------------------------------------------------------------------------------

/// Splits one `u32 L | n | ids | payload` frame off `src` and undoes its transfer pipe.
/// `Ok(None)` while the frame is incomplete (nothing consumed).
pub(super) fn split_prefixed(
    src: &mut BytesMut,
    cfg: &WireConfig,
) -> Result<Option<(XferPipe, Bytes)>, DecodeError> {
    if src.len() < 4 {
        return Ok(None);
    }
    let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
    if u64::from(len) > cfg.max_message_size as u64 {
        return Err(DecodeError::FrameTooLarge {
            size: len.into(),
            limit: cfg.max_message_size,
        });
    }
    if len == 0 {
        return Err(DecodeError::FrameTooShort { size: 0, min: 1 });
    }
    let total = (len as usize)
        .checked_add(4)
        .ok_or(DecodeError::FrameTooLarge {
            size: len.into(),
            limit: cfg.max_message_size,
        })?;
    if src.len() < total {
        return Ok(None);
    }
    let mut frame = src.split_to(total).freeze();
    frame.advance(4);
    let n = frame.get_u8() as usize;
    if frame.len() < n {
        return Err(DecodeError::Truncated {
            field: "transfer filter ids",
        });
    }
    let pipe = XferPipe::from_bytes(frame.split_to(n));
    let payload = if pipe.is_empty() {
        frame
    } else {
        cfg.xfer.unpack(&pipe, frame, cfg.max_message_size)?
    };
    Ok(Some((pipe, payload)))
}

/// Appends `u32 L | n | ids | pipe(payload)` where `write` produces the payload. Without a pipe
/// the payload is written straight into `dst` and the prefix patched afterwards. On error `dst`
/// keeps its length and content.
pub(super) fn encode_prefixed(
    msg: &Message,
    cfg: &WireConfig,
    dst: &mut BytesMut,
    size_hint: usize,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let pipe = &msg.xfer_pipe;
    super::raw::field_fits("transfer pipe", pipe.len(), 255)?;
    let limit = cfg.max_message_size;
    if pipe.is_empty() {
        let start = dst.len();
        dst.reserve(5 + size_hint);
        dst.put_u32(0);
        dst.put_u8(0);
        let res = write(dst).and_then(|()| {
            let len = dst.len() - start - 4;
            check_limit(len, limit).map(|()| len)
        });
        match res {
            Ok(len) => {
                dst[start..start + 4].copy_from_slice(&(len as u32).to_be_bytes());
                Ok(())
            }
            Err(e) => {
                dst.truncate(start);
                Err(e)
            }
        }
    } else {
        cfg.xfer.check(pipe)?;
        let mut plain = BytesMut::with_capacity(size_hint);
        write(&mut plain)?;
        let filtered = cfg.xfer.pack(pipe, plain.freeze())?;
        let len = 1 + pipe.len() + filtered.len();
        check_limit(len, limit)?;
        dst.reserve(4 + len);
        dst.put_u32(len as u32);
        dst.put_u8(pipe.len() as u8);
        dst.put_slice(pipe.ids());
        dst.put_slice(&filtered);
        Ok(())
    }
}

pub(super) fn check_limit(len: usize, limit: usize) -> Result<(), EncodeError> {
    if len > limit || len > u32::MAX as usize {
        return Err(EncodeError::FrameTooLarge {
            size: len as u64,
            limit,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Writer
// ---------------------------------------------------------------------------------------------

fn write_text(msg: &Message, out: &mut BytesMut) {
    out.put_slice(b"{\"seq\":");
    put_decimal(out, i64::from(msg.seq));
    out.put_slice(b",\"mtype\":");
    put_decimal(out, i64::from(msg.mtype.0));
    out.put_slice(b",\"serviceMethod\":\"");
    put_escaped(out, msg.service_method.as_bytes());
    // Status and meta are percent-encoded: only `A-Za-z0-9*-._%=&` occur, nothing to escape.
    out.put_slice(b"\",\"status\":\"");
    msg.status.write_query(out);
    out.put_slice(b"\",\"meta\":\"");
    msg.meta.write_query(out);
    out.put_slice(b"\",\"bodyCodec\":");
    put_decimal(out, i64::from(msg.body_codec.0));
    out.put_slice(b",\"body\":\"");
    put_escaped(out, &msg.body);
    out.put_slice(b"\"}");
}

/// Appends a decimal integer.
pub(super) fn put_decimal(out: &mut impl BufMut, v: i64) {
    let mut buf = [0u8; 20];
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        out.put_u8(b'-');
    }
    out.put_slice(&buf[i..]);
}

/// Appends `src` as the inside of a JSON string: `"` and `\` backslash-escaped, bytes below
/// 0x20 as `\u00XX`, everything else (including bytes ≥ 0x80, valid UTF-8 or not) verbatim.
pub(super) fn put_escaped(out: &mut impl BufMut, src: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut start = 0;
    for (i, &b) in src.iter().enumerate() {
        if b == b'"' || b == b'\\' || b < 0x20 {
            out.put_slice(&src[start..i]);
            if b < 0x20 {
                out.put_slice(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 15) as usize],
                ]);
            } else {
                out.put_slice(&[b'\\', b]);
            }
            start = i + 1;
        }
    }
    out.put_slice(&src[start..]);
}

// ---------------------------------------------------------------------------------------------
// Reader: gjson-compatible lookup of top-level keys.
// ---------------------------------------------------------------------------------------------

fn decode_text(text: Bytes, xfer_pipe: XferPipe) -> Result<Message, DecodeError> {
    const KEYS: [&[u8]; 7] = [
        b"seq",
        b"mtype",
        b"serviceMethod",
        b"status",
        b"meta",
        b"bodyCodec",
        b"body",
    ];
    let [seq, mtype, sm, status, meta, codec, body] = top_level_values(&text, KEYS);
    let (service_method, status, meta) =
        header_strings(&text, sm.as_ref(), status.as_ref(), meta.as_ref())?;
    Ok(Message {
        seq: Value::int(seq.as_ref(), &text) as i32,
        mtype: MessageType(Value::int(mtype.as_ref(), &text) as u8),
        service_method,
        status,
        meta,
        body_codec: CodecId(Value::int(codec.as_ref(), &text) as u8),
        body: Value::string(body.as_ref(), &text),
        xfer_pipe,
    })
}

/// The service method, status and meta of a JSON frame, from the string values found by
/// [`top_level_values`] (absent or empty: none, OK, empty).
pub(super) fn header_strings(
    text: &Bytes,
    sm: Option<&Value>,
    status: Option<&Value>,
    meta: Option<&Value>,
) -> Result<(ServiceMethod, Status, Meta), DecodeError> {
    let service_method = ServiceMethod::from_utf8(Value::string(sm, text))
        .map_err(|_| DecodeError::InvalidServiceMethod)?;
    let status_text = Value::string(status, text);
    let status = if status_text.is_empty() {
        Status::OK
    } else {
        Status::from_query(status_text).map_err(|_| DecodeError::BadStatus)?
    };
    let meta_text = Value::string(meta, text);
    let meta = if meta_text.is_empty() {
        Meta::new()
    } else {
        Meta::from_query(meta_text)
    };
    Ok((service_method, status, meta))
}

/// The kind of a JSON value found by [`top_level_values`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    /// A string; `escaped` when it holds a backslash (then it must be unescaped).
    String {
        /// Whether the raw text holds a backslash.
        escaped: bool,
    },
    /// A number token (raw text up to the next delimiter).
    Number,
    /// `true`.
    True,
    /// `false`.
    False,
    /// `null` (or another literal).
    Null,
    /// An object or array (raw text).
    Json,
}

/// A value located in the JSON text: its kind and the byte range of its raw text (for strings,
/// without the quotes).
#[derive(Clone, Copy, Debug)]
pub(super) struct Value {
    pub(super) kind: Kind,
    pub(super) start: usize,
    pub(super) end: usize,
}

impl Value {
    /// gjson's `Result.String()`: a string's unescaped bytes, a number's or object's raw text,
    /// `true`/`false`, or empty (null, missing).
    pub(super) fn string(v: Option<&Value>, text: &Bytes) -> Bytes {
        let Some(v) = v else { return Bytes::new() };
        let raw = text.slice(v.start..v.end);
        match v.kind {
            Kind::String { escaped: false } | Kind::Json => raw,
            Kind::String { escaped: true } => Bytes::from(unescape(&raw)),
            Kind::Number => {
                let digits = raw.strip_prefix(b"-").unwrap_or(&raw);
                if !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) {
                    raw
                } else {
                    Bytes::from(parse_float(&raw).to_string())
                }
            }
            Kind::True => Bytes::from_static(b"true"),
            Kind::False => Bytes::from_static(b"false"),
            Kind::Null => Bytes::new(),
        }
    }

    /// gjson's `Result.Int()`: numbers (integral text exactly, otherwise through `f64`),
    /// numeric strings, `true` = 1; anything else 0.
    pub(super) fn int(v: Option<&Value>, text: &[u8]) -> i64 {
        let Some(v) = v else { return 0 };
        let raw = &text[v.start..v.end];
        match v.kind {
            Kind::True => 1,
            Kind::String { escaped } => {
                if escaped {
                    parse_int(&unescape(raw)).unwrap_or(0)
                } else {
                    parse_int(raw).unwrap_or(0)
                }
            }
            Kind::Number => {
                let f = parse_float(raw);
                if (-9007199254740991.0..=9007199254740991.0).contains(&f) {
                    f as i64
                } else {
                    parse_int(raw).unwrap_or(f as i64)
                }
            }
            _ => 0,
        }
    }
}

/// gjson's `parseInt`: optional `-`, then ASCII digits only (wrapping on overflow).
fn parse_int(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.wrapping_mul(10).wrapping_add(i64::from(d - b'0'));
    }
    Some(if neg { n.wrapping_neg() } else { n })
}

/// `strconv.ParseFloat`, 0 when the text is not a number.
fn parse_float(s: &[u8]) -> f64 {
    std::str::from_utf8(s)
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|f| f.is_finite())
        .unwrap_or(0.0)
}

/// Finds the first occurrence of each key at the top level of the first JSON object in
/// `text`, as gjson's `Get` does: text before the first `{` is skipped (a leading `[` means no
/// object, so nothing is found), anything between members is skipped, nested values are
/// squashed by bracket depth. Linear in the text, no recursion.
pub(super) fn top_level_values<const N: usize>(
    text: &[u8],
    keys: [&[u8]; N],
) -> [Option<Value>; N] {
    let mut found: [Option<Value>; N] = [None; N];
    let mut i = match text.iter().position(|&b| b == b'{' || b == b'[') {
        Some(p) if text[p] == b'{' => p + 1,
        _ => return found,
    };
    let mut remaining = N;
    while i < text.len() && remaining > 0 {
        // Find the next key (or the end of the object).
        while i < text.len() && text[i] != b'"' && text[i] != b'}' {
            i += 1;
        }
        if i >= text.len() || text[i] == b'}' {
            break;
        }
        let Some((kstart, kend, kesc)) = scan_string(text, i + 1) else {
            break;
        };
        i = kend + 1;
        let key = &text[kstart..kend];
        let slot = if kesc {
            let k = unescape(key);
            keys.iter().position(|&want| want == &k[..])
        } else {
            keys.iter().position(|&want| want == key)
        };
        // Skip to the value (gjson skips anything, including the colon).
        let mut value = None;
        while i < text.len() {
            let c = text[i];
            match c {
                b'"' => {
                    let Some((s, e, esc)) = scan_string(text, i + 1) else {
                        return found;
                    };
                    value = Some(Value {
                        kind: Kind::String { escaped: esc },
                        start: s,
                        end: e,
                    });
                    i = e + 1;
                }
                b'{' | b'[' => {
                    let end = squash(text, i);
                    value = Some(Value {
                        kind: Kind::Json,
                        start: i,
                        end,
                    });
                    i = end;
                }
                b't' | b'f' | b'n' => {
                    let mut e = i + 1;
                    while e < text.len() && text[e].is_ascii_lowercase() {
                        e += 1;
                    }
                    let kind = match c {
                        b't' => Kind::True,
                        b'f' => Kind::False,
                        _ => Kind::Null,
                    };
                    value = Some(Value {
                        kind,
                        start: i,
                        end: e,
                    });
                    i = e;
                }
                b'-' | b'0'..=b'9' => {
                    let mut e = i;
                    while e < text.len() && !matches!(text[e], 0..=b' ' | b',' | b']' | b'}') {
                        e += 1;
                    }
                    value = Some(Value {
                        kind: Kind::Number,
                        start: i,
                        end: e,
                    });
                    i = e;
                }
                _ => {
                    i += 1;
                    continue;
                }
            }
            break;
        }
        if let (Some(slot), Some(v)) = (slot, value) {
            if found[slot].is_none() {
                found[slot] = Some(v);
                remaining -= 1;
            }
        }
    }
    found
}

/// Scans a string whose content starts at `start` (just after the opening quote). Returns the
/// content range and whether it holds a backslash; `None` when it is not terminated.
fn scan_string(text: &[u8], start: usize) -> Option<(usize, usize, bool)> {
    let mut i = start;
    let mut escaped = false;
    while i < text.len() {
        match text[i] {
            b'"' => return Some((start, i, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
        }
    }
    None
}

/// Skips an object or array starting at `start` (`{` or `[`), counting bracket depth and
/// skipping strings. Returns the index after its end (or the text length when unterminated).
fn squash(text: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i < text.len() {
        match text[i] {
            b'"' => match scan_string(text, i + 1) {
                Some((_, e, _)) => i = e,
                None => return text.len(),
            },
            b'{' | b'[' | b'(' => depth += 1,
            b'}' | b']' | b')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    text.len()
}

/// gjson's `unescape`: standard JSON escapes (with surrogate pairs) decoded, other bytes
/// copied, stopping silently at a raw control byte, an unknown escape or a truncated one.
pub(super) fn unescape(src: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c < b' ' {
            break;
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        i += 1;
        let Some(&e) = src.get(i) else { break };
        let simple = match e {
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            i += 1;
            continue;
        }
        if e != b'u' || i + 5 > src.len() {
            break;
        }
        let mut r = hex4(&src[i + 1..i + 5]);
        i += 5;
        if (0xD800..0xE000).contains(&r)
            && src.len() >= i + 6
            && src[i] == b'\\'
            && src[i + 1] == b'u'
        {
            let r2 = hex4(&src[i + 2..i + 6]);
            r = if (0xD800..0xDC00).contains(&r) && (0xDC00..0xE000).contains(&r2) {
                0x10000 + ((r - 0xD800) << 10) + (r2 - 0xDC00)
            } else {
                0xFFFD
            };
            i += 6;
        }
        if r < 0x80 {
            out.push(r as u8);
            continue;
        }
        let ch = char::from_u32(r).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
    }
    out
}

/// Four hex digits as Go's `strconv.ParseUint(s, 16, 64)`; 0 when they are not hex.
fn hex4(s: &[u8]) -> u32 {
    let mut v = 0u32;
    for &b in s {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'f' => b - b'a' + 10,
            b'A'..=b'F' => b - b'A' + 10,
            _ => return 0,
        };
        v = v << 4 | u32::from(d);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    const README_CALL: &str = r#"{"seq":1,"mtype":1,"serviceMethod":"/math/add","status":"code=0","meta":"author=henrylee2cn","bodyCodec":106,"body":"[1,2,3,4,5]"}"#;

    fn frame(text: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u32(text.len() as u32 + 1);
        b.put_u8(0);
        b.put_slice(text);
        b
    }

    fn dec(text: &[u8]) -> Message {
        JsonProto
            .decode(&mut frame(text), &WireConfig::default())
            .unwrap()
            .unwrap()
    }

    fn readme_call() -> Message {
        let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
        msg.meta.add("author", "henrylee2cn");
        msg.body_codec = CodecId::JSON;
        msg.body = Bytes::from_static(b"[1,2,3,4,5]");
        msg
    }

    #[test]
    fn readme_call_byte_for_byte() {
        let mut wire = BytesMut::new();
        JsonProto
            .encode(&readme_call(), &WireConfig::default(), &mut wire)
            .unwrap();
        assert_eq!(&wire[..5], &[0, 0, 0, 0x83, 0]);
        assert_eq!(&wire[5..], README_CALL.as_bytes());
        assert_eq!(dec(README_CALL.as_bytes()), readme_call());
    }

    #[test]
    fn body_escaping_roundtrips_every_byte() {
        let mut msg = readme_call();
        msg.body = Bytes::from((0u8..=255).chain(*b"\\\"\\u0041").collect::<Vec<_>>());
        msg.service_method = ServiceMethod::from("/a\"b\\c\u{1}é");
        let cfg = WireConfig::default();
        let mut wire = BytesMut::new();
        JsonProto.encode(&msg, &cfg, &mut wire).unwrap();
        let text = &wire[5..];
        assert!(text.windows(6).any(|w| w == b"\\u001f"));
        assert_eq!(JsonProto.decode(&mut wire, &cfg).unwrap().unwrap(), msg);
    }

    #[test]
    fn lenient_like_gjson() {
        // Any key order, whitespace, extra and nested keys, numeric strings, duplicate keys.
        let m = dec(
            br#" {"body" : "x", "extra":{"seq":9,"a":[1,{"b":"}"}]}, "seq":"7", "seq":8,
            "mtype":true,"bodyCodec":106.9,"serviceMethod":"/a","meta":"k=v","status":""}"#,
        );
        assert_eq!(m.seq, 7);
        assert_eq!(m.mtype, MessageType::CALL);
        assert_eq!(m.body_codec, CodecId::JSON);
        assert_eq!(m.service_method, "/a");
        assert_eq!(m.meta.peek("k"), Some(&b"v"[..]));
        assert_eq!(&m.body[..], b"x");
        assert!(m.status.is_ok());
        // Truncation to the field width.
        let m = dec(br#"{"seq":4294967297,"mtype":258,"bodyCodec":-150}"#);
        assert_eq!((m.seq, m.mtype.0, m.body_codec.0), (1, 2, 106));
        // Nothing found: all zero.
        let m = dec(b"[1,2]");
        assert_eq!(m, Message::default());
        let m = dec(b"garbage");
        assert_eq!(m, Message::default());
        // Unescaping stops at a raw control byte or an unknown escape; raw bytes pass through.
        let m = dec(b"{\"body\":\"a\\nb\x01c\"}");
        assert_eq!(&m.body[..], b"a\nb");
        let m = dec(br#"{"body":"a\qb"}"#);
        assert_eq!(&m.body[..], b"a");
        let m = dec(b"{\"body\":\"a\x01\xffb\"}");
        assert_eq!(&m.body[..], b"a\x01\xffb");
        let m = dec(br#"{"body":"\ud83c\udf0d\u00e9\ud800x"}"#);
        assert_eq!(std::str::from_utf8(&m.body).unwrap(), "🌍é\u{fffd}x");
        // Unterminated values are ignored.
        let m = dec(br#"{"seq":3,"body":"abc"#);
        assert_eq!(m.seq, 3);
        assert!(m.body.is_empty());
    }

    #[test]
    fn framing_errors() {
        let cfg = WireConfig::default();
        let mut b = BytesMut::from(&[0, 0, 0, 0][..]);
        assert!(matches!(
            JsonProto.decode(&mut b, &cfg),
            Err(DecodeError::FrameTooShort { .. })
        ));
        let mut b = BytesMut::from(&[0, 0, 0, 2, 5, 0][..]);
        assert!(matches!(
            JsonProto.decode(&mut b, &cfg),
            Err(DecodeError::Truncated { .. })
        ));
        let mut b = BytesMut::from(&[0, 0, 0, 3, 1, b'z', b'{'][..]);
        assert!(matches!(
            JsonProto.decode(&mut b, &cfg),
            Err(DecodeError::UnknownFilter(b'z'))
        ));
        let mut b = BytesMut::from(&[0x7f, 0, 0, 0][..]);
        assert!(matches!(
            JsonProto.decode(&mut b, &cfg),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(b.len(), 4);
        let mut b = BytesMut::from(&[0, 0, 0, 9, 0, b'{'][..]);
        assert!(JsonProto.decode(&mut b, &cfg).unwrap().is_none());
        assert_eq!(b.len(), 6);
        let mut b = frame(b"{\"serviceMethod\":\"\xff\"}");
        assert!(matches!(
            JsonProto.decode(&mut b, &cfg),
            Err(DecodeError::InvalidServiceMethod)
        ));
    }

    #[test]
    fn encode_errors_leave_dst() {
        let mut dst = BytesMut::from(&b"keep"[..]);
        let small = WireConfig::default().with_max_message_size(50);
        assert!(matches!(
            JsonProto.encode(&readme_call(), &small, &mut dst),
            Err(EncodeError::FrameTooLarge { .. })
        ));
        let mut msg = readme_call();
        msg.xfer_pipe = XferPipe::from_ids(b"q");
        assert!(matches!(
            JsonProto.encode(&msg, &WireConfig::default(), &mut dst),
            Err(EncodeError::UnknownFilter(b'q'))
        ));
        assert_eq!(&dst[..], b"keep");
    }
}
