//! Go eRPC's websocket mixer (`mixer/websocket`): **one eRPC message per websocket message**.
//!
//! A websocket connection carries messages, not a byte stream. The network adapters (tokio:
//! feature `ws` of erpc-runtime-tokio) hand the peer a stream of *records*, one per websocket
//! message, each `u32 BE length · payload` (internal to the process, never on the wire); the
//! adapter sends every record written to it as one binary websocket message. [`WsProto`] is
//! the [`Protocol`] over those records: its sub-protocol ([`WsSubProto`]) turns one payload
//! into one [`Message`] and back.
//!
//! | sub-protocol | payload | Go |
//! |---|---|---|
//! | [`WsSubProto::Json`] (Go's default) | one JSON object ([`json`](self#json)) | `jsonSubProto` |
//! | [`WsSubProto::Pb`] | protobuf `payload` with its own field numbers | `pbSubProto` |
//! | [`WsSubProto::Proto`] | one frame of any stream protocol (raw, json, …) | `NewWsProtoFunc(p)` |
//!
//! # json
//!
//! `{"seq":N,"mtype":N,"serviceMethod":"…","meta":"<query>","bodyCodec":N,"body":"…","xferPipe":[ids]}`
//! with no length prefix. The transfer filters run on the body only (their ids are the
//! `xferPipe` array); the body is escaped as jsonproto's writer does (a superset of Go's, which
//! escapes only `"`; identical output for the bodies Go can carry) and read back gjson's way.
//!
//! # pb
//!
//! ```text
//! message payload { int32 seq = 1; int32 mtype = 2; string serviceMethod = 3; bytes meta = 4;
//!                   int32 bodyCodec = 5; bytes body = 6; bytes xferPipe = 7;
//!                   bytes status = 8; /* erpc-rs only, see below */ }
//! ```
//!
//! # The status (an erpc-rs extension Go ignores)
//!
//! Go's two sub-protocols carry no status: a failed call reaches a Go caller as an OK reply
//! with an empty body. erpc-rs writes a message's status when it is **not OK**, as one more
//! JSON key `"status":"<status query>"` (last, after `xferPipe`) or pb field 8 (`bytes`), and
//! reads it back; a Go reader skips both (gjson looks keys up by name, protobuf skips unknown
//! fields). An OK message is byte for byte Go's. So an erpc-rs caller sees the real status
//! from an erpc-rs peer, and the empty OK reply from a Go peer, as Go's callers do.
//!
//! # Sizes
//!
//! The record payload is bounded by [`WireConfig::max_message_size`] and by [`MAX_WS_MESSAGE`]
//! (Go's `DefaultMaxPayloadBytes`, 32 MiB), whichever is smaller, on both read and write; the
//! adapters bound websocket messages by [`MAX_WS_MESSAGE`] too.

mod json;
mod pb;

use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use super::Protocol;
use crate::{DecodeError, EncodeError, Message, WireConfig};

/// Go's `websocket.DefaultMaxPayloadBytes`: the largest websocket message (32 MiB) either side
/// accepts.
pub const MAX_WS_MESSAGE: usize = 32 << 20;

/// The bytes of a record's length prefix.
pub const RECORD_HEADER: usize = 4;

/// A sub-protocol of [`WsProto`]: how one websocket message's payload holds one eRPC message.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum WsSubProto {
    /// Go's `jsonSubProto` (the default on both sides in Go).
    Json,
    /// Go's `pbSubProto`.
    Pb,
    /// One frame of a stream protocol (with its own length prefix) in each message, as Go's
    /// `websocket.NewWsProtoFunc(protoFunc)`.
    Proto(Arc<dyn Protocol>),
}

impl WsSubProto {
    /// `json`, `pb` (or `protobuf`) and otherwise the stream protocol of that name
    /// ([`by_name`](super::by_name)); `None` for an unknown name.
    pub fn by_name(name: &str) -> Option<Self> {
        Some(match name {
            "json" => WsSubProto::Json,
            "pb" | "protobuf" => WsSubProto::Pb,
            other => WsSubProto::Proto(super::by_name(other)?),
        })
    }
}

