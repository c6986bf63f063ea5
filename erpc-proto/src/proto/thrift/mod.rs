//! thriftproto: eRPC messages in Apache Thrift THeader frames, in two variants.
//!
//! * **binary** (version id `b`, name `thrift-binary`): the payload is a Thrift message
//!   (`0x8001_0000 | type`, name = service method, seq id = seq) followed by the transfer-filtered
//!   body as one TBinary `binary` value; status, meta, body codec and filter ids travel as the
//!   THeader key/value headers `Tp-Status`, `Tp-Meta`, `Tp-BodyCodec`, `Tp-XferPipe`.
//! * **struct** (version id `s`, name `thrift-struct`): the same message header followed
//!   directly by the body, which must be a TBinaryProtocol struct (the body of codec `t`);
//!   only `Tp-Status` and `Tp-Meta` are sent, no filters, and the codec is always `t`.
//!
//! ```text
//! u32 BE frame length · 0F FF · 00 00 · i32 seq · u16 header words · THeader headers (padded) ·
//! 80 01 00 <type> · i32 name length · name · i32 seq · (binary: i32 body length · body | struct: body)
//! ```
//!
//! Written from the THeader format description (Apache Thrift v0.13 Go); no Thrift crate.
//!
//! # Compatibility decisions
//!
//! * **Header order.** Go writes the headers from a hash map, so their order changes from
//!   frame to frame. The reader accepts any order (a repeated key's last value wins, unknown
//!   keys are ignored); the writer uses the fixed order `Tp-Status`, `Tp-Meta`,
//!   `Tp-BodyCodec`, `Tp-XferPipe`.
//! * **Message types.** CALL → Thrift CALL (1), REPLY → REPLY (2), PUSH → ONEWAY (4); every
//!   other type, AUTH_CALL and AUTH_REPLY included, is written as Thrift type 0, exactly as Go
//!   does, and read back (by Go and by erpc-rs) as **PUSH**: Thrift has no type for them, so
//!   eRPC's auth handshake cannot run over thriftproto. A Thrift EXCEPTION (3) is read as a
//!   `TApplicationException` and reported as a [`DecodeError::Malformed`] (Go: a read error).
//! * **Body codec header.** Written as one raw byte. Go converts the byte through a Unicode
//!   code point, so codec ids ≥ 0x80 become two UTF-8 bytes that Go's own reader misreads; the
//!   erpc-rs reader takes the first byte, as Go, except that a two-byte UTF-8 value of
//!   U+0080..=U+00FF is read back as that code point's byte.
//! * **Protocols.** The writer always uses TBinaryProtocol (THeader protocol id 0), as Go.
//!   The reader also accepts TCompactProtocol payloads (id 2) for the binary variant, the old
//!   non-strict TBinary message header, and THeader zlib transforms (with the `gzip`
//!   feature). Thrift peers that do not use THeader framing (framed or unframed
//!   binary/compact) are rejected: answering them would need per-connection state.
//! * **Size.** The size is the whole frame including its length prefix; it is checked
//!   against the message size limit and Thrift's 0x3FFFFFFF frame cap from the prefix on read
//!   (per message: Go's counter is never reset on read, a bug) and on write. A header block
//!   larger than the 16-bit word count can describe is refused on write (Go truncates it).
//! * **thrift-struct.** Writing refuses a transfer pipe and any codec other than `t` (0 is
//!   taken as `t`), and checks that the body is one TBinary struct. An empty body (an error
//!   reply, which Go cannot write at all) is sent as the empty struct `00`. Reading splits off
//!   exactly one struct (validated by Thrift's skip rules, nesting limited to 64) whatever the
//!   route: the body stays raw bytes with codec `t`, so an unknown route can be answered 404.
//! * Bytes after the body inside a frame are ignored.

mod header;
mod payload;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use self::header::{KeyValue, MAX_FRAME_LEN, MAX_HEADER_LEN, META_LEN, PROTO_COMPACT};
use self::payload::{Cursor, COMPACT_ID, T_CALL, T_EXCEPTION, T_ONEWAY, T_REPLY, VERSION_1};
use super::Protocol;
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::{
    CodecId, DecodeError, EncodeError, Message, MessageType, Meta, ServiceMethod, WireConfig,
};

/// Which of the two thriftproto variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThriftVariant {
    /// `b` / `thrift-binary`: the body is a Thrift `binary` value, any codec, any filters.
    Binary,
    /// `s` / `thrift-struct`: the body is a Thrift struct (codec `t`), no filters.
    Struct,
}

