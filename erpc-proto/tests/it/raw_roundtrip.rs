//! Property tests of rawproto: encode → decode is the identity for any message the protocol
//! can carry, a stream cut anywhere decodes to the same messages, and no input panics.

use bytes::{Bytes, BytesMut};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{
    CodecId, Message, MessageType, Meta, ServiceMethod, Status, WireConfig, XferPipe,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// Text with a high share of the characters that URL-query escaping treats specially.
fn tricky_text(max_chars: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::string::string_regex(&format!("\\PC{{0,{max_chars}}}")).unwrap(),
        proptest::string::string_regex(&format!("[&=%+ ~/?#a-zA-Z0-9*._-]{{0,{max_chars}}}"))
            .unwrap(),
        proptest::string::string_regex(&format!(
            "[%0-9a-fA-F+&=é世\u{0}\u{7f}\u{10ffff}]{{0,{max_chars}}}"
        ))
        .unwrap(),
        vec(any::<char>(), 0..=max_chars).prop_map(|c| c.into_iter().collect()),
    ]
}

/// A meta key or value: text, or arbitrary bytes (Meta is a byte multimap).
fn meta_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => tricky_text(12).prop_map(String::into_bytes),
        1 => vec(any::<u8>(), 0..12),
    ]
}

fn seq() -> impl Strategy<Value = i32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(-1),
        Just(35),
        Just(36),
        Just(i32::MAX),
        Just(i32::MIN),
        any::<i32>(),
    ]
}

/// A service method of at most 255 bytes of arbitrary Unicode.
fn service_method() -> impl Strategy<Value = String> {
    prop_oneof![
        tricky_text(40),
        vec(any::<char>(), 0..=255).prop_map(|c| {
            let mut s = String::new();
            for ch in c {
                if s.len() + ch.len_utf8() > 255 {
                    break;
                }
                s.push(ch);
            }
            s
        }),
        Just("x".repeat(255)),
    ]
}

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        1 => Just(Status::OK),
        4 => (any::<i32>(), tricky_text(30), proptest::option::of(tricky_text(30)))
            .prop_map(|(code, msg, cause)| Status::new(code, msg, cause)),
        1 => (any::<i32>(), proptest::option::of(Just(String::new())))
            .prop_map(|(code, cause)| Status::new(code, "", cause)),
    ]
}

fn meta() -> impl Strategy<Value = Meta> {
    // Go's decoder skips a pair whose key and value are both empty, so none is generated; an
    // empty key with a value, or a key with an empty value, survive. Keys repeat often.
    vec(
        (
            prop_oneof![meta_bytes(), Just(b"dup".to_vec()), Just(Vec::new())],
            meta_bytes(),
        )
            .prop_filter("both empty is not carried", |(k, v)| {
                !(k.is_empty() && v.is_empty())
            }),
        0..8,
    )
    .prop_map(|pairs| pairs.into_iter().collect())
}

fn pipe() -> impl Strategy<Value = XferPipe> {
    vec(prop_oneof![Just(b'g'), Just(b'm')], 0..4).prop_map(|ids| XferPipe::from_ids(&ids))
}

fn body() -> impl Strategy<Value = Bytes> {
    prop_oneof![
        vec(any::<u8>(), 0..64),
        vec(any::<u8>(), 0..4096),
        (any::<u8>(), 0..3000usize).prop_map(|(b, n)| vec![b; n]),
    ]
    .prop_map(Bytes::from)
}

fn message() -> impl Strategy<Value = Message> {
    (
        seq(),
        any::<u8>(),
        service_method(),
        status(),
        meta(),
        any::<u8>(),
        body(),
        pipe(),
    )
        .prop_map(|(seq, mtype, sm, status, meta, codec, body, xfer_pipe)| {
            let mut m = Message::new(MessageType(mtype), seq, ServiceMethod::from(sm));
            m.status = status;
            m.meta = meta;
            m.body_codec = CodecId(codec);
            m.body = body;
            m.xfer_pipe = xfer_pipe;
            m
        })
}

fn encode(msg: &Message, cfg: &WireConfig) -> BytesMut {
    let mut out = BytesMut::new();
    RawProto
        .encode(msg, cfg, &mut out)
        .expect("encodable message");
    out
}

/// Feeds `stream` in pieces ending at the sorted `cuts` and collects every message decoded.
fn decode_cut(stream: &[u8], cuts: &[usize], cfg: &WireConfig) -> Vec<Message> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut start = 0;
    for &end in cuts.iter().chain([&stream.len()]) {
        buf.extend_from_slice(&stream[start..end]);
        start = end;
        while let Some(m) = RawProto.decode(&mut buf, cfg).expect("valid stream") {
            out.push(m);
        }
    }
    assert!(buf.is_empty());
    out
}

