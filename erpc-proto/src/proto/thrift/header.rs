//! Apache Thrift's THeader frame (as written by the Go library, v0.13), from the format
//! description: no Thrift crate involved.
//!
//! ```text
//! u32 BE frame length (bytes after it, ≤ 0x3FFFFFFF) · u16 magic 0x0FFF · u16 flags ·
//! i32 BE sequence id · u16 BE header length ÷ 4 · header (padded with zeros to 4 bytes) · payload
//!
//! header: varint protocol id (0 binary, 2 compact) · varint transform count · transform ids ·
//!         info blocks: varint type 1 (key/value) · varint count · count × (string key, string value)
//! ```
//!
//! Header integers are compact-protocol varints (LEB128 of the `int32`, no zig-zag); strings
//! are a varint length and the bytes.

use bytes::{BufMut, Bytes};

use crate::DecodeError;

/// Largest frame length Thrift accepts (`THeaderMaxFrameSize`).
pub(super) const MAX_FRAME_LEN: u32 = 0x3FFF_FFFF;
/// Frame bytes before the header: magic, flags, sequence id, header length.
pub(super) const META_LEN: usize = 10;
/// Largest header block the 16-bit word count can describe.
pub(super) const MAX_HEADER_LEN: usize = 4 * u16::MAX as usize;

/// Protocol id of TBinaryProtocol payloads.
pub(super) const PROTO_BINARY: u32 = 0;
/// Protocol id of TCompactProtocol payloads.
pub(super) const PROTO_COMPACT: u32 = 2;

const INFO_KEY_VALUE: u32 = 1;
const TRANSFORM_NONE: u32 = 0;
const TRANSFORM_ZLIB: u32 = 1;

/// The eRPC headers of a frame (other keys are ignored; a repeated key's last value wins).
#[derive(Default, Debug)]
pub(super) struct ErpcHeaders {
    pub(super) status: Option<Bytes>,
    pub(super) meta: Option<Bytes>,
    pub(super) body_codec: Option<Bytes>,
    pub(super) xfer_pipe: Option<Bytes>,
}

/// What the header block of a frame says.
#[derive(Debug)]
pub(super) struct Header {
    /// [`PROTO_BINARY`] or [`PROTO_COMPACT`].
    pub(super) protocol: u32,
    /// Number of zlib transforms to undo on the payload.
    pub(super) zlib: usize,
    pub(super) headers: ErpcHeaders,
}

pub(super) fn malformed(what: impl std::fmt::Display) -> DecodeError {
    DecodeError::Malformed(format!("thrift: {what}"))
}

/// A cursor over compact-protocol varints and strings.
struct Cursor {
    buf: Bytes,
    pos: usize,
}

impl Cursor {
    /// Compact `readVarint32`: an unsigned LEB128 of any length (bits past 64 are dropped, as
    /// in Go), truncated to 32 bits. `None` at the end of the input.
    fn varint32(&mut self) -> Option<u32> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            if b < 0x80 {
                return Some(v as u32);
            }
            shift = shift.saturating_add(7);
        }
    }

    fn need_varint(&mut self, field: &str) -> Result<u32, DecodeError> {
        self.varint32()
            .ok_or_else(|| malformed(format_args!("THeader {field} runs past the header")))
    }

    fn string(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.need_varint("string length")? as i32;
        if len < 0 || len as usize > self.buf.len() - self.pos {
            return Err(malformed("THeader string length out of range"));
        }
        let s = self.buf.slice(self.pos..self.pos + len as usize);
        self.pos += len as usize;
        Ok(s)
    }
}

/// Parses a header block (exactly the `4 × header length` bytes).
pub(super) fn parse(block: Bytes) -> Result<Header, DecodeError> {
    let mut c = Cursor { buf: block, pos: 0 };
    let protocol = c.need_varint("protocol id")?;
    if protocol != PROTO_BINARY && protocol != PROTO_COMPACT {
        return Err(malformed(format_args!(
            "THeader protocol id {} not supported",
            protocol as i32
        )));
    }
    let transforms = c.need_varint("transform count")? as i32;
    let mut zlib = 0;
    for _ in 0..transforms.max(0) {
        match c.need_varint("transform id")? {
            TRANSFORM_NONE => {}
            TRANSFORM_ZLIB => zlib += 1,
            id => {
                return Err(malformed(format_args!(
                    "THeader transform {} not supported",
                    id as i32
                )))
            }
        }
    }
    let mut headers = ErpcHeaders::default();
    // Info blocks until the end, padding (type 0) or an unknown type, as Go.
    while let Some(INFO_KEY_VALUE) = c.varint32() {
        let count = c.need_varint("header count")? as i32;
        for _ in 0..count.max(0) {
            let key = c.string()?;
            let value = c.string()?;
            let slot = match &key[..] {
                b"Tp-Status" => &mut headers.status,
                b"Tp-Meta" => &mut headers.meta,
                b"Tp-BodyCodec" => &mut headers.body_codec,
                b"Tp-XferPipe" => &mut headers.xfer_pipe,
                _ => continue,
            };
            *slot = Some(value);
        }
    }
    Ok(Header {
        protocol,
        zlib,
        headers,
    })
}

