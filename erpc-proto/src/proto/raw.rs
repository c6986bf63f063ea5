//! rawproto: eRPC's default binary protocol (version id 6).
//!
//! ```text
//! u32 BE total (whole frame, including these 4 bytes) · u8 n · n filter ids ·
//! filtered region: u8 seq_len · seq (base-36 text) · u8 mtype · u8 sm_len · service method ·
//!                  u16 BE status_len · status query · u16 BE meta_len · meta query ·
//!                  u8 body codec · body (to the end)
//! ```
//!
//! There is no protocol-version byte, whatever Go's source comment says.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::Protocol;
use crate::seq::MAX_SEQ_TEXT;
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::{
    format_seq, parse_seq, CodecId, DecodeError, EncodeError, Message, MessageType, Meta,
    ServiceMethod, WireConfig,
};

/// eRPC's raw protocol, the default. Stateless; use it by value (`RawProto`).
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit protocol
pub struct RawProto;

/// Prefix (4) and filter count (1).
const PREFIX: usize = 5;

impl Protocol for RawProto {
    fn id(&self) -> u8 {
        6
    }

    fn name(&self) -> &'static str {
        "raw"
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let total = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if total as u64 > cfg.max_message_size as u64 {
            return Err(DecodeError::FrameTooLarge {
                size: total.into(),
                limit: cfg.max_message_size,
            });
        }
        let total = total as usize;
        if total < PREFIX {
            return Err(DecodeError::FrameTooShort {
                size: total as u64,
                min: PREFIX,
            });
        }
        if src.len() < total {
            return Ok(None);
        }
        let frame = src.split_to(total).freeze();
        decode_frame(frame, cfg).map(Some)
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        encode(msg, cfg, dst, false).map(|_| ())
    }

    fn frame_len(&self, src: &[u8]) -> Option<usize> {
        let prefix: [u8; 4] = src.get(..4)?.try_into().ok()?;
        Some(u32::from_be_bytes(prefix) as usize)
    }

    fn encode_vectored(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<Option<Bytes>, EncodeError> {
        encode(msg, cfg, dst, msg.body.len() >= crate::session::LARGE_BODY)
    }
}

/// Appends `msg`'s frame to `dst`; with `split_body` and no transfer filter, all but the body,
/// which is returned (the frame's last bytes, to be sent as they are).
fn encode(
    msg: &Message,
    cfg: &WireConfig,
    dst: &mut BytesMut,
    split_body: bool,
) -> Result<Option<Bytes>, EncodeError> {
    let mut seq_buf = [0u8; MAX_SEQ_TEXT];
    let seq = format_seq(msg.seq, &mut seq_buf);
    let sm = msg.service_method.as_bytes();
    field_fits("service method", sm.len(), 255)?;
    let status_len = msg.status.query_len();
    field_fits("status", status_len, u16::MAX as usize)?;
    let meta_len = msg.meta.query_len();
    field_fits("meta", meta_len, u16::MAX as usize)?;
    let pipe = &msg.xfer_pipe;
    field_fits("transfer pipe", pipe.len(), 255)?;
    let header_len = 1 + seq.len() + 1 + 1 + sm.len() + 2 + status_len + 2 + meta_len + 1;
    let plain_len = header_len + msg.body.len();
    let write_header = |out: &mut BytesMut| {
        out.put_u8(seq.len() as u8);
        out.put_slice(seq);
        out.put_u8(msg.mtype.0);
        out.put_u8(sm.len() as u8);
        out.put_slice(sm);
        out.put_u16(status_len as u16);
        msg.status.write_query(out);
        out.put_u16(meta_len as u16);
        msg.meta.write_query(out);
        out.put_u8(msg.body_codec.0);
    };
    let write_plain = |out: &mut BytesMut| {
        write_header(out);
        out.put_slice(&msg.body);
    };
    let limit = cfg.max_message_size;
    if pipe.is_empty() {
        let total = PREFIX + plain_len;
        check_limit(total, limit)?;
        if split_body {
            dst.reserve(total - msg.body.len());
            dst.put_u32(total as u32);
            dst.put_u8(0);
            write_header(dst);
            return Ok(Some(msg.body.clone()));
        }
        dst.reserve(total);
        dst.put_u32(total as u32);
        dst.put_u8(0);
        write_plain(dst);
        return Ok(None);
    }
    cfg.xfer.check(pipe)?;
    let mut plain = BytesMut::with_capacity(plain_len);
    write_plain(&mut plain);
    let filtered = cfg.xfer.pack(pipe, plain.freeze())?;
    let total = PREFIX + pipe.len() + filtered.len();
    check_limit(total, limit)?;
    dst.reserve(total);
    dst.put_u32(total as u32);
    dst.put_u8(pipe.len() as u8);
    dst.put_slice(pipe.ids());
    dst.put_slice(&filtered);
    Ok(None)
}