/// The websocket protocol: one eRPC message per record (see the [module docs](self)).
///
/// ```
/// use bytes::BytesMut;
/// use erpc_proto::proto::{Protocol, WsProto, WsSubProto};
/// use erpc_proto::{Message, MessageType, WireConfig};
///
/// let ws = WsProto::new(WsSubProto::Json);
/// let msg = Message::new(MessageType::PUSH, 3, "/push/echo");
/// let mut records = BytesMut::new();
/// ws.encode(&msg, &WireConfig::default(), &mut records).unwrap();
/// assert_eq!(&records[4..], &br#"{"seq":3,"mtype":3,"serviceMethod":"/push/echo","meta":"","bodyCodec":0,"body":"","xferPipe":[]}"#[..]);
/// assert_eq!(ws.decode(&mut records, &WireConfig::default()).unwrap().unwrap(), msg);
/// ```
#[derive(Clone, Debug)]
pub struct WsProto {
    sub: WsSubProto,
}

impl WsProto {
    /// The websocket protocol with this sub-protocol.
    pub fn new(sub: WsSubProto) -> Self {
        WsProto { sub }
    }

    /// The sub-protocol.
    pub fn sub_proto(&self) -> &WsSubProto {
        &self.sub
    }
}

impl Default for WsProto {
    /// Go's default: the JSON sub-protocol.
    fn default() -> Self {
        WsProto::new(WsSubProto::Json)
    }
}

/// The largest payload: the configured limit, at most [`MAX_WS_MESSAGE`] (so that a message
/// too big for a websocket fails alone, as an encode error, instead of breaking the
/// connection in the adapter).
fn limit(cfg: &WireConfig) -> usize {
    cfg.max_message_size.min(MAX_WS_MESSAGE)
}

/// Splits one record (`u32 BE length · payload`) off `src` and returns its payload;
/// `Ok(None)` while it is incomplete (nothing consumed). A length above `limit` is an error
/// before anything is buffered.
pub fn split_record(src: &mut BytesMut, limit: usize) -> Result<Option<BytesMut>, DecodeError> {
    if src.len() < RECORD_HEADER {
        return Ok(None);
    }
    let len = u32::from_be_bytes([src[0], src[1], src[2], src[3]]) as usize;
    if len > limit {
        return Err(DecodeError::FrameTooLarge {
            size: len as u64,
            limit,
        });
    }
    if src.len() - RECORD_HEADER < len {
        return Ok(None);
    }
    let mut record = src.split_to(RECORD_HEADER + len);
    let _ = record.split_to(RECORD_HEADER);
    Ok(Some(record))
}

/// Appends a record whose payload `write` produces, checked against `limit`; on error `dst` is
/// left as it was.
fn put_record(
    dst: &mut BytesMut,
    limit: usize,
    write: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    let start = dst.len();
    dst.put_u32(0);
    let res = write(dst).and_then(|()| {
        let len = dst.len() - start - RECORD_HEADER;
        super::json::check_limit(len, limit).map(|()| len)
    });
    match res {
        Ok(len) => {
            dst[start..start + RECORD_HEADER].copy_from_slice(&(len as u32).to_be_bytes());
            Ok(())
        }
        Err(e) => {
            dst.truncate(start);
            Err(e)
        }
    }
}

impl Protocol for WsProto {
    fn id(&self) -> u8 {
        b'w'
    }

    fn name(&self) -> &'static str {
        "websocket"
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        let Some(mut payload) = split_record(src, limit(cfg))? else {
            return Ok(None);
        };
        match &self.sub {
            WsSubProto::Json => json::decode(payload.freeze(), cfg).map(Some),
            WsSubProto::Pb => pb::decode(payload.freeze(), cfg).map(Some),
            WsSubProto::Proto(p) => match p.decode(&mut payload, cfg)? {
                Some(msg) if payload.is_empty() => Ok(Some(msg)),
                Some(_) => Err(DecodeError::Malformed(format!(
                    "{} trailing bytes after the frame in a websocket message",
                    payload.len()
                ))),
                None => Err(DecodeError::Truncated {
                    field: "the frame in a websocket message",
                }),
            },
        }
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        put_record(dst, limit(cfg), |out| match &self.sub {
            WsSubProto::Json => json::encode(msg, cfg, out),
            WsSubProto::Pb => pb::encode(msg, cfg, out),
            WsSubProto::Proto(p) => p.encode(msg, cfg, out),
        })
    }
}

/// The body after the message's transfer filters (on write).
fn filtered_body(msg: &Message, cfg: &WireConfig) -> Result<bytes::Bytes, EncodeError> {
    if msg.xfer_pipe.len() > 255 {
        return Err(EncodeError::FieldTooLong {
            field: "transfer pipe",
            len: msg.xfer_pipe.len(),
            max: 255,
        });
    }
    if msg.xfer_pipe.is_empty() {
        Ok(msg.body.clone())
    } else {
        Ok(cfg.xfer.pack(&msg.xfer_pipe, msg.body.clone())?)
    }
}

