//! pbproto: eRPC's protobuf protocol (version id `p`, name `protobuf`).
//!
//! Framing is jsonproto's (`u32 BE L · u8 n · n filter ids · filtered payload`, `L` excluding
//! the prefix); the payload is the proto3 message
//!
//! ```text
//! message payload {
//!   int32 seq = 1; int32 mtype = 2; string serviceMethod = 3; bytes status = 4;
//!   bytes meta = 5; int32 bodyCodec = 6; bytes body = 7;
//! }
//! ```
//!
//! The payload codec is hand-written (no prost needed): varints are bounded to 10 bytes, every
//! length is checked against the bytes present, and status, meta and body are zero-copy slices
//! of the frame.
//!
//! # Compatibility decisions
//!
//! * Written like Go's gogo/protobuf output: fields in number order, zero and empty fields
//!   omitted (the status is never empty: an OK status is `code=0`), a negative seq as a 10-byte
//!   sign-extended varint.
//! * Read like gogo's generated `Unmarshal`: unknown fields (including groups) are skipped, a
//!   repeated field's last occurrence wins, a known field with the wrong wire type, field number
//!   0, a varint longer than 10 bytes or a length past the end is an error. `mtype` and
//!   `bodyCodec` are truncated to a byte and `seq` to 32 bits, as Go does.
//! * The service method must be UTF-8 (Go does not check; erpc-rs service methods are text).
//! * Size: `L`, checked on read (from the prefix) and on write; `L = 0` is a
//!   [`DecodeError::FrameTooShort`] (Go returns an empty message and then closes).

use bytes::{BufMut, Bytes, BytesMut};

use super::json::{encode_prefixed, split_prefixed};
use super::Protocol;
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::{
    CodecId, DecodeError, EncodeError, Message, MessageType, Meta, ServiceMethod, WireConfig,
};

/// eRPC's protobuf protocol. Stateless; use it by value (`PbProto`).
///
/// ```
/// use bytes::BytesMut;
/// use erpc_proto::proto::{PbProto, Protocol};
/// use erpc_proto::{CodecId, Message, MessageType, WireConfig};
///
/// let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
/// msg.meta.add("author", "henrylee2cn");
/// msg.body_codec = CodecId::JSON;
/// msg.body = bytes::Bytes::from_static(b"[1,2,3,4,5]");
/// let cfg = WireConfig::default();
/// let mut wire = BytesMut::new();
/// PbProto.encode(&msg, &cfg, &mut wire).unwrap();
/// assert_eq!(wire.len(), 63); // Go's README call, byte for byte
/// assert_eq!(PbProto.decode(&mut wire, &cfg).unwrap().unwrap(), msg);
/// ```
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit protocol
pub struct PbProto;

pub(super) const WT_VARINT: u64 = 0;
const WT_FIXED64: u64 = 1;
pub(super) const WT_LEN: u64 = 2;
const WT_START_GROUP: u64 = 3;
pub(super) const WT_END_GROUP: u64 = 4;
const WT_FIXED32: u64 = 5;

impl Protocol for PbProto {
    fn id(&self) -> u8 {
        b'p'
    }

    fn name(&self) -> &'static str {
        "protobuf"
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        let Some((xfer_pipe, payload)) = split_prefixed(src, cfg)? else {
            return Ok(None);
        };
        decode_payload(payload, xfer_pipe).map(Some)
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let status_len = msg.status.query_len();
        let meta_len = msg.meta.query_len();
        let sm = msg.service_method.as_bytes();
        let len_field = |n: usize| {
            if n == 0 {
                0
            } else {
                1 + varint_len(n as u64) + n
            }
        };
        let int_field = |v: i64| if v == 0 { 0 } else { 1 + varint_len(v as u64) };
        let payload_len = int_field(msg.seq.into())
            + int_field(msg.mtype.0.into())
            + len_field(sm.len())
            + len_field(status_len)
            + len_field(meta_len)
            + int_field(msg.body_codec.0.into())
            + len_field(msg.body.len());
        encode_prefixed(msg, cfg, dst, payload_len, |out| {
            if msg.seq != 0 {
                put_varint(out, 1 << 3 | WT_VARINT);
                put_varint(out, i64::from(msg.seq) as u64);
            }
            if msg.mtype.0 != 0 {
                put_varint(out, 2 << 3 | WT_VARINT);
                put_varint(out, msg.mtype.0.into());
            }
            if !sm.is_empty() {
                put_varint(out, 3 << 3 | WT_LEN);
                put_varint(out, sm.len() as u64);
                out.put_slice(sm);
            }
            if status_len != 0 {
                put_varint(out, 4 << 3 | WT_LEN);
                put_varint(out, status_len as u64);
                msg.status.write_query(out);
            }
            if meta_len != 0 {
                put_varint(out, 5 << 3 | WT_LEN);
                put_varint(out, meta_len as u64);
                msg.meta.write_query(out);
            }
            if msg.body_codec.0 != 0 {
                put_varint(out, 6 << 3 | WT_VARINT);
                put_varint(out, msg.body_codec.0.into());
            }
            if !msg.body.is_empty() {
                put_varint(out, 7 << 3 | WT_LEN);
                put_varint(out, msg.body.len() as u64);
                out.put_slice(&msg.body);
            }
            Ok(())
        })
    }
}