/// eRPC's Thrift protocol (THeader framing) in its binary or struct variant. Stateless.
///
/// Go's package also switches the process-wide service-method mapper to RPC style and the
/// default body codec to thrift when imported; erpc-rs leaves those choices to the peer's
/// configuration.
///
/// ```
/// use bytes::BytesMut;
/// use erpc_proto::proto::{Protocol, ThriftProto};
/// use erpc_proto::{CodecId, Message, MessageType, WireConfig};
///
/// let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
/// msg.meta.add("author", "henrylee2cn");
/// msg.body_codec = CodecId::JSON;
/// msg.body = bytes::Bytes::from_static(b"[1,2,3,4,5]");
/// let cfg = WireConfig::default();
/// let mut wire = BytesMut::new();
/// ThriftProto::BINARY.encode(&msg, &cfg, &mut wire).unwrap();
/// assert_eq!(wire.len(), 126); // Go's README call (Go's header order varies)
/// assert_eq!(ThriftProto::BINARY.decode(&mut wire, &cfg).unwrap().unwrap(), msg);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ThriftProto {
    variant: ThriftVariant,
}

impl ThriftProto {
    /// The binary variant (`b`, `thrift-binary`).
    pub const BINARY: ThriftProto = ThriftProto {
        variant: ThriftVariant::Binary,
    };
    /// The struct variant (`s`, `thrift-struct`).
    pub const STRUCT: ThriftProto = ThriftProto {
        variant: ThriftVariant::Struct,
    };

    /// The protocol of the given variant.
    pub const fn new(variant: ThriftVariant) -> Self {
        ThriftProto { variant }
    }

    /// Its variant.
    pub const fn variant(&self) -> ThriftVariant {
        self.variant
    }
}

impl Default for ThriftProto {
    /// The binary variant.
    fn default() -> Self {
        ThriftProto::BINARY
    }
}

impl Protocol for ThriftProto {
    fn id(&self) -> u8 {
        match self.variant {
            ThriftVariant::Binary => b'b',
            ThriftVariant::Struct => b's',
        }
    }

