//! httproto against the Go eRPC golden vectors: every frame decodes to what Go's `Unpack()`
//! reads back, encoding the packed fields gives Go's bytes, and the whole stream
//! decodes incrementally whatever the chunking.

use bytes::{BufMut, BytesMut};
use erpc_proto::proto::{HttpProto, Protocol};
use erpc_proto::{Message, WireConfig};
use erpc_tests::vectors::{self, Vector};

fn proto() -> HttpProto {
    HttpProto::new()
}

fn vectors() -> Vec<Vector> {
    vectors::by_proto("http")
}

fn decode_one(v: &Vector, buf: &mut BytesMut, cfg: &WireConfig) -> Message {
    proto()
        .decode(buf, cfg)
        .unwrap_or_else(|e| panic!("{}: {e}", v.name))
        .unwrap_or_else(|| panic!("{}: incomplete", v.name))
}

#[test]
fn there_are_http_vectors() {
    assert_eq!(vectors().len(), 16);
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
            assert_eq!(hex::encode(&out), hex::encode(&v.frame), "{}", v.name);
        }
    }
    assert_eq!(gzip_seen, 2, "gzip vectors");
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