/// Whether a field of `len` bytes fits the `max` its length prefix can say.
pub(super) fn field_fits(field: &'static str, len: usize, max: usize) -> Result<(), EncodeError> {
    if len > max {
        return Err(EncodeError::FieldTooLong { field, len, max });
    }
    Ok(())
}

fn check_limit(total: usize, limit: usize) -> Result<(), EncodeError> {
    if total > limit || total > u32::MAX as usize {
        return Err(EncodeError::FrameTooLarge {
            size: total as u64,
            limit,
        });
    }
    Ok(())
}

/// Decodes one whole frame (length prefix included).
fn decode_frame(mut frame: Bytes, cfg: &WireConfig) -> Result<Message, DecodeError> {
    frame.advance(4);
    let n = frame.get_u8() as usize;
    if frame.len() < n {
        return Err(DecodeError::Truncated {
            field: "transfer filter ids",
        });
    }
    let pipe = XferPipe::from_bytes(frame.split_to(n));
    let mut p = if pipe.is_empty() {
        frame
    } else {
        cfg.xfer.unpack(&pipe, frame, cfg.max_message_size)?
    };

    let seq_len = take_u8(&mut p, "seq length")? as usize;
    // Seq and status are read from the slice: splitting them off as `Bytes` would cost
    // reference-count traffic for text that is parsed and dropped at once.
    if p.len() < seq_len {
        return Err(DecodeError::Truncated { field: "seq" });
    }
    let seq = parse_seq(&p[..seq_len])
        .ok_or_else(|| DecodeError::BadSeq(String::from_utf8_lossy(&p[..seq_len]).into_owned()))?;
    p.advance(seq_len);
    let mtype = MessageType(take_u8(&mut p, "message type")?);
    let sm_len = take_u8(&mut p, "service method length")? as usize;
    let sm = ServiceMethod::from_utf8(take(&mut p, sm_len, "service method")?)
        .map_err(|_| DecodeError::InvalidServiceMethod)?;
    let status_len = take_u16(&mut p, "status length")? as usize;
    if p.len() < status_len {
        return Err(DecodeError::Truncated { field: "status" });
    }
    let status = if status_len == 0 || &p[..status_len] == b"code=0" {
        p.advance(status_len);
        Status::OK
    } else {
        Status::from_query(p.split_to(status_len)).map_err(|_| DecodeError::BadStatus)?
    };
    let meta_len = take_u16(&mut p, "meta length")? as usize;
    let meta_text = take(&mut p, meta_len, "meta")?;
    let meta = if meta_text.is_empty() {
        Meta::new()
    } else {
        Meta::from_query(meta_text)
    };
    let body_codec = CodecId(take_u8(&mut p, "body codec")?);
    Ok(Message {
        seq,
        mtype,
        service_method: sm,
        status,
        meta,
        body_codec,
        body: p,
        xfer_pipe: pipe,
    })
}

