//! The websocket protobuf sub-protocol (Go's `pbSubProto`): one protobuf `payload` per
//! message, with field numbers of its own (see the [parent module](super)); pbproto's varint
//! reader and writer.

use bytes::{BufMut, Bytes, BytesMut};

use super::super::pb::{malformed, put_varint, Reader, WT_LEN, WT_VARINT};
use super::{filtered_body, unfiltered_body};
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::{
    CodecId, DecodeError, EncodeError, Message, MessageType, Meta, ServiceMethod, WireConfig,
};

fn put_len_field(out: &mut BytesMut, field: u64, value: &[u8]) {
    if !value.is_empty() {
        put_varint(out, field << 3 | WT_LEN);
        put_varint(out, value.len() as u64);
        out.put_slice(value);
    }
}

fn put_int_field(out: &mut BytesMut, field: u64, value: i64) {
    if value != 0 {
        put_varint(out, field << 3 | WT_VARINT);
        put_varint(out, value as u64);
    }
}

/// Appends the protobuf payload of `msg` (filters applied to the body), fields in number
/// order, zero fields omitted, as Go's generated code writes them.
pub(super) fn encode(
    msg: &Message,
    cfg: &WireConfig,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let body = filtered_body(msg, cfg)?;
    let mut meta = BytesMut::with_capacity(msg.meta.query_len());
    msg.meta.write_query(&mut meta);
    out.reserve(40 + msg.service_method.len() + meta.len() + body.len());
    put_int_field(out, 1, msg.seq.into());
    put_int_field(out, 2, msg.mtype.0.into());
    put_len_field(out, 3, msg.service_method.as_bytes());
    put_len_field(out, 4, &meta);
    put_int_field(out, 5, msg.body_codec.0.into());
    put_len_field(out, 6, &body);
    put_len_field(out, 7, msg.xfer_pipe.ids());
    if !msg.status.is_ok() {
        let mut status = BytesMut::with_capacity(msg.status.query_len());
        msg.status.write_query(&mut status);
        put_len_field(out, 8, &status);
    }
    Ok(())
}

/// Reads one payload: unknown fields skipped, the last occurrence of a field wins, a known
/// field with the wrong wire type is an error.
pub(super) fn decode(payload: Bytes, cfg: &WireConfig) -> Result<Message, DecodeError> {
    const NAMES: [&str; 9] = [
        "",
        "seq",
        "mtype",
        "serviceMethod",
        "meta",
        "bodyCodec",
        "body",
        "xferPipe",
        "status",
    ];
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let (mut seq, mut mtype, mut codec) = (0u64, 0u64, 0u64);
    let (mut sm, mut meta, mut body, mut pipe, mut status) = Default::default();
    while r.pos < r.buf.len() {
        let (field, wt) = r.field_key()?;
        match (field, wt) {
            (1, WT_VARINT) => seq = r.varint()?,
            (2, WT_VARINT) => mtype = r.varint()?,
            (5, WT_VARINT) => codec = r.varint()?,
            (3, WT_LEN) => sm = r.bytes()?,
            (4, WT_LEN) => meta = r.bytes()?,
            (6, WT_LEN) => body = r.bytes()?,
            (7, WT_LEN) => pipe = r.bytes()?,
            (8, WT_LEN) => status = r.bytes()?,
            (1..=8, _) => {
                return Err(malformed(format!(
                    "wrong wire type {wt} for field {}",
                    NAMES[field as usize]
                )))
            }
            _ => r.skip_field(wt)?,
        }
    }
    let pipe: Bytes = pipe;
    if pipe.len() > 255 {
        return Err(malformed(format!(
            "{} transfer filter ids, more than 255",
            pipe.len()
        )));
    }
    let xfer_pipe = XferPipe::from_bytes(pipe);
    let status: Bytes = status;
    let status = if status.is_empty() {
        Status::OK
    } else {
        Status::from_query(status).map_err(|_| DecodeError::BadStatus)?
    };
    let meta: Bytes = meta;
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
        body: unfiltered_body(&xfer_pipe, body, cfg)?,
        xfer_pipe,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{WsProto, WsSubProto};
    use super::*;
    use crate::proto::Protocol;
    use crate::Code;

    fn ws() -> WsProto {
        WsProto::new(WsSubProto::Pb)
    }

    fn rec(payload: &[u8]) -> BytesMut {
        let mut b = BytesMut::new();
        b.put_u32(payload.len() as u32);
        b.put_slice(payload);
        b
    }

    #[test]
    fn field_numbers_are_go_payloads() {
        let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
        msg.meta.add("a", "b");
        msg.body_codec = CodecId::JSON;
        msg.body = Bytes::from_static(b"[1]");
        msg.xfer_pipe = XferPipe::from_ids(b"g");
        let cfg = WireConfig::default();
        let mut out = BytesMut::new();
        ws().encode(&msg, &cfg, &mut out).unwrap();
        let p = &out[4..];
        // seq=1, mtype=1, serviceMethod, meta "a=b" as field 4, bodyCodec 106 as field 5.
        assert_eq!(&p[..4], &[0x08, 1, 0x10, 1]);
        assert_eq!(&p[4..6], &[0x1a, 9]);
        assert_eq!(&p[15..20], &[0x22, 3, b'a', b'=', b'b']);
        assert_eq!(&p[20..22], &[0x28, 106]);
        assert_eq!(p[22], 0x32); // body (gzipped) as field 6
        assert!(p.ends_with(&[0x3a, 1, b'g'])); // xferPipe as field 7, no status
        assert_eq!(ws().decode(&mut out, &cfg).unwrap().unwrap(), msg);
    }

    #[test]
    fn status_rides_in_field_8() {
        let cfg = WireConfig::default();
        let mut msg = Message::new(MessageType::REPLY, 2, "");
        msg.status = Status::new(Code(404), "Not Found", None::<&str>);
        let mut out = BytesMut::new();
        ws().encode(&msg, &cfg, &mut out).unwrap();
        let mut q = BytesMut::new();
        msg.status.write_query(&mut q);
        assert_eq!(&out[4..8], &[0x08, 2, 0x10, 2]);
        assert_eq!(&out[8..10], &[0x42, q.len() as u8]);
        assert_eq!(ws().decode(&mut out, &cfg).unwrap().unwrap(), msg);
    }

    #[test]
    fn bad_input_errors() {
        let cfg = WireConfig::default();
        for bad in [
            &[0x08][..],       // truncated varint
            &[0x32, 5, 1][..], // body runs past the end
            &[0x0a, 0][..],    // seq with a length wire type
            &[0x00, 0][..],    // field 0
            &[
                0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1,
            ][..],
        ] {
            assert!(ws().decode(&mut rec(bad), &cfg).is_err(), "{bad:?}");
        }
        assert!(matches!(
            ws().decode(&mut rec(&[0x3a, 1, 200]), &cfg),
            Err(DecodeError::UnknownFilter(200))
        ));
        // Unknown fields are skipped.
        let m = ws()
            .decode(&mut rec(&[0x48, 7, 0x08, 3, 0x10, 3]), &cfg)
            .unwrap()
            .unwrap();
        assert_eq!((m.seq, m.mtype), (3, MessageType::PUSH));
    }
}