pub(super) fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits; 0 takes one byte.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

pub(super) fn put_varint(out: &mut impl BufMut, mut v: u64) {
    while v >= 0x80 {
        out.put_u8(v as u8 | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// A cursor over the payload.
pub(super) struct Reader {
    pub(super) buf: Bytes,
    pub(super) pos: usize,
}

pub(super) fn malformed(what: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(format!("protobuf payload: {}", what.into()))
}

impl Reader {
    /// The next field's number and wire type, refused as Go's protobuf decoder refuses them:
    /// a tag of 0 or below, a stray end-group.
    pub(super) fn field_key(&mut self) -> Result<(u64, u64), DecodeError> {
        let key = self.varint()?;
        let (field, wt) = (key >> 3, key & 7);
        if field as i32 <= 0 {
            return Err(malformed(format!(
                "illegal tag {} (wire type {wt})",
                field as i32
            )));
        }
        if wt == WT_END_GROUP {
            return Err(malformed("wire type end group for non-group"));
        }
        Ok((field, wt))
    }

    pub(super) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for i in 0..10 {
            let Some(&b) = self.buf.get(self.pos) else {
                return Err(malformed("unexpected end of varint"));
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(malformed("varint overflows 64 bits"))
    }

    fn skip(&mut self, n: u64) -> Result<(), DecodeError> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(malformed("field runs past the end"));
        }
        self.pos += n as usize;
        Ok(())
    }

    pub(super) fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let n = self.varint()?;
        let start = self.pos;
        self.skip(n)?;
        Ok(self.buf.slice(start..self.pos))
    }

    /// Skips an unknown field whose key (wire type `wt`) was just read, groups included.
    pub(super) fn skip_field(&mut self, wt: u64) -> Result<(), DecodeError> {
        let mut depth = 0usize;
        let mut wt = wt;
        loop {
            match wt {
                WT_VARINT => {
                    self.varint()?;
                }
                WT_FIXED64 => self.skip(8)?,
                WT_LEN => {
                    let n = self.varint()?;
                    if n > i64::MAX as u64 {
                        return Err(malformed("negative length"));
                    }
                    self.skip(n)?;
                }
                WT_START_GROUP => depth += 1,
                WT_END_GROUP => {
                    if depth == 0 {
                        return Err(malformed("unexpected end group"));
                    }
                    depth -= 1;
                }
                WT_FIXED32 => self.skip(4)?,
                _ => return Err(malformed(format!("illegal wire type {wt}"))),
            }
            if depth == 0 {
                return Ok(());
            }
            if self.pos >= self.buf.len() {
                return Err(malformed("unterminated group"));
            }
            wt = self.varint()? & 7;
        }
    }
}

fn decode_payload(payload: Bytes, xfer_pipe: XferPipe) -> Result<Message, DecodeError> {
    const NAMES: [&str; 8] = [
        "",
        "seq",
        "mtype",
        "serviceMethod",
        "status",
        "meta",
        "bodyCodec",
        "body",
    ];
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let mut seq = 0u64;
    let mut mtype = 0u64;
    let mut codec = 0u64;
    let mut sm = Bytes::new();
    let mut status = Bytes::new();
    let mut meta = Bytes::new();
    let mut body = Bytes::new();
    while r.pos < r.buf.len() {
        let (field, wt) = r.field_key()?;
        match (field, wt) {
            (1, WT_VARINT) => seq = r.varint()?,
            (2, WT_VARINT) => mtype = r.varint()?,
            (6, WT_VARINT) => codec = r.varint()?,
            (3, WT_LEN) => sm = r.bytes()?,
            (4, WT_LEN) => status = r.bytes()?,
            (5, WT_LEN) => meta = r.bytes()?,
            (7, WT_LEN) => body = r.bytes()?,
            (1..=7, _) => {
                return Err(malformed(format!(
                    "wrong wire type {wt} for field {}",
                    NAMES[field as usize]
                )))
            }
            _ => r.skip_field(wt)?,
        }
    }
    let status = if status.is_empty() {
        Status::OK
    } else {
        Status::from_query(status).map_err(|_| DecodeError::BadStatus)?
    };
    Ok(Message {
        seq: seq as i32,
        mtype: MessageType(mtype as u8),
        service_method: ServiceMethod::from_utf8(sm)
            .map_err(|_| DecodeError::InvalidServiceMethod)?,
        status,
        meta: if meta.is_empty() {
            Meta::new()
        } else {
            Meta::from_query(meta)
        },
        body_codec: CodecId(codec as u8),
        body,
        xfer_pipe,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const README_CALL: &str = "0000003b00 0801 1001 1a092f6d6174682f616464 2206636f64653d30 \
        2a12617574686f723d68656e72796c656532636e 306a 3a0b5b312c322c332c342c355d";

    fn unhex(s: &str) -> BytesMut {
        BytesMut::from(&hex::decode(s.replace(' ', "")).unwrap()[..])
    }

    fn dec(payload_hex: &str) -> Result<Option<Message>, DecodeError> {
        let payload = hex::decode(payload_hex.replace(' ', "")).unwrap();
        let mut b = BytesMut::new();
        b.put_u32(payload.len() as u32 + 1);
        b.put_u8(0);
        b.put_slice(&payload);
        PbProto.decode(&mut b, &WireConfig::default())
    }

    #[test]
    fn readme_call_byte_for_byte() {
        let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
        msg.meta.add("author", "henrylee2cn");
        msg.body_codec = CodecId::JSON;
        msg.body = Bytes::from_static(b"[1,2,3,4,5]");
        let mut wire = BytesMut::new();
        PbProto
            .encode(&msg, &WireConfig::default(), &mut wire)
            .unwrap();
        assert_eq!(wire, unhex(README_CALL));
        let back = PbProto
            .decode(&mut wire, &WireConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn varints() {
        for v in [0u64, 1, 127, 128, 16383, 16384, u32::MAX as u64, u64::MAX] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
            let mut r = Reader {
                buf: Bytes::from(b),
                pos: 0,
            };
            assert_eq!(r.varint().unwrap(), v);
        }
        // seq -1: ten bytes.
        let m = dec("08ffffffffffffffffff01").unwrap().unwrap();
        assert_eq!(m.seq, -1);
    }

    #[test]
    fn lenient_and_strict_like_gogo() {
        // Unknown fields of every wire type, groups, repeated fields (last wins), truncation.
        let m =
            dec("4801 510300000000000000 5a0161 6b08016c 5d01020304 0805 088180808004 108202 3003")
                .unwrap()
                .unwrap();
        assert_eq!((m.seq, m.mtype.0, m.body_codec.0), (0x4000_0001, 2, 3));
        assert!(matches!(dec("0001"), Err(DecodeError::Malformed(_)))); // field 0
        assert!(matches!(dec("0a0131"), Err(DecodeError::Malformed(_)))); // seq as bytes
        assert!(matches!(dec("3a05 6869"), Err(DecodeError::Malformed(_)))); // body past end
        assert!(matches!(
            dec("08ffffffffffffffffffff01"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(dec("6b"), Err(DecodeError::Malformed(_)))); // unterminated group
        assert!(matches!(dec("6c"), Err(DecodeError::Malformed(_)))); // stray end group
        assert!(matches!(dec("4f"), Err(DecodeError::Malformed(_)))); // wire type 7
        assert!(matches!(
            dec("1a01ff"),
            Err(DecodeError::InvalidServiceMethod)
        ));
        // Empty payload: every field zero.
        assert_eq!(dec("").unwrap().unwrap(), Message::default());
    }

    #[test]
    fn zero_copy_body() {
        let mut wire = unhex(README_CALL);
        let base = wire.as_ptr() as usize;
        let m = PbProto
            .decode(&mut wire, &WireConfig::default())
            .unwrap()
            .unwrap();
        let at = m.body.as_ptr() as usize - base;
        assert_eq!(at, 63 - 11);
    }
}
