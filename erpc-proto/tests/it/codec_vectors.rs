//! Bodies written by Go eRPC (from `tests/vectors`): decode them, and encode the decoded value
//! back to the same bytes.
#![cfg(all(feature = "json", feature = "plain", feature = "protobuf"))]

use bytes::Bytes;
use erpc_proto::codec::{CodecId, CodecRegistry, DecodeBody, EncodeBody, Proto, Raw};
use serde::de::DeserializeOwned;
use serde::Serialize;

struct Vector {
    name: &'static str,
    codec: CodecId,
    body: Bytes,
}

fn vector(name: &'static str, json: &str) -> Vector {
    let v: serde_json::Value = serde_json::from_str(json).expect("vector JSON");
    let codec = CodecId(v["body_codec"]["id"].as_u64().expect("codec id") as u8);
    let body = match (v["body_utf8"].as_str(), v["body_hex"].as_str()) {
        (Some(text), _) => Bytes::from(text.to_owned()),
        (None, Some(hex)) => Bytes::from(hex::decode(hex).expect("hex body")),
        (None, None) => panic!("{name}: no body"),
    };
    assert_eq!(body.len() as u64, v["body_len"].as_u64().unwrap(), "{name}");
    Vector { name, codec, body }
}

macro_rules! vector {
    ($name:literal) => {
        vector(
            $name,
            include_str!(concat!("../../../tests/vectors/", $name, ".json")),
        )
    };
}

/// Decodes a Go body as `T`, checks the value and that encoding it again gives Go's bytes.
fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
    v: &Vector,
    expected: T,
) {
    let reg = CodecRegistry::default();
    let value =
        T::decode_body(v.codec, v.body.clone(), &reg).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    assert_eq!(value, expected, "{}", v.name);
    assert_eq!(
        value.encode_body(v.codec, &reg).unwrap(),
        v.body,
        "{}",
        v.name
    );
}

#[test]
fn json_bodies() {
    let call = vector!("raw_call_math_add");
    assert_eq!(call.codec, CodecId::JSON);
    round_trip(&call, vec![1, 2, 3, 4, 5]);
    round_trip(&vector!("json_call_math_add"), [1i64, 2, 3, 4, 5]);
    round_trip(&vector!("raw_reply_math_add"), 15);
    round_trip(&vector!("http_reply_math_add"), 15u8);
    round_trip(&vector!("raw_call_not_found"), vec![1]);
    round_trip(
        &vector!("json_call_string_body"),
        "héllo, 世界 🌍".to_owned(),
    );
    round_trip(
        &vector!("raw_push_status_json"),
        "this is a broadcast, server time: 2021-05-19 12:08:02.000000000 +0800 CST".to_owned(),
    );
    // The heartbeat pong is a nil reply: JSON `null`.
    round_trip(&vector!("raw_heartbeat_pong_reply"), ());
    round_trip(&vector!("raw_heartbeat_pong_reply"), None::<i32>);
}

#[test]
fn plain_bodies() {
    let push = vector!("raw_push_status_plain");
    assert_eq!(push.codec, CodecId::PLAIN);
    round_trip(
        &push,
        "this is a broadcast, server time: 2021-05-19 12:08:02.000000000 +0800 CST".to_owned(),
    );
    round_trip(
        &vector!("raw_push_status_plain_packed"),
        "hello from /push/status".to_owned(),
    );
    round_trip(&vector!("http_auth_call"), "henrylee2cn-token".to_owned());
    round_trip(&vector!("raw_auth_reply_pass"), "pass".to_owned());
    let gzip = vector!("raw_call_xfer_gzip_1k");
    assert!(gzip.body.len() >= 1000);
    round_trip(&gzip, String::from_utf8(gzip.body.to_vec()).unwrap());
}

#[test]
fn empty_bodies() {
    let reg = CodecRegistry::default();
    for v in [
        vector!("raw_call_empty_body"),
        vector!("raw_call_empty_body_no_codec"),
    ] {
        assert!(v.body.is_empty());
        assert_eq!(
            Vec::<i32>::decode_body(v.codec, v.body.clone(), &reg).unwrap(),
            Vec::<i32>::new()
        );
        assert_eq!(Raw::decode_body(v.codec, v.body, &reg).unwrap(), Raw::new());
    }
}

#[test]
fn raw_bodies_keep_go_bytes() {
    let reg = CodecRegistry::default();
    let v = vector!("raw_call_math_add");
    let raw = Raw::decode_body(v.codec, v.body.clone(), &reg).unwrap();
    assert_eq!(raw.encode_body(v.codec, &reg).unwrap(), v.body);
}

