//! Reading: the head split into lines, parsed as Go's reader does, and the message built
//! from it zero-copy.

use std::ops::Range;

use bytes::{Bytes, BytesMut};

use super::super::json::{top_level_values, Kind, Value};
use super::url::{parse_url, unescape_path};
use super::{malformed, HttpProto};
use crate::status::Status;
use crate::xfer::{XferId, XferPipe};
use crate::{CodecId, DecodeError, Message, MessageType, Meta, ServiceMethod, WireConfig};

/// What the head of a message says, as ranges into the buffer.
pub(super) struct Head {
    /// `None` for a request, `Some(ok)` for a `200 OK` / `299 Business Error` response.
    pub(super) response: Option<bool>,
    pub(super) target: Range<usize>,
    pub(super) codec: CodecId,
    pub(super) content_length: u64,
    pub(super) seq: i32,
    pub(super) mtype: Option<u8>,
    pub(super) filters: Vec<XferId>,
    /// Header pairs that become meta, in order (key range, trimmed value range).
    pub(super) meta: Vec<(Range<usize>, Range<usize>)>,
    /// Length of the head, blank line included.
    pub(super) len: usize,
}

impl HttpProto {
    /// Finds the lines of the head (without line endings, blank line excluded). `None` while
    /// the head is incomplete.
    pub(super) fn split_head(
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

    pub(super) fn parse_head(
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

pub(super) fn head_too_large(size: usize, max_head: usize, cfg: &WireConfig) -> DecodeError {
    if max_head == cfg.max_message_size {
        DecodeError::FrameTooLarge {
            size: size as u64,
            limit: cfg.max_message_size,
        }
    } else {
        malformed(format_args!("head longer than {max_head} bytes"))
    }
}

pub(super) fn build_message(
    frame: Bytes,
    head: Head,
    cfg: &WireConfig,
) -> Result<Message, DecodeError> {
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
pub(super) fn parse_status_json(body: &Bytes) -> Result<Status, DecodeError> {
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
pub(super) fn atoi(s: &[u8]) -> Option<i64> {
    std::str::from_utf8(s).ok()?.parse::<i64>().ok()
}

/// `bytes.TrimSpace`: the range of `s` without leading and trailing Unicode white space.
pub(super) fn trim_space(s: &[u8]) -> (usize, usize) {
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
