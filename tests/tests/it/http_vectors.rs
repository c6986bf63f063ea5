//! httproto against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes, and the whole stream
//! decodes incrementally whatever the chunking.

use bytes::BytesMut;
use erpc_proto::proto::{HttpProto, Protocol};
use erpc_proto::WireConfig;
use erpc_tests::vectors;

fn proto() -> HttpProto {
    HttpProto::new()
}

erpc_tests::proto_vector_tests! {
    protocol: proto(),
    vectors: "http",
    count: 16,
    gzip: 2,
}

#[test]
fn push_cannot_travel() {
    let cfg = WireConfig::default();
    let msg = vectors::named("json_push_status_plain").message();
    let mut out = BytesMut::new();
    match proto().encode(&msg, &cfg, &mut out) {
        Err(erpc_proto::EncodeError::Unsupported(text)) => {
            assert_eq!(text, "unsupport message type: 3(PUSH)")
        }
        other => panic!("{other:?}"),
    }
    assert!(out.is_empty());
}

#[test]
fn query_and_headers_become_meta() {
    // What a Go server sees: the query first, then every non-reserved header, canonicalised,
    // repeated keys collapsed to the last value.
    let v = vectors::named("http_call_long_service_method_query");
    let got = proto()
        .decode(&mut v.frame_buf(), &WireConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(got.service_method, v.go_unpacked.service_method.as_str());
    assert!(v
        .fields
        .service_method
        .ends_with("?foo=bar&baz=qux%20x&empty=&list=1&list=2"));
    assert_eq!(got.meta.peek("baz"), Some(&b"qux x"[..]));
    let v = vectors::named("http_call_meta_multi");
    let got = proto()
        .decode(&mut v.frame_buf(), &WireConfig::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        got.meta.peek_all("Tag").collect::<Vec<_>>(),
        vec![&b"b"[..]]
    );
}