/// Decodes `data` until it is exhausted, incomplete or rejected; must not panic, and must
/// consume nothing when it reports an incomplete frame.
fn decode_all(data: &[u8], cfg: &WireConfig) -> usize {
    let mut buf = BytesMut::from(data);
    let mut n = 0;
    loop {
        let before = buf.len();
        match RawProto.decode(&mut buf, cfg) {
            Ok(Some(_)) => {
                assert!(buf.len() < before);
                n += 1;
            }
            Ok(None) => {
                assert_eq!(buf.len(), before);
                return n;
            }
            Err(_) => return n,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn encode_decode_is_identity(msg in message()) {
        let cfg = WireConfig::default();
        let mut wire = encode(&msg, &cfg);
        let frame_len = wire.len();
        prop_assert_eq!(
            u32::from_be_bytes([wire[0], wire[1], wire[2], wire[3]]) as usize,
            frame_len
        );
        let back = RawProto.decode(&mut wire, &cfg).unwrap().unwrap();
        prop_assert!(wire.is_empty());
        prop_assert_eq!(&back, &msg);
        // Deterministic: encoding the decoded message gives the same frame.
        prop_assert_eq!(encode(&back, &cfg).len(), frame_len);
    }

    #[test]
    fn stream_cut_anywhere_decodes_the_same(
        msgs in vec(message(), 1..6),
        cut_seeds in vec(any::<prop::sample::Index>(), 0..24),
    ) {
        let cfg = WireConfig::default();
        let mut stream = Vec::new();
        for m in &msgs {
            stream.extend_from_slice(&encode(m, &cfg));
        }
        let mut cuts: Vec<usize> = cut_seeds.iter().map(|i| i.index(stream.len() + 1)).collect();
        cuts.sort_unstable();
        prop_assert_eq!(decode_cut(&stream, &cuts, &cfg), msgs.clone());
        // Byte by byte as well.
        let every: Vec<usize> = (0..stream.len()).collect();
        prop_assert_eq!(decode_cut(&stream, &every, &cfg), msgs);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in vec(any::<u8>(), 0..512)) {
        decode_all(&data, &WireConfig::default());
        decode_all(&data, &WireConfig::default().with_max_message_size(64));
    }

    /// Arbitrary bytes behind a correct length prefix and filter list, so they reach the
    /// field parser, the gzip inflater and the md5 check.
    #[test]
    fn arbitrary_payloads_never_panic(
        ids in vec(prop_oneof![Just(b'g'), Just(b'm'), any::<u8>()], 0..3),
        payload in vec(any::<u8>(), 0..512),
    ) {
        let total = 5 + ids.len() + payload.len();
        let mut frame = (total as u32).to_be_bytes().to_vec();
        frame.push(ids.len() as u8);
        frame.extend_from_slice(&ids);
        frame.extend_from_slice(&payload);
        let mut buf = BytesMut::from(&frame[..]);
        // A whole frame is there: the decoder answers with a message or an error, never "wait".
        let r = RawProto.decode(&mut buf, &WireConfig::default());
        prop_assert!(!matches!(r, Ok(None)));
        if r.is_ok() {
            prop_assert!(buf.is_empty());
        }
    }

    /// Valid frames with a few bytes changed: decoding never panics, and whatever it accepts
    /// round-trips.
    #[test]
    fn mutated_frames_never_panic(
        msg in message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let cfg = WireConfig::default();
        let mut frame = encode(&msg, &cfg).to_vec();
        for (at, byte) in edits {
            let i = at.index(frame.len());
            frame[i] = byte;
        }
        let mut buf = BytesMut::from(&frame[..]);
        if let Ok(Some(m)) = RawProto.decode(&mut buf, &cfg) {
            let mut out = BytesMut::new();
            if RawProto.encode(&m, &cfg, &mut out).is_ok() {
                prop_assert_eq!(RawProto.decode(&mut out, &cfg).unwrap().unwrap(), m);
            }
        }
    }
}

#[test]
fn absent_and_empty_cause_differ() {
    let cfg = WireConfig::default();
    let mut a = Message::new(MessageType::REPLY, 1, "");
    a.status = Status::new(404, "Not Found", None::<&str>);
    let mut b = a.clone();
    b.status = Status::new(404, "Not Found", Some(""));
    let (wa, wb) = (encode(&a, &cfg), encode(&b, &cfg));
    assert_ne!(wa, wb);
    assert_eq!(RawProto.decode(&mut wa.clone(), &cfg).unwrap().unwrap(), a);
    assert_eq!(RawProto.decode(&mut wb.clone(), &cfg).unwrap().unwrap(), b);
}

#[test]
fn extremes_roundtrip() {
    let cfg = WireConfig::default();
    for seq in [i32::MIN, -1, 0, i32::MAX] {
        let mut m = Message::new(MessageType(255), seq, "é".repeat(127).as_str());
        m.meta.add("", "only value");
        m.meta.add("only key", "");
        m.meta.add("&=%+ ~/", "&=%+ ~/");
        m.xfer_pipe = XferPipe::from_ids(b"gmgm");
        m.body_codec = CodecId(255);
        assert_eq!(m.service_method.len(), 254);
        let mut w = encode(&m, &cfg);
        assert_eq!(RawProto.decode(&mut w, &cfg).unwrap().unwrap(), m);
    }
}
