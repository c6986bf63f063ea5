//! Checks for arbitrary bytes fed to the jsonproto, pbproto, thriftproto and httproto decoders.
//!
//! Included (through `#[path]`) by the fuzz targets `json_decode`, `pb_decode`,
//! `thrift_decode`, `http_decode` and by `erpc-proto/tests/fuzz_corpus_protos.rs`, which
//! replays the corpora; it depends on nothing but `bytes` and `erpc_proto`.
#![allow(dead_code, unreachable_pub)]

use bytes::BytesMut;
use erpc_proto::proto::{HttpProto, JsonProto, PbProto, Protocol, ThriftProto};
use erpc_proto::{EncodeError, Message, MessageType, WireConfig};

/// The configurations every input is decoded under: a 1 MiB and the default (1 GiB) limit.
fn configs() -> [WireConfig; 2] {
    [
        WireConfig::default().with_max_message_size(1 << 20),
        WireConfig::default(),
    ]
}

/// jsonproto: decoded messages survive encode → decode unchanged.
pub fn json(data: &[u8]) {
    for cfg in configs() {
        check_with(&JsonProto, &JsonProto, data, &cfg, Exact);
    }
}

/// pbproto: decoded messages survive encode → decode unchanged.
pub fn pb(data: &[u8]) {
    for cfg in configs() {
        check_with(&PbProto, &PbProto, data, &cfg, Exact);
    }
}

/// thriftproto, both variants: decoded messages survive encode → decode unchanged.
pub fn thrift(data: &[u8]) {
    for cfg in configs() {
        check_with(
            &ThriftProto::BINARY,
            &ThriftProto::BINARY,
            data,
            &cfg,
            Exact,
        );
        check_with(
            &ThriftProto::STRUCT,
            &ThriftProto::STRUCT,
            data,
            &cfg,
            Exact,
        );
    }
}

/// httproto with the default and with tiny head limits. Re-encoding legitimately changes a
/// decoded message (meta keys are canonicalised, headers join meta, the path is unescaped once
/// more, an unknown codec becomes `s`), so only what httproto carries verbatim is compared:
/// seq, type, body, filters and a response's error status.
pub fn http(data: &[u8]) {
    let tiny = HttpProto::new()
        .with_max_headers(4)
        .with_max_header_line(64)
        .with_max_head_len(256);
    // Re-encoding adds headers (Content-Length, X-Seq, …), so a decoded message may not fit
    // the head limits it was read under: round trips go through a protocol without them.
    let unlimited = HttpProto::new()
        .with_max_headers(usize::MAX)
        .with_max_header_line(usize::MAX)
        .with_max_head_len(usize::MAX);
    for cfg in configs() {
        check_with(&HttpProto::new(), &unlimited, data, &cfg, Carried);
        check_with(&tiny, &unlimited, data, &cfg, Carried);
    }
}

/// What re-encoding a decoded message must give back.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoundTrip {
    /// The same message.
    Exact,
    /// The fields httproto carries verbatim.
    Carried,
}
use RoundTrip::{Carried, Exact};

/// Decodes `data` with `p` until it stops; every message is re-encoded and decoded with
/// `rt_proto` and compared as `rt` says.
fn check_with(
    p: &dyn Protocol,
    rt_proto: &dyn Protocol,
    data: &[u8],
    cfg: &WireConfig,
    rt: RoundTrip,
) {
    let mut buf = BytesMut::from(data);
    loop {
        let before = buf.len();
        match p.decode(&mut buf, cfg) {
            Ok(Some(msg)) => {
                assert!(buf.len() < before, "a decoded frame consumes bytes");
                let Some(again) = round(rt_proto, &msg, cfg) else {
                    continue;
                };
                match rt {
                    Exact => assert_eq!(again, msg, "re-encoded frame decodes to the same message"),
                    Carried => {
                        assert_eq!(again.seq, msg.seq, "seq");
                        assert_eq!(again.mtype, msg.mtype, "message type");
                        assert_eq!(again.body, msg.body, "body");
                        assert_eq!(again.xfer_pipe, msg.xfer_pipe, "filters");
                        // Only responses carry a status (a `299` read with a request's
                        // X-Mtype keeps its status, which a request cannot send).
                        let response =
                            msg.mtype == MessageType::REPLY || msg.mtype == MessageType::AUTH_REPLY;
                        if msg.status.is_ok() || !response {
                            assert!(again.status.is_ok(), "OK status");
                        } else {
                            assert_eq!(again.status, msg.status, "error status");
                        }
                    }
                }
            }
            Ok(None) => {
                assert_eq!(buf.len(), before, "an incomplete frame consumes nothing");
                return;
            }
            Err(_) => return,
        }
    }
}

/// Encodes and decodes `msg`; `None` when the protocol cannot encode it for a legitimate
/// reason (escaping made it too large, the protocol cannot carry it).
fn round(p: &dyn Protocol, msg: &Message, cfg: &WireConfig) -> Option<Message> {
    let mut out = BytesMut::from(&b"x"[..]);
    match p.encode(msg, cfg, &mut out) {
        Ok(()) => {
            let mut out = out.split_off(1);
            let back = p
                .decode(&mut out, cfg)
                .expect("our own frame decodes")
                .expect("our own frame is complete");
            assert!(out.is_empty(), "exactly one frame written");
            Some(back)
        }
        Err(
            EncodeError::FieldTooLong { .. }
            | EncodeError::FrameTooLarge { .. }
            | EncodeError::Unsupported(_),
        ) => {
            assert_eq!(&out[..], b"x", "a failed encode writes nothing");
            None
        }
        Err(e) => panic!("re-encoding a decoded message failed: {e}"),
    }
}