fn take_u8(p: &mut Bytes, field: &'static str) -> Result<u8, DecodeError> {
    if p.is_empty() {
        return Err(DecodeError::Truncated { field });
    }
    Ok(p.get_u8())
}

fn take_u16(p: &mut Bytes, field: &'static str) -> Result<u16, DecodeError> {
    if p.len() < 2 {
        return Err(DecodeError::Truncated { field });
    }
    Ok(p.get_u16())
}

fn take(p: &mut Bytes, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
    if p.len() < n {
        return Err(DecodeError::Truncated { field });
    }
    Ok(p.split_to(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(hex_text: &str) -> Result<Option<Message>, DecodeError> {
        let mut b = BytesMut::from(&hex::decode(hex_text.replace(' ', "")).unwrap()[..]);
        RawProto.decode(&mut b, &WireConfig::default())
    }

    #[test]
    fn malformed_frames_are_distinct_errors() {
        assert!(matches!(
            dec("00000000"),
            Err(DecodeError::FrameTooShort { size: 0, .. })
        ));
        assert!(matches!(
            dec("00000004"),
            Err(DecodeError::FrameTooShort { size: 4, .. })
        ));
        assert!(matches!(
            dec("00000005 00"),
            Err(DecodeError::Truncated {
                field: "seq length"
            })
        ));
        assert!(matches!(
            dec("00000006 05 00"),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            dec("00000007 00 05 21"),
            Err(DecodeError::Truncated { field: "seq" })
        ));
        assert!(matches!(
            dec("0000000e 00 01 21 01 00 0000 0000 6a"),
            Err(DecodeError::BadSeq(_))
        ));
        assert!(matches!(
            dec("0000000f 00 01 31 01 01 ff 0000 0000 6a"),
            Err(DecodeError::InvalidServiceMethod)
        ));
        assert!(matches!(
            dec("0000000d 00 01 31 01 00 0000 0000"),
            Err(DecodeError::Truncated {
                field: "body codec"
            })
        ));
        assert!(matches!(
            dec("0000000e 01 7a 0131 01 00 0000 0000"),
            Err(DecodeError::UnknownFilter(b'z'))
        ));
        let mut b = BytesMut::from(&[0x40, 0, 0, 1][..]);
        assert!(matches!(
            RawProto.decode(&mut b, &WireConfig::default()),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(b.len(), 4, "nothing consumed");
    }

    #[test]
    fn partial_frames_wait() {
        assert!(dec("").unwrap().is_none());
        assert!(dec("000000").unwrap().is_none());
        assert!(dec("0000003a 00 01").unwrap().is_none());
    }

    #[test]
    fn encode_rejects_oversized_fields_and_leaves_dst() {
        let cfg = WireConfig::default();
        let mut dst = BytesMut::from(&b"keep"[..]);
        let msg = Message::new(MessageType::CALL, 1, "x".repeat(256));
        assert!(matches!(
            RawProto.encode(&msg, &cfg, &mut dst),
            Err(EncodeError::FieldTooLong {
                field: "service method",
                ..
            })
        ));
        let mut msg = Message::new(MessageType::CALL, 1, "/a");
        msg.meta.add("k", "v".repeat(70000));
        assert!(matches!(
            RawProto.encode(&msg, &cfg, &mut dst),
            Err(EncodeError::FieldTooLong { field: "meta", .. })
        ));
        let small = WireConfig::default().with_max_message_size(20);
        let mut msg = Message::new(MessageType::CALL, 1, "/a");
        msg.body = Bytes::from(vec![0; 100]);
        assert!(matches!(
            RawProto.encode(&msg, &small, &mut dst),
            Err(EncodeError::FrameTooLarge { .. })
        ));
        msg.xfer_pipe = XferPipe::from_ids(b"q");
        assert!(matches!(
            RawProto.encode(&msg, &cfg, &mut dst),
            Err(EncodeError::UnknownFilter(b'q'))
        ));
        assert_eq!(&dst[..], b"keep");
    }
}
