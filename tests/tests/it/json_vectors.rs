//! jsonproto against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes, and the whole stream
//! decodes incrementally whatever the chunking.

use bytes::BytesMut;
use erpc_proto::proto::{JsonProto, Protocol};
use erpc_proto::WireConfig;
use erpc_tests::vectors;

fn proto() -> JsonProto {
    JsonProto
}

erpc_tests::proto_vector_tests! {
    protocol: proto(),
    vectors: "json",
    count: 17,
    gzip: 3,
}

#[test]
fn bodies_go_cannot_carry_survive() {
    // Go's writer escapes only `"`; erpc-rs escapes `\` and control bytes too, which Go's
    // reader (gjson) undoes, so such bodies arrive intact.
    let cfg = WireConfig::default();
    let mut msg = vectors::named("json_call_string_body").message();
    msg.body = bytes::Bytes::from_static(b"\"a\\\"b\\n\"\x00\x1f\xff");
    let mut out = BytesMut::new();
    proto().encode(&msg, &cfg, &mut out).unwrap();
    let text = &out[5..];
    assert!(text.ends_with(br#""body":"\"a\\\"b\\n\"\u0000\u001f"#.iter().chain(b"\xff\"}").copied().collect::<Vec<_>>().as_slice()));
    assert_eq!(proto().decode(&mut out, &cfg).unwrap().unwrap(), msg);
}
