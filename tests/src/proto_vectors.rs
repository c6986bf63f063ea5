//! The checks every wire protocol passes against the Go eRPC golden vectors, written once:
//! every frame decodes to what Go's `Unpack()` reads back (and no strict prefix decodes),
//! encoding the packed fields gives Go's bytes, and the whole stream decodes incrementally
//! whatever the chunking. [`proto_vector_tests!`](crate::proto_vector_tests) turns them into
//! the tests of one protocol.

use bytes::{BufMut, BytesMut};
use erpc_proto::proto::Protocol;
use erpc_proto::{Message, WireConfig};

use crate::vectors::{self, Vector};

/// Decodes the one frame in `buf`, panicking with the vector's name if it does not.
pub fn decode_one(proto: &dyn Protocol, v: &Vector, buf: &mut BytesMut) -> Message {
    proto
        .decode(buf, &WireConfig::default())
        .unwrap_or_else(|e| panic!("{}: {e}", v.name))
        .unwrap_or_else(|| panic!("{}: incomplete", v.name))
}

/// There are `count` vectors of `set`, all with the protocol's id.
pub fn check_count(proto: &dyn Protocol, set: &str, count: usize) {
    let vs = vectors::by_proto(set);
    assert_eq!(vs.len(), count);
    for v in vs {
        assert_eq!(v.proto_id, proto.id(), "{}", v.name);
    }
}

/// Every frame of `set` decodes to what Go reads back; every strict prefix is incomplete and
/// consumes nothing.
pub fn check_decode(proto: &dyn Protocol, set: &str) {
    let cfg = WireConfig::default();
    for v in vectors::by_proto(set) {
        let mut buf = v.frame_buf();
        let got = decode_one(proto, &v, &mut buf);
        assert_eq!(got, v.unpacked_message(), "{}", v.name);
        assert!(buf.is_empty(), "{}: {} bytes left over", v.name, buf.len());
        for cut in 0..v.frame.len() {
            let mut part = BytesMut::from(&v.frame[..cut]);
            let r = proto.decode(&mut part, &cfg);
            assert!(matches!(r, Ok(None)), "{}: prefix {cut}: {r:?}", v.name);
            assert_eq!(part.len(), cut, "{}: prefix {cut} consumed", v.name);
        }
    }
}

/// Encoding every message of `set` appends Go's frame (`frames_match` compares it), except
/// for the `gzip` vectors with gzip, which must decode back to what Go reads.
pub fn check_encode(
    proto: &dyn Protocol,
    set: &str,
    gzip: usize,
    frames_match: fn(&Vector, &[u8]),
) {
    let cfg = WireConfig::default();
    let mut gzip_seen = 0;
    for v in vectors::by_proto(set) {
        let msg = v.message();
        let mut out = BytesMut::from(&b"prefix"[..]);
        proto
            .encode(&msg, &cfg, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(&out[..6], b"prefix", "{}: appends", v.name);
        let mut out = out.split_off(6);
        if v.has_gzip() {
            // Another deflate encoder writes other, equally valid bytes: decode ours and
            // compare with what Go reads from its own frame.
            gzip_seen += 1;
            let back = decode_one(proto, &v, &mut out);
            assert_eq!(back, v.unpacked_message(), "{}", v.name);
            assert!(out.is_empty(), "{}", v.name);
        } else {
            frames_match(&v, &out);
        }
    }
    assert_eq!(gzip_seen, gzip, "gzip vectors");
}

/// The frame erpc-rs wrote is Go's, byte for byte.
pub fn same_bytes(v: &Vector, out: &[u8]) {
    assert_eq!(hex::encode(out), hex::encode(&v.frame), "{}", v.name);
}

/// The frames of `set`, one after the other, decode to the messages Go reads whatever the
/// size of the chunks they arrive in.
pub fn check_stream(proto: &dyn Protocol, set: &str) {
    let cfg = WireConfig::default();
    let vs = vectors::by_proto(set);
    let stream: Vec<u8> = vs.iter().flat_map(|v| v.frame.iter().copied()).collect();
    for chunk in [1, 2, 3, 5, 7, 13, 64, 333, 4096, stream.len()] {
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.put_slice(piece);
            while let Some(m) = proto.decode(&mut buf, &cfg).unwrap() {
                got.push(m);
            }
        }
        assert!(buf.is_empty(), "chunk {chunk}");
        let want: Vec<Message> = vs.iter().map(Vector::unpacked_message).collect();
        assert_eq!(got, want, "chunk {chunk}");
    }
}

/// The golden-vector tests of one protocol: `there_are_vectors`, `decode_gives_go_unpacked`,
/// `encode_gives_the_go_bytes` and `stream_of_all_frames_in_any_chunking`.
///
/// ```ignore
/// erpc_tests::proto_vector_tests! {
///     protocol: erpc_proto::proto::JsonProto,
///     vectors: "json",
///     count: 17,
///     gzip: 3,
///     // optional, how an encoded frame is compared with Go's (default: byte for byte)
///     frames_match: erpc_tests::proto_vectors::same_bytes,
/// }
/// ```
#[macro_export]
macro_rules! proto_vector_tests {
    (protocol: $proto:expr, vectors: $set:literal, count: $count:expr, gzip: $gzip:expr $(,)?) => {
        $crate::proto_vector_tests! {
            protocol: $proto,
            vectors: $set,
            count: $count,
            gzip: $gzip,
            frames_match: $crate::proto_vectors::same_bytes,
        }
    };
    (
        protocol: $proto:expr,
        vectors: $set:literal,
        count: $count:expr,
        gzip: $gzip:expr,
        frames_match: $frames_match:expr $(,)?
    ) => {
        #[test]
        fn there_are_vectors() {
            $crate::proto_vectors::check_count(&$proto, $set, $count);
        }

        #[test]
        fn decode_gives_go_unpacked() {
            $crate::proto_vectors::check_decode(&$proto, $set);
        }

        #[test]
        fn encode_gives_the_go_bytes() {
            $crate::proto_vectors::check_encode(&$proto, $set, $gzip, $frames_match);
        }

        #[test]
        fn stream_of_all_frames_in_any_chunking() {
            $crate::proto_vectors::check_stream(&$proto, $set);
        }
    };
}