/// The length of a compact varint.
pub(super) fn varint_len(v: u32) -> usize {
    (32 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends a compact varint.
pub(super) fn put_varint(out: &mut impl BufMut, mut v: u32) {
    while v >= 0x80 {
        out.put_u8(v as u8 | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// A key/value header to write: the value is produced by a closure of known length.
pub(super) struct KeyValue<'a> {
    pub(super) key: &'static [u8],
    pub(super) len: usize,
    pub(super) write: &'a dyn Fn(&mut bytes::BytesMut),
}

/// Length of the header block for these key/values, padding included.
pub(super) fn block_len(kvs: &[KeyValue<'_>]) -> usize {
    let mut n = 2 + 1 + varint_len(kvs.len() as u32);
    for kv in kvs {
        n += varint_len(kv.key.len() as u32) + kv.key.len() + varint_len(kv.len as u32) + kv.len;
    }
    n.next_multiple_of(4)
}

/// Writes the header block: binary protocol, no transform, one key/value info block, zero
/// padding to a multiple of 4 bytes. `block_len` must come from [`block_len`].
pub(super) fn write_block(out: &mut bytes::BytesMut, kvs: &[KeyValue<'_>], block_len: usize) {
    let start = out.len();
    put_varint(out, PROTO_BINARY);
    put_varint(out, 0);
    put_varint(out, INFO_KEY_VALUE);
    put_varint(out, kvs.len() as u32);
    for kv in kvs {
        put_varint(out, kv.key.len() as u32);
        out.put_slice(kv.key);
        put_varint(out, kv.len as u32);
        let before = out.len();
        (kv.write)(out);
        debug_assert_eq!(out.len() - before, kv.len);
    }
    let written = out.len() - start;
    out.put_bytes(0, block_len - written);
}

/// Undoes `n` zlib transforms on the payload, never producing more than `max_len` bytes.
#[cfg(feature = "gzip")]
pub(super) fn inflate(mut payload: Bytes, n: usize, max_len: usize) -> Result<Bytes, DecodeError> {
    use std::io::Read;
    for _ in 0..n {
        let mut out = Vec::with_capacity(payload.len().saturating_mul(2).min(max_len).min(1 << 20));
        flate2::read::ZlibDecoder::new(&payload[..])
            .take((max_len as u64).saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| malformed(format_args!("zlib transform: {e}")))?;
        if out.len() > max_len {
            return Err(malformed("zlib transform: payload exceeds the size limit"));
        }
        payload = Bytes::from(out);
    }
    Ok(payload)
}

/// Without flate2 (feature `gzip` off) zlib transforms cannot be undone.
#[cfg(not(feature = "gzip"))]
pub(super) fn inflate(payload: Bytes, n: usize, _max_len: usize) -> Result<Bytes, DecodeError> {
    if n == 0 {
        Ok(payload)
    } else {
        Err(malformed("THeader zlib transform needs the `gzip` feature"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints() {
        for v in [0u32, 1, 127, 128, 300, u32::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v));
            let mut c = Cursor {
                buf: Bytes::from(b),
                pos: 0,
            };
            assert_eq!(c.varint32(), Some(v));
        }
        // Over-long varints are accepted as in Go (high bits dropped).
        let mut c = Cursor {
            buf: Bytes::from_static(&[
                0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00,
            ]),
            pos: 0,
        };
        assert_eq!(c.varint32(), Some(1));
        assert_eq!(c.varint32(), None);
    }

    #[test]
    fn parse_rules() {
        // compact protocol, a no-op transform, duplicate keys (last wins), unknown key,
        // then padding.
        let block = b"\x02\x01\x00\x01\x03\x07Tp-Meta\x01a\x01x\x01y\x07Tp-Meta\x01b\x00\x00";
        let h = parse(Bytes::from_static(block)).unwrap();
        assert_eq!(h.protocol, PROTO_COMPACT);
        assert_eq!(h.zlib, 0);
        assert_eq!(h.headers.meta.as_deref(), Some(&b"b"[..]));
        assert!(h.headers.status.is_none());
        assert!(parse(Bytes::from_static(b"\x01\x00")).is_err());
        assert!(parse(Bytes::from_static(b"\x00\x01\x05")).is_err());
        assert!(parse(Bytes::from_static(b"\x00\x00\x01\x01\x09Tp")).is_err());
        assert!(parse(Bytes::from_static(b"\x00\x00\x01\x01\x7fTp")).is_err());
        // An unknown info type ends the header.
        assert!(parse(Bytes::from_static(b"\x00\x00\x02\xff")).is_ok());
    }
}
