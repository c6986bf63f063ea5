//! thriftproto (binary variant) against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes (THeader key/value pairs compared as a set), and the whole stream
//! decodes incrementally whatever the chunking.

use bytes::BytesMut;
use erpc_proto::proto::{Protocol, ThriftProto};
use erpc_proto::WireConfig;
use erpc_tests::vectors::{self, Vector};

fn proto() -> ThriftProto {
    ThriftProto::BINARY
}

erpc_tests::proto_vector_tests! {
    protocol: proto(),
    vectors: "thrift",
    count: 17,
    gzip: 3,
    frames_match: same_but_header_order,
}

/// Go writes the THeader key/value pairs in hash-map order: compare them as a set.
fn same_but_header_order(v: &Vector, out: &[u8]) {
    assert_eq!(normalize(out), normalize(&v.frame), "{}", v.name);
    assert_eq!(out.len(), v.frame.len(), "{}", v.name);
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
