//! Typed bodies: the codec chosen by id, the empty-body rule, raw and protobuf bodies.
#![cfg(all(
    feature = "json",
    feature = "protobuf",
    feature = "thrift",
    feature = "xml",
    feature = "form",
    feature = "plain"
))]

use std::collections::BTreeMap;

use bytes::Bytes;
use erpc_proto::codec::{CodecError, CodecId, CodecRegistry, DecodeBody, EncodeBody, Proto, Raw};
use serde::{Deserialize, Serialize};

const ALL: [CodecId; 6] = [
    CodecId::JSON,
    CodecId::PROTOBUF,
    CodecId::THRIFT,
    CodecId::XML,
    CodecId::FORM,
    CodecId::PLAIN,
];

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
#[serde(rename_all = "PascalCase")]
struct Args {
    a: i32,
    b: i32,
}

#[derive(Deserialize, Debug, PartialEq)]
struct Optional {
    #[serde(default)]
    n: i64,
    s: Option<String>,
    #[serde(default)]
    v: Vec<u8>,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
enum Kind {
    A,
}

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct NeedsKind {
    kind: Kind,
}

#[test]
fn codec_is_chosen_by_id() {
    let reg = CodecRegistry::default();
    let args = Args { a: 10, b: 2 };
    assert_eq!(
        args.encode_body(CodecId::JSON, &reg).unwrap(),
        &br#"{"A":10,"B":2}"#[..]
    );
    assert_eq!(
        args.encode_body(CodecId::XML, &reg).unwrap(),
        &b"<Args><A>10</A><B>2</B></Args>"[..]
    );
    assert_eq!(
        args.encode_body(CodecId::FORM, &reg).unwrap(),
        &b"A=10&B=2"[..]
    );
    assert_eq!(
        args.encode_body(CodecId::THRIFT, &reg).unwrap(),
        &b"\x08\x00\x01\x00\x00\x00\x0a\x08\x00\x02\x00\x00\x00\x02\x00"[..]
    );
    assert!(matches!(
        args.encode_body(CodecId::PLAIN, &reg),
        Err(CodecError::Encode { .. })
    ));
    assert!(matches!(
        args.encode_body(CodecId::PROTOBUF, &reg),
        Err(CodecError::Unsupported { .. })
    ));
    for id in [CodecId::JSON, CodecId::XML, CodecId::FORM, CodecId::THRIFT] {
        let body = args.encode_body(id, &reg).unwrap();
        assert_eq!(Args::decode_body(id, body, &reg).unwrap(), args, "{id:?}");
    }
    // Unsized values work too.
    assert_eq!(
        "text".encode_body(CodecId::PLAIN, &reg).unwrap(),
        &b"text"[..]
    );
    assert_eq!(
        [1, 2][..].encode_body(CodecId::JSON, &reg).unwrap(),
        &b"[1,2]"[..]
    );
}

#[test]
fn id_zero_and_unknown_ids() {
    let reg = CodecRegistry::default();
    assert_eq!(
        5.encode_body(CodecId::NONE, &reg).unwrap_err(),
        CodecError::NoCodec
    );
    assert_eq!(
        5.encode_body(CodecId(b'q'), &reg).unwrap_err(),
        CodecError::UnknownCodec(CodecId(b'q'))
    );
    assert_eq!(
        i32::decode_body(CodecId::NONE, Bytes::from_static(b"5"), &reg).unwrap_err(),
        CodecError::NoCodec
    );
    assert_eq!(
        i32::decode_body(CodecId(b'q'), Bytes::from_static(b"5"), &reg).unwrap_err(),
        CodecError::UnknownCodec(CodecId(b'q'))
    );
}

#[test]
fn empty_body_is_never_decoded() {
    let reg = CodecRegistry::default();
    for id in ALL.into_iter().chain([CodecId::NONE, CodecId(b'q')]) {
        let empty = Bytes::new();
        assert_eq!(i32::decode_body(id, empty.clone(), &reg).unwrap(), 0);
        assert_eq!(f64::decode_body(id, empty.clone(), &reg).unwrap(), 0.0);
        assert!(!bool::decode_body(id, empty.clone(), &reg).unwrap());
        assert_eq!(String::decode_body(id, empty.clone(), &reg).unwrap(), "");
        assert_eq!(
            Vec::<Args>::decode_body(id, empty.clone(), &reg).unwrap(),
            []
        );
        assert!(
            BTreeMap::<String, i32>::decode_body(id, empty.clone(), &reg)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            Option::<Args>::decode_body(id, empty.clone(), &reg).unwrap(),
            None
        );
        <()>::decode_body(id, empty.clone(), &reg).unwrap();
        assert_eq!(
            Args::decode_body(id, empty.clone(), &reg).unwrap(),
            Args::default()
        );
        assert_eq!(
            Optional::decode_body(id, empty.clone(), &reg).unwrap(),
            Optional {
                n: 0,
                s: None,
                v: vec![]
            }
        );
        assert_eq!(
            serde_json::Value::decode_body(id, empty.clone(), &reg).unwrap(),
            serde_json::Value::Null
        );
        let err = NeedsKind::decode_body(id, empty.clone(), &reg).unwrap_err();
        assert!(matches!(err, CodecError::Decode { .. }), "{err}");
        assert!(err.to_string().contains("empty body"), "{err}");
        assert_eq!(
            Raw::decode_body(id, empty.clone(), &reg).unwrap(),
            Raw::new()
        );
        assert_eq!(
            Proto::<Hello>::decode_body(id, empty, &reg).unwrap(),
            Proto(Hello::default())
        );
    }
}

#[test]
fn null_and_empty_are_different() {
    let reg = CodecRegistry::default();
    assert_eq!(().encode_body(CodecId::JSON, &reg).unwrap(), &b"null"[..]);
    assert_eq!(
        None::<Args>.encode_body(CodecId::JSON, &reg).unwrap(),
        &b"null"[..]
    );
    // Go's nil for the other codecs is an empty body (thrift: an empty struct).
    assert!(().encode_body(CodecId::PLAIN, &reg).unwrap().is_empty());
    assert!(().encode_body(CodecId::XML, &reg).unwrap().is_empty());
    assert!(().encode_body(CodecId::FORM, &reg).unwrap().is_empty());
    assert!(().encode_body(CodecId::PROTOBUF, &reg).unwrap().is_empty());
    assert_eq!(().encode_body(CodecId::THRIFT, &reg).unwrap(), &b"\0"[..]);
    // `null` decodes as JSON null.
    assert_eq!(
        Option::<i32>::decode_body(CodecId::JSON, Bytes::from_static(b"null"), &reg).unwrap(),
        None
    );
    assert!(i32::decode_body(CodecId::JSON, Bytes::from_static(b"null"), &reg).is_err());
}

#[test]
fn raw_bypasses_the_codec() {
    let reg = CodecRegistry::default();
    let raw = Raw::from(Bytes::from_static(b"\xff not json"));
    for id in ALL.into_iter().chain([CodecId::NONE, CodecId(b'q')]) {
        assert_eq!(raw.encode_body(id, &reg).unwrap(), raw.0);
        let back = Raw::decode_body(id, raw.0.clone(), &reg).unwrap();
        assert_eq!(back, raw);
        // Zero copy: the same allocation comes back.
        assert_eq!(back.as_ptr(), raw.as_ptr());
    }
    assert_eq!(Raw::from(vec![1u8, 2]).len(), 2);
    assert_eq!(Raw::from("abc"), Raw::from_static(b"abc"));
    assert_eq!(Raw::from(&b"abc"[..]), b"abc"[..]);
    assert_eq!(
        Raw::from(String::from("x")).into_inner(),
        Bytes::from_static(b"x")
    );
    assert_eq!(Bytes::from(Raw::from(b"yz")), Bytes::from_static(b"yz"));
    assert_eq!(
        reg.encode(CodecId::JSON, &Raw::from("[1]")).unwrap(),
        &b"[1]"[..]
    );
    assert_eq!(
        reg.decode::<Raw>(CodecId::JSON, Bytes::from_static(b"[1]"))
            .unwrap(),
        b"[1]"[..]
    );
}

#[derive(Clone, PartialEq, prost::Message)]
struct Hello {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int32, tag = "2")]
    n: i32,
}

