//! Writing: the request or response line and headers as Go's `http.Header.Write` orders and
//! escapes them.

use std::borrow::Cow;

use bytes::{BufMut, Bytes, BytesMut};

use super::super::json::put_decimal;
use super::url::{parse_url, unescape_path};
use super::HttpProto;
use crate::{EncodeError, Message, MessageType, WireConfig};

/// Whether `c` may appear unescaped in a path (Go's `validEncoded` for paths).
pub(super) fn path_byte_ok(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@!'()*[]%".contains(&c)
}

/// Whether `c` is kept by Go's `escape(path, encodePath)`.
pub(super) fn path_byte_kept(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"-_.~$&+,/:;=@".contains(&c)
}

/// Whether `c` may appear in an HTTP header name (a token byte).
pub(super) fn token_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// Go's `CanonicalMIMEHeaderKey`; `None` when the key is not a valid header name (Go then
/// drops it when writing).
pub(super) fn canonical_key(key: &[u8]) -> Option<Cow<'_, [u8]>> {
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
pub(super) fn header_value(v: &[u8]) -> Cow<'_, [u8]> {
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
pub(super) struct Headers<'a> {
    pub(super) pairs: Vec<HeaderLine<'a>>,
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

pub(super) fn decimal(v: i64) -> Cow<'static, [u8]> {
    let mut out = Vec::with_capacity(11);
    put_decimal(&mut out, v);
    Cow::Owned(out)
}

impl HttpProto {
    pub(super) fn encode_message(
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

pub(super) const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// The headers the reader never turns into meta; meta pairs of these names are not written.
pub(super) const RESERVED: [&[u8]; 5] = [
    b"Content-Type",
    b"Content-Length",
    b"X-Content-Encoding",
    b"X-Seq",
    b"X-Mtype",
];
