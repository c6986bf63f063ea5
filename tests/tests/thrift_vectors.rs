//! thriftproto (binary variant) against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes (THeader key/value pairs compared as a set), and the whole stream
//! decodes incrementally whatever the chunking.

use bytes::{BufMut, BytesMut};
use erpc_proto::proto::{Protocol, ThriftProto};
use erpc_proto::{Message, WireConfig};
use erpc_tests::vectors::{self, Vector};

fn proto() -> ThriftProto {
    ThriftProto::BINARY
}

fn vectors() -> Vec<Vector> {
    vectors::by_proto("thrift")
}

fn decode_one(v: &Vector, buf: &mut BytesMut, cfg: &WireConfig) -> Message {
    proto()
        .decode(buf, cfg)
        .unwrap_or_else(|e| panic!("{}: {e}", v.name))
        .unwrap_or_else(|| panic!("{}: incomplete", v.name))
}

#[test]
fn there_are_thrift_vectors() {
    assert_eq!(vectors().len(), 17);
    for v in vectors() {
        assert_eq!(v.proto_id, proto().id(), "{}", v.name);
    }
}

#[test]
fn decode_gives_go_unpacked() {
    let cfg = WireConfig::default();
    for v in vectors() {
        let mut buf = v.frame_buf();
        let got = decode_one(&v, &mut buf, &cfg);
        assert_eq!(got, v.unpacked_message(), "{}", v.name);
        assert!(buf.is_empty(), "{}: {} bytes left over", v.name, buf.len());
        for cut in 0..v.frame.len() {
            let mut part = BytesMut::from(&v.frame[..cut]);
            let r = proto().decode(&mut part, &cfg);
            assert!(matches!(r, Ok(None)), "{}: prefix {cut}: {r:?}", v.name);
            assert_eq!(part.len(), cut, "{}: prefix {cut} consumed", v.name);
        }
    }
}

#[test]
fn encode_gives_the_go_bytes() {
    let cfg = WireConfig::default();
    let mut gzip_seen = 0;
    for v in vectors() {
        let msg = v.message();
        let mut out = BytesMut::from(&b"prefix"[..]);
        proto()
            .encode(&msg, &cfg, &mut out)
            .unwrap_or_else(|e| panic!("{}: {e}", v.name));
        assert_eq!(&out[..6], b"prefix", "{}: appends", v.name);
        let mut out = out.split_off(6);
        if v.has_gzip() {
            // Another deflate encoder writes other, equally valid bytes: decode ours and
            // compare with what Go reads from its own frame.
            gzip_seen += 1;
            let back = decode_one(&v, &mut out, &cfg);
            assert_eq!(back, v.unpacked_message(), "{}", v.name);
            assert!(out.is_empty(), "{}", v.name);
        } else {
            // Go writes the THeader key/value pairs in hash-map order: compare them as a set.
            assert_eq!(normalize(&out), normalize(&v.frame), "{}", v.name);
            assert_eq!(out.len(), v.frame.len(), "{}", v.name);
        }
    }
    assert_eq!(gzip_seen, 3, "gzip vectors");
}

#[test]
fn stream_of_all_frames_in_any_chunking() {
    let cfg = WireConfig::default();
    let vs = vectors();
    let stream: Vec<u8> = vs.iter().flat_map(|v| v.frame.iter().copied()).collect();
    for chunk in [1, 2, 3, 5, 7, 13, 64, 333, 4096, stream.len()] {
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.put_slice(piece);
            while let Some(m) = proto().decode(&mut buf, &cfg).unwrap() {
                got.push(m);
            }
        }
        assert!(buf.is_empty(), "chunk {chunk}");
        let want: Vec<Message> = vs.iter().map(Vector::unpacked_message).collect();
        assert_eq!(got, want, "chunk {chunk}");
    }
}

/// A THeader frame with its key/value headers sorted: `(bytes before the header block,
/// protocol id and transform bytes, sorted pairs, bytes after the block)`.
type Normalized = (Vec<u8>, Vec<(Vec<u8>, Vec<u8>)>, Vec<u8>);

/// Splits a frame written by Go or by erpc-rs (binary protocol, no transforms, one key/value
/// block of one-byte varint lengths) into comparable parts.
fn normalize(frame: &[u8]) -> Normalized {
    let words = u16::from_be_bytes([frame[12], frame[13]]) as usize;
    let block = &frame[14..14 + 4 * words];
    assert_eq!(
        &block[..3],
        &[0, 0, 1],
        "binary protocol, no transform, key/value block"
    );
    let count = block[3] as usize;
    let mut pos = 4;
    let mut pairs = Vec::new();
    for _ in 0..count {
        let mut s = [Vec::new(), Vec::new()];
        for part in &mut s {
            let len = block[pos] as usize;
            assert!(len < 0x80, "one-byte varints in these vectors");
            *part = block[pos + 1..pos + 1 + len].to_vec();
            pos += 1 + len;
        }
        let [k, v] = s;
        pairs.push((k, v));
    }
    assert!(block[pos..].iter().all(|&b| b == 0), "zero padding");
    pairs.sort();
    (
        frame[..14].to_vec(),
        pairs,
        frame[14 + 4 * words..].to_vec(),
    )
}

#[test]
fn auth_types_cannot_travel() {
    // AUTH_CALL goes out as Thrift type 0, which Go (and erpc-rs) read back as PUSH.
    let cfg = WireConfig::default();
    let mut msg = vectors::named("raw_auth_call").message();
    let mut out = BytesMut::new();
    proto().encode(&msg, &cfg, &mut out).unwrap();
    assert_eq!(
        &out[out.len() - msg.body.len() - 16..][..4],
        &[0x80, 1, 0, 0]
    );
    let back = proto().decode(&mut out, &cfg).unwrap().unwrap();
    msg.mtype = erpc_proto::MessageType::PUSH;
    assert_eq!(back, msg);
}