#[test]
fn protobuf_messages() {
    let reg = CodecRegistry::default();
    let msg = Proto(Hello {
        name: "a".into(),
        n: 150,
    });
    let body = msg.encode_body(CodecId::PROTOBUF, &reg).unwrap();
    assert_eq!(body, &b"\x0a\x01a\x10\x96\x01"[..]);
    assert_eq!(
        Proto::<Hello>::decode_body(CodecId::PROTOBUF, body.clone(), &reg).unwrap(),
        msg
    );
    // The default message is the empty body.
    assert!(Proto(Hello::default())
        .encode_body(CodecId::PROTOBUF, &reg)
        .unwrap()
        .is_empty());

    // Other codecs cannot carry it.
    let err = msg.encode_body(CodecId::JSON, &reg).unwrap_err();
    assert!(
        matches!(err, CodecError::Unsupported { ref codec, .. } if codec == "json"),
        "{err}"
    );
    assert!(matches!(
        Proto::<Hello>::decode_body(CodecId::JSON, body.clone(), &reg),
        Err(CodecError::Unsupported { .. })
    ));
    assert_eq!(
        msg.encode_body(CodecId::NONE, &reg).unwrap_err(),
        CodecError::NoCodec
    );
    let no_pb = CodecRegistry::empty();
    assert_eq!(
        msg.encode_body(CodecId::PROTOBUF, &no_pb).unwrap_err(),
        CodecError::UnknownCodec(CodecId::PROTOBUF)
    );
    // Corrupt input is an error.
    assert!(matches!(
        Proto::<Hello>::decode_body(CodecId::PROTOBUF, Bytes::from_static(b"\x0a\x05a"), &reg),
        Err(CodecError::Decode { .. })
    ));
    // Deref, From.
    let p: Proto<Hello> = Hello::default().into();
    assert_eq!(p.n, 0);
    assert_eq!(p.into_inner(), Hello::default());
}