    fn name(&self) -> &'static str {
        match self.variant {
            ThriftVariant::Binary => "thrift-binary",
            ThriftVariant::Struct => "thrift-struct",
        }
    }

    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let word = u32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if word & 0xffff_0000 == VERSION_1 || (src[0] == COMPACT_ID && src[1] & 0x1f == 1) {
            return Err(header::malformed(
                "unframed Thrift message: only THeader framing is supported",
            ));
        }
        if word > MAX_FRAME_LEN {
            return Err(DecodeError::FrameTooLarge {
                size: word.into(),
                limit: MAX_FRAME_LEN as usize,
            });
        }
        let total = 4 + u64::from(word);
        if total > cfg.max_message_size as u64 {
            return Err(DecodeError::FrameTooLarge {
                size: total,
                limit: cfg.max_message_size,
            });
        }
        if (word as usize) < META_LEN {
            return Err(DecodeError::FrameTooShort {
                size: total,
                min: 4 + META_LEN,
            });
        }
        let total = total as usize;
        if src.len() < total {
            return Ok(None);
        }
        let frame = src.split_to(total).freeze();
        self.decode_frame(frame, cfg).map(Some)
    }

    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        let body = match self.variant {
            ThriftVariant::Binary => {
                if msg.xfer_pipe.len() > 255 {
                    return Err(EncodeError::FieldTooLong {
                        field: "transfer pipe",
                        len: msg.xfer_pipe.len(),
                        max: 255,
                    });
                }
                if msg.xfer_pipe.is_empty() {
                    msg.body.clone()
                } else {
                    cfg.xfer.pack(&msg.xfer_pipe, msg.body.clone())?
                }
            }
            ThriftVariant::Struct => {
                if !msg.xfer_pipe.is_empty() {
                    return Err(EncodeError::Unsupported("unsupport transfer pipe".into()));
                }
                if msg.body_codec != CodecId::NONE && msg.body_codec != CodecId::THRIFT {
                    return Err(EncodeError::Unsupported("body codec must be thrift".into()));
                }
                if msg.body.is_empty() {
                    Bytes::from_static(&[0])
                } else if payload::is_binary_struct(&msg.body) {
                    msg.body.clone()
                } else {
                    return Err(EncodeError::Unsupported(
                        "thrift-struct: the body is not one TBinaryProtocol struct".into(),
                    ));
                }
            }
        };
        let codec = [msg.body_codec.0];
        let write_status = |out: &mut BytesMut| msg.status.write_query(out);
        let write_meta = |out: &mut BytesMut| msg.meta.write_query(out);
        let write_codec = |out: &mut BytesMut| out.put_slice(&codec);
        let write_pipe = |out: &mut BytesMut| out.put_slice(msg.xfer_pipe.ids());
        let all = [
            KeyValue {
                key: b"Tp-Status",
                len: msg.status.query_len(),
                write: &write_status,
            },
            KeyValue {
                key: b"Tp-Meta",
                len: msg.meta.query_len(),
                write: &write_meta,
            },
            KeyValue {
                key: b"Tp-BodyCodec",
                len: 1,
                write: &write_codec,
            },
            KeyValue {
                key: b"Tp-XferPipe",
                len: msg.xfer_pipe.len(),
                write: &write_pipe,
            },
        ];
        let kvs = match self.variant {
            ThriftVariant::Binary => &all[..],
            ThriftVariant::Struct => &all[..2],
        };
        let block_len = header::block_len(kvs);
        if block_len > MAX_HEADER_LEN {
            return Err(EncodeError::FieldTooLong {
                field: "THeader headers",
                len: block_len,
                max: MAX_HEADER_LEN,
            });
        }
        let name = msg.service_method.as_bytes();
        let body_prefix = match self.variant {
            ThriftVariant::Binary => 4,
            ThriftVariant::Struct => 0,
        };
        let frame_len = (META_LEN + block_len + 12 + body_prefix) as u64
            + name.len() as u64
            + body.len() as u64;
        if frame_len > u64::from(MAX_FRAME_LEN) {
            return Err(EncodeError::FrameTooLarge {
                size: frame_len,
                limit: MAX_FRAME_LEN as usize,
            });
        }
        if frame_len + 4 > cfg.max_message_size as u64 {
            return Err(EncodeError::FrameTooLarge {
                size: frame_len + 4,
                limit: cfg.max_message_size,
            });
        }
        let ttype = match msg.mtype {
            MessageType::CALL => T_CALL,
            MessageType::REPLY => T_REPLY,
            MessageType::PUSH => T_ONEWAY,
            _ => 0,
        };
        dst.reserve(4 + frame_len as usize);
        dst.put_u32(frame_len as u32);
        dst.put_u16(0x0fff);
        dst.put_u16(0);
        dst.put_i32(msg.seq);
        dst.put_u16((block_len / 4) as u16);
        header::write_block(dst, kvs, block_len);
        dst.put_u32(VERSION_1 | u32::from(ttype));
        dst.put_u32(name.len() as u32);
        dst.put_slice(name);
        dst.put_i32(msg.seq);
        if body_prefix != 0 {
            dst.put_u32(body.len() as u32);
        }
        dst.put_slice(&body);
        Ok(())
    }
}