/// `examples/bench`'s `BenchmarkMessage` (proto2), fields in tag order as Go writes them.
#[derive(Clone, PartialEq, prost::Message)]
struct BenchmarkMessage {
    #[prost(string, tag = "1")]
    field1: String,
    #[prost(int32, tag = "2")]
    field2: i32,
    #[prost(int32, tag = "3")]
    field3: i32,
    #[prost(string, tag = "4")]
    field4: String,
    #[prost(fixed64, repeated, packed = "false", tag = "5")]
    field5: Vec<u64>,
    #[prost(int32, tag = "6")]
    field6: i32,
    #[prost(string, tag = "7")]
    field7: String,
    #[prost(string, tag = "9")]
    field9: String,
    #[prost(bool, tag = "12")]
    field12: bool,
    #[prost(bool, tag = "13")]
    field13: bool,
    #[prost(bool, tag = "14")]
    field14: bool,
    #[prost(int32, tag = "16")]
    field16: i32,
    #[prost(bool, tag = "17")]
    field17: bool,
    #[prost(string, tag = "18")]
    field18: String,
    #[prost(int64, tag = "22")]
    field22: i64,
    #[prost(int32, tag = "23")]
    field23: i32,
    #[prost(bool, tag = "24")]
    field24: bool,
    #[prost(int32, tag = "25")]
    field25: i32,
    #[prost(int32, tag = "29")]
    field29: i32,
    #[prost(bool, tag = "30")]
    field30: bool,
    #[prost(bool, tag = "59")]
    field59: bool,
    #[prost(int32, tag = "60")]
    field60: i32,
    #[prost(int32, tag = "67")]
    field67: i32,
    #[prost(int32, tag = "68")]
    field68: i32,
    #[prost(bool, tag = "78")]
    field78: bool,
    #[prost(bool, tag = "80")]
    field80: bool,
    #[prost(bool, tag = "81")]
    field81: bool,
    #[prost(int32, tag = "100")]
    field100: i32,
    #[prost(int32, tag = "101")]
    field101: i32,
    #[prost(string, tag = "102")]
    field102: String,
    #[prost(string, tag = "103")]
    field103: String,
    #[prost(int32, tag = "104")]
    field104: i32,
    #[prost(int32, tag = "128")]
    field128: i32,
    #[prost(string, tag = "129")]
    field129: String,
    #[prost(int32, tag = "130")]
    field130: i32,
    #[prost(int32, tag = "131")]
    field131: i32,
    #[prost(int32, tag = "150")]
    field150: i32,
    #[prost(int32, tag = "271")]
    field271: i32,
    #[prost(int32, tag = "272")]
    field272: i32,
    #[prost(int32, tag = "280")]
    field280: i32,
}

#[test]
fn protobuf_bench_messages() {
    let reg = CodecRegistry::default();
    const S: &str = "许多往事在眼前一幕一幕，变的那麼模糊";
    for (v, field1, field2) in [
        (vector!("raw_call_bench_protobuf"), S, 100_000),
        (vector!("pb_call_protobuf_body"), S, 100_000),
        (vector!("raw_reply_bench_protobuf"), "OK", 100),
    ] {
        assert_eq!(v.codec, CodecId::PROTOBUF);
        let Proto(msg) =
            Proto::<BenchmarkMessage>::decode_body(v.codec, v.body.clone(), &reg).unwrap();
        assert_eq!(msg.field1, field1, "{}", v.name);
        assert_eq!(msg.field2, field2, "{}", v.name);
        assert_eq!(
            (msg.field129.as_str(), msg.field280, msg.field81),
            (S, 100_000, true)
        );
        assert_eq!(
            Proto(msg).encode_body(v.codec, &reg).unwrap(),
            v.body,
            "{}",
            v.name
        );
    }
}

/// `json.Marshal` and `strconv.FormatFloat(v, 'f', -1, bits)` of Go 1.19.8 (the reference
/// version): `bits hex-of-value json plain`. 399,153 such lines (200,000 pseudo-random bit
/// patterns of each width plus edge cases) were compared during development; these are a
/// sample, with the tie `312985.125f32` that Go breaks to even.
const GO_FLOATS: &[&str] = &[
    "32 00000000 0 0",
    "32 368dcc74 0.000004225929 0.000004225929",
    "32 c7ef17d5 -122415.664 -122415.664",
    "32 e5906136 -8.522675e+22 -85226750000000000000000",
    "32 f8b2e63d -2.9028082e+34 -29028082000000000000000000000000000",
    "64 3e7ad7f29abcaf48 1e-7 0.0000001",
    "64 3e8421f5f40d8376 1.5e-7 0.00000015",
    "64 3eb0c6f784902b25 9.999999e-7 0.0000009999999",
    "64 3eb0c6f7a0b5ed8d 0.000001 0.000001",
    "64 40fe240c9fbe76c9 123456.789 123456.789",
    "64 41131a6480000000 312985.125 312985.125",
    "64 444b1ae4d6e2ef50 1e+21 1000000000000000000000",
    "64 4480f0cf064dd592 1e+22 10000000000000000000000",
    "32 4898d324 312985.12 312985.12",
    "64 cd0e824fc54f66a6 -1.568835856841357e+63 -1568835856841357000000000000000000000000000000000000000000000000",
    "64 4b4e4e12b14e8821 5.80527944617984e+54 5805279446179840000000000000000000000000000000000000000",
    "64 3c878dc58f9ec9cc 4.085932250853847e-17 0.00000000000000004085932250853847",
    "64 3ca40e4a768eb9bf 1.3916523292751833e-16 0.00000000000000013916523292751833",
    "64 c70a8b868ccd45a2 -1.7228704175831251e+34 -17228704175831251000000000000000000",
];

#[test]
fn floats_match_go() {
    let reg = CodecRegistry::default();
    for line in GO_FLOATS {
        let fields: Vec<&str> = line.split(' ').collect();
        let [bits, hex, json, plain] = fields[..] else {
            panic!("bad line {line}")
        };
        let (j, p) = if bits == "64" {
            let v = f64::from_bits(u64::from_str_radix(hex, 16).unwrap());
            (
                v.encode_body(CodecId::JSON, &reg).unwrap(),
                v.encode_body(CodecId::PLAIN, &reg).unwrap(),
            )
        } else {
            let v = f32::from_bits(u32::from_str_radix(hex, 16).unwrap());
            (
                v.encode_body(CodecId::JSON, &reg).unwrap(),
                v.encode_body(CodecId::PLAIN, &reg).unwrap(),
            )
        };
        assert_eq!(j, json.as_bytes(), "{line}");
        assert_eq!(p, plain.as_bytes(), "{line}");
    }
}