/// The body with the transfer filters undone (on read).
fn unfiltered_body(
    pipe: &crate::xfer::XferPipe,
    body: bytes::Bytes,
    cfg: &WireConfig,
) -> Result<bytes::Bytes, DecodeError> {
    if pipe.is_empty() {
        Ok(body)
    } else {
        Ok(cfg.xfer.unpack(pipe, body, cfg.max_message_size)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::RawProto;
    use crate::MessageType;

    #[test]
    fn records_split_and_bound() {
        let mut b = BytesMut::from(&b"\0\0\0\x03abc\0\0"[..]);
        assert_eq!(&split_record(&mut b, 10).unwrap().unwrap()[..], b"abc");
        assert_eq!(split_record(&mut b, 10).unwrap(), None);
        assert_eq!(b.len(), 2);
        let mut big = BytesMut::from(&b"\0\0\x01\0"[..]);
        assert!(matches!(
            split_record(&mut big, 255),
            Err(DecodeError::FrameTooLarge { size: 256, .. })
        ));
    }

    #[test]
    fn proto_sub_protocol_holds_exactly_one_frame() {
        let ws = WsProto::new(WsSubProto::Proto(Arc::new(RawProto)));
        let cfg = WireConfig::default();
        let msg = Message::new(MessageType::CALL, 9, "/a/b");
        let mut rec = BytesMut::new();
        ws.encode(&msg, &cfg, &mut rec).unwrap();
        let mut raw = BytesMut::new();
        RawProto.encode(&msg, &cfg, &mut raw).unwrap();
        assert_eq!(&rec[4..], &raw[..]);
        assert_eq!(ws.decode(&mut rec.clone(), &cfg).unwrap().unwrap(), msg);
        // A record with a frame and a stray byte, and one with half a frame.
        let mut extra = BytesMut::new();
        extra.put_u32(raw.len() as u32 + 1);
        extra.put_slice(&raw);
        extra.put_u8(0);
        assert!(matches!(
            ws.decode(&mut extra, &cfg),
            Err(DecodeError::Malformed(_))
        ));
        let mut half = BytesMut::new();
        half.put_u32(3);
        half.put_slice(&raw[..3]);
        assert!(matches!(
            ws.decode(&mut half, &cfg),
            Err(DecodeError::Truncated { .. })
        ));
    }

    #[test]
    fn encode_limit_leaves_dst() {
        let ws = WsProto::default();
        let cfg = WireConfig::default().with_max_message_size(50);
        let mut msg = Message::new(MessageType::CALL, 1, "/x");
        msg.body = bytes::Bytes::from(vec![b'a'; 100]);
        let mut dst = BytesMut::from(&b"keep"[..]);
        assert!(matches!(
            ws.encode(&msg, &cfg, &mut dst),
            Err(EncodeError::FrameTooLarge { .. })
        ));
        assert_eq!(&dst[..], b"keep");
        let big = WireConfig::default().with_max_message_size(40);
        let mut rec = BytesMut::new();
        WsProto::default()
            .encode(
                &Message::new(MessageType::CALL, 1, "/x"),
                &WireConfig::default(),
                &mut rec,
            )
            .unwrap();
        assert!(WsProto::default().decode(&mut rec, &big).is_err());
    }

    #[test]
    fn never_more_than_go_s_32_mib() {
        let cfg = WireConfig::default();
        assert!(cfg.max_message_size > MAX_WS_MESSAGE);
        let mut msg = Message::new(MessageType::CALL, 1, "/x");
        msg.body = bytes::Bytes::from(vec![b'a'; MAX_WS_MESSAGE]);
        let mut dst = BytesMut::new();
        assert!(matches!(
            WsProto::new(WsSubProto::Pb).encode(&msg, &cfg, &mut dst),
            Err(EncodeError::FrameTooLarge { .. })
        ));
        assert!(dst.is_empty());
        let mut rec = BytesMut::new();
        rec.put_u32(MAX_WS_MESSAGE as u32 + 1);
        assert!(matches!(
            WsProto::default().decode(&mut rec, &cfg),
            Err(DecodeError::FrameTooLarge { .. })
        ));
    }

    #[test]
    fn sub_protocols_by_name() {
        assert!(matches!(
            WsSubProto::by_name("json"),
            Some(WsSubProto::Json)
        ));
        assert!(matches!(WsSubProto::by_name("pb"), Some(WsSubProto::Pb)));
        assert!(matches!(
            WsSubProto::by_name("raw"),
            Some(WsSubProto::Proto(_))
        ));
        assert!(WsSubProto::by_name("nope").is_none());
    }
}