impl ThriftProto {
    /// Decodes one whole frame (length prefix included, magic not yet checked).
    fn decode_frame(&self, mut frame: Bytes, cfg: &WireConfig) -> Result<Message, DecodeError> {
        frame.advance(4);
        if frame[..2] != [0x0f, 0xff] {
            let what = if u32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]) & 0xffff_0000
                == VERSION_1
                || (frame[0] == COMPACT_ID && frame[1] & 0x1f == 1)
            {
                "framed Thrift message without THeader: only THeader framing is supported"
            } else {
                "unsupported client transport type"
            };
            return Err(header::malformed(what));
        }
        let header_len = usize::from(u16::from_be_bytes([frame[8], frame[9]])) * 4;
        if header_len > frame.len() - META_LEN {
            return Err(DecodeError::Truncated {
                field: "THeader headers",
            });
        }
        let head = header::parse(frame.slice(META_LEN..META_LEN + header_len))?;
        let payload = header::inflate(
            frame.slice(META_LEN + header_len..),
            head.zlib,
            cfg.max_message_size,
        )?;
        let compact = head.protocol == PROTO_COMPACT;
        let mut c = Cursor::new(payload);
        let begin = payload::read_message_begin(&mut c, compact)?;
        let mtype = match begin.mtype {
            T_CALL => MessageType::CALL,
            T_REPLY => MessageType::REPLY,
            T_ONEWAY => MessageType::PUSH,
            T_EXCEPTION => {
                let text = if compact {
                    "(compact protocol)".to_owned()
                } else {
                    let (message, kind) = payload::application_exception(&mut c)?;
                    format!("type {kind}: {message}")
                };
                return Err(header::malformed(format_args!(
                    "application exception {text}"
                )));
            }
            _ => MessageType::PUSH,
        };
        let service_method =
            ServiceMethod::from_utf8(begin.name).map_err(|_| DecodeError::InvalidServiceMethod)?;
        let h = head.headers;
        let status = match h.status {
            Some(s) if !s.is_empty() => {
                Status::from_query(s).map_err(|_| DecodeError::BadStatus)?
            }
            _ => Status::OK,
        };
        let meta = match h.meta {
            Some(m) if !m.is_empty() => Meta::from_query(m),
            _ => Meta::new(),
        };
        let (body_codec, body, xfer_pipe) = match self.variant {
            ThriftVariant::Struct => {
                if compact {
                    return Err(header::malformed(
                        "thrift-struct: TCompactProtocol payloads are not supported",
                    ));
                }
                (
                    CodecId::THRIFT,
                    payload::binary_struct(&mut c)?,
                    XferPipe::new(),
                )
            }
            ThriftVariant::Binary => {
                let body = c.binary(compact, "body")?;
                let codec = match h.body_codec.as_deref() {
                    None | Some([]) => CodecId::NONE,
                    Some(&[a @ 0xc2..=0xc3, b @ 0x80..=0xbf]) => {
                        CodecId((a & 0x1f) << 6 | (b & 0x3f))
                    }
                    Some(&[first, ..]) => CodecId(first),
                };
                let pipe = XferPipe::from_bytes(h.xfer_pipe.unwrap_or_default());
                if pipe.len() > 255 {
                    return Err(header::malformed("transfer pipe longer than 255"));
                }
                let body = if pipe.is_empty() {
                    body
                } else {
                    cfg.xfer.unpack(&pipe, body, cfg.max_message_size)?
                };
                (codec, body, pipe)
            }
        };
        Ok(Message {
            seq: begin.seq,
            mtype,
            service_method,
            status,
            meta,
            body_codec,
            body,
            xfer_pipe,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const README_CALL: &str = "0000007a 0fff0000 00000001 0013 00000104 \
        09 54702d537461747573 06 636f64653d30 \
        07 54702d4d657461 12 617574686f723d68656e72796c656532636e \
        0c 54702d426f6479436f646563 01 6a \
        0b 54702d5866657250697065 00 \
        80010001 00000009 2f6d6174682f616464 00000001 0000000b 5b312c322c332c342c355d";

    fn unhex(s: &str) -> BytesMut {
        BytesMut::from(&hex::decode(s.replace(' ', "")).unwrap()[..])
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
        let cfg = WireConfig::default();
        let mut wire = BytesMut::new();
        ThriftProto::BINARY
            .encode(&readme_call(), &cfg, &mut wire)
            .unwrap();
        assert_eq!(wire, unhex(README_CALL));
        assert_eq!(
            ThriftProto::BINARY
                .decode(&mut wire, &cfg)
                .unwrap()
                .unwrap(),
            readme_call()
        );
        assert!(wire.is_empty());
    }

    #[test]
    fn body_is_zero_copy() {
        let mut wire = unhex(README_CALL);
        let range = wire.as_ptr() as usize..wire.as_ptr() as usize + wire.len();
        let m = ThriftProto::BINARY
            .decode(&mut wire, &WireConfig::default())
            .unwrap()
            .unwrap();
        assert!(range.contains(&(m.body.as_ptr() as usize)));
    }

    #[test]
    fn auth_types_read_back_as_push() {
        let cfg = WireConfig::default();
        let mut msg = readme_call();
        msg.mtype = MessageType::AUTH_CALL;
        let mut wire = BytesMut::new();
        ThriftProto::BINARY.encode(&msg, &cfg, &mut wire).unwrap();
        let back = ThriftProto::BINARY
            .decode(&mut wire, &cfg)
            .unwrap()
            .unwrap();
        assert_eq!(back.mtype, MessageType::PUSH);
    }

    #[test]
    fn struct_variant() {
        let cfg = WireConfig::default();
        let p = ThriftProto::STRUCT;
        let mut msg = Message::new(MessageType::REPLY, 3, "");
        msg.status = Status::from_code(crate::Code::NOT_FOUND);
        let mut wire = BytesMut::new();
        p.encode(&msg, &cfg, &mut wire).unwrap();
        let back = p.decode(&mut wire, &cfg).unwrap().unwrap();
        assert_eq!(&back.body[..], b"\x00");
        assert_eq!(back.body_codec, CodecId::THRIFT);
        assert_eq!(back.status, msg.status);
        msg.body = Bytes::from_static(b"\x08\x00\x01\x00\x00\x00\x07\x00");
        msg.body_codec = CodecId::THRIFT;
        p.encode(&msg, &cfg, &mut wire).unwrap();
        wire.put_slice(b"next");
        let back = p.decode(&mut wire, &cfg).unwrap().unwrap();
        assert_eq!(back, msg);
        assert_eq!(&wire[..], b"next");
        wire.clear();
        msg.body_codec = CodecId::JSON;
        assert!(matches!(
            p.encode(&msg, &cfg, &mut wire),
            Err(EncodeError::Unsupported(_))
        ));
        msg.body_codec = CodecId::THRIFT;
        msg.xfer_pipe = XferPipe::from_ids(b"g");
        assert!(matches!(
            p.encode(&msg, &cfg, &mut wire),
            Err(EncodeError::Unsupported(_))
        ));
        msg.xfer_pipe = XferPipe::new();
        msg.body = Bytes::from_static(b"[1]");
        assert!(matches!(
            p.encode(&msg, &cfg, &mut wire),
            Err(EncodeError::Unsupported(_))
        ));
        assert!(wire.is_empty());
    }

    #[test]
    fn framing_errors() {
        let cfg = WireConfig::default();
        let dec = |s: &str| ThriftProto::BINARY.decode(&mut unhex(s), &cfg);
        assert!(dec("0000007a 0fff").unwrap().is_none());
        assert!(matches!(
            dec("40000000"),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert!(matches!(
            dec("00000009"),
            Err(DecodeError::FrameTooShort { .. })
        ));
        assert!(matches!(dec("80010001"), Err(DecodeError::Malformed(_))));
        assert!(matches!(
            dec("0000000c 80010001 00000000 00000001"),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            dec("0000000a 0fff0000 00000001 0001"),
            Err(DecodeError::Truncated { .. })
        ));
        assert!(matches!(
            dec("0000000e 0fff0000 00000001 0001 01000000"),
            Err(DecodeError::Malformed(_))
        ));
        // Exception: binary TApplicationException.
        let exc = "0000002b 0fff0000 00000001 0001 00000000 80010003 00000000 00000001 \
                   0b0001 00000002 6869 080002 00000006 00";
        match dec(exc) {
            Err(DecodeError::Malformed(m)) => assert!(m.contains("type 6: hi"), "{m}"),
            other => panic!("{other:?}"),
        }
        let small = WireConfig::default().with_max_message_size(100);
        let mut wire = unhex(README_CALL);
        assert!(matches!(
            ThriftProto::BINARY.decode(&mut wire, &small),
            Err(DecodeError::FrameTooLarge { .. })
        ));
        assert_eq!(wire.len(), 126);
        let mut dst = BytesMut::new();
        assert!(matches!(
            ThriftProto::BINARY.encode(&readme_call(), &small, &mut dst),
            Err(EncodeError::FrameTooLarge { .. })
        ));
        assert!(dst.is_empty());
    }

    #[test]
    fn compact_payload_and_header_order() {
        // Headers in another order plus compact protocol: 0x82, 0x21 (CALL), seq 1, "/a", body.
        let hdr = b"\x02\x00\x01\x02\x0cTp-BodyCodec\x01s\x09Tp-Status\x06code=0";
        let mut block = hdr.to_vec();
        while block.len() % 4 != 0 {
            block.push(0);
        }
        let payload = b"\x82\x21\x01\x02/a\x02hi";
        let mut f = BytesMut::new();
        f.put_u32((10 + block.len() + payload.len()) as u32);
        f.put_slice(&[0x0f, 0xff, 0, 0, 0, 0, 0, 1]);
        f.put_u16((block.len() / 4) as u16);
        f.put_slice(&block);
        f.put_slice(payload);
        let m = ThriftProto::BINARY
            .decode(&mut f, &WireConfig::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            (m.seq, m.mtype, m.body_codec),
            (1, MessageType::CALL, CodecId::PLAIN)
        );
        assert_eq!(m.service_method, "/a");
        assert_eq!(&m.body[..], b"hi");
    }
}
