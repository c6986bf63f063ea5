use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

fn codec() -> &'static dyn Codec {
    &ThriftCodec
}

fn enc<T: Serialize + ?Sized>(v: &T) -> Vec<u8> {
    codec().encode_value(v).unwrap().to_vec()
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
struct Empty {}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Simple {
    a: i32,
    b: String,
    c: bool,
}

#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
enum Color {
    Red,
    Green,
    Blue,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
enum Shape {
    Circle(f64),
    Rect { w: i32, h: i32 },
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Inner {
    name: String,
    tags: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Full {
    flag: bool,
    tiny: i8,
    small: i16,
    int: i32,
    big: i64,
    unsigned: u8,
    float: f64,
    text: String,
    inner: Inner,
    list: Vec<i64>,
    map: BTreeMap<String, i32>,
    maybe: Option<i32>,
    missing: Option<String>,
    color: Color,
    shape: Shape,
    nested: Vec<Vec<Inner>>,
    unit: (),
}

fn full() -> Full {
    Full {
        flag: true,
        tiny: -5,
        small: -300,
        int: 70000,
        big: -1 << 40,
        unsigned: 200,
        float: 2.5,
        text: "héllo".into(),
        inner: Inner {
            name: "in".into(),
            tags: vec!["x".into(), "y".into()],
        },
        list: vec![1, 2, 3],
        map: [("k".to_owned(), 1), ("j".to_owned(), 2)]
            .into_iter()
            .collect(),
        maybe: Some(7),
        missing: None,
        color: Color::Blue,
        shape: Shape::Rect { w: 3, h: 4 },
        nested: vec![
            vec![],
            vec![Inner {
                name: "n".into(),
                tags: vec![],
            }],
        ],
        unit: (),
    }
}

#[test]
fn empty_struct_is_stop() {
    assert_eq!(enc(&()), [0]);
    assert_eq!(enc(&Empty {}), [0]);
    assert_eq!(enc(&None::<Simple>), [0]);
    codec().decode_value::<Empty>(&[0]).unwrap();
    codec().decode_value::<()>(&[0]).unwrap();
}

#[test]
fn struct_bytes() {
    let bytes = enc(&Simple {
        a: 1,
        b: "hi".into(),
        c: true,
    });
    assert_eq!(
        hex::encode(&bytes),
        concat!(
            "08", "0001", "00000001", "0b", "0002", "00000002", "6869", "02", "0003", "01", "00"
        )
    );
    assert_eq!(
        codec().decode_value::<Simple>(&bytes).unwrap(),
        Simple {
            a: 1,
            b: "hi".into(),
            c: true
        }
    );
}

#[test]
fn collections_and_enums_bytes() {
    #[derive(Serialize)]
    struct S {
        l: Vec<i16>,
        m: BTreeMap<String, bool>,
        e: Vec<i32>,
        c: Color,
        s: Shape,
    }
    let bytes = enc(&S {
        l: vec![1, 2],
        m: [("a".to_owned(), true)].into_iter().collect(),
        e: vec![],
        c: Color::Green,
        s: Shape::Circle(1.0),
    });
    assert_eq!(
        hex::encode(bytes),
        concat!(
            "0f0001",
            "06",
            "00000002",
            "0001",
            "0002", // list<i16>
            "0d0002",
            "0b",
            "02",
            "00000001",
            "00000001",
            "61",
            "01", // map<string,bool>
            "0f0003",
            "08",
            "00000000", // empty list
            "080004",
            "00000001", // enum
            "0c0005",
            "040001",
            "3ff0000000000000",
            "00", // union
            "00"
        )
    );
}

#[test]
fn round_trip() {
    let bytes = enc(&full());
    assert_eq!(codec().decode_value::<Full>(&bytes).unwrap(), full());
}

#[test]
fn field_order_and_unknown_fields() {
    #[derive(Serialize)]
    struct V2 {
        a: i32,
        b: String,
        c: bool,
        extra: Vec<BTreeMap<i32, Inner>>,
        more: Inner,
    }
    let v2 = V2 {
        a: 9,
        b: "b".into(),
        c: false,
        extra: vec![[(
            1,
            Inner {
                name: "z".into(),
                tags: vec!["t".into()],
            },
        )]
        .into_iter()
        .collect()],
        more: Inner {
            name: "m".into(),
            tags: vec![],
        },
    };
    let bytes = enc(&v2);
    assert_eq!(
        codec().decode_value::<Simple>(&bytes).unwrap(),
        Simple {
            a: 9,
            b: "b".into(),
            c: false
        }
    );

    // Fields in any order, unknown ids (0, 99, negative) skipped.
    let wire = hex::decode(concat!(
        "020003", "01", // c
        "0b0063", "00000001", "7a", // id 99, skipped
        "08ffff", "00000005", // id -1, skipped
        "080000", "00000005", // id 0, skipped
        "0b0002", "00000001", "79", // b
        "080001", "0000002a", // a
        "00"
    ))
    .unwrap();
    assert_eq!(
        codec().decode_value::<Simple>(&wire).unwrap(),
        Simple {
            a: 42,
            b: "y".into(),
            c: true
        }
    );
}

#[test]
fn skipped_fields_keep_positions() {
    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct S {
        a: i32,
        #[serde(skip_serializing_if = "Option::is_none")]
        b: Option<i32>,
        c: i32,
    }
    let bytes = enc(&S {
        a: 1,
        b: None,
        c: 3,
    });
    assert_eq!(
        hex::encode(&bytes),
        concat!("080001", "00000001", "080003", "00000003", "00")
    );
    assert_eq!(
        codec().decode_value::<S>(&bytes).unwrap(),
        S {
            a: 1,
            b: None,
            c: 3
        }
    );
}

#[test]
fn go_bool_reads_one_as_true() {
    #[derive(Deserialize, Debug, PartialEq)]
    struct B {
        b: bool,
    }
    // Go's TBinaryProtocol: any byte but 1 is false.
    assert!(!codec().decode_value::<B>(&[BOOL, 0, 1, 2, STOP]).unwrap().b);
    assert!(codec().decode_value::<B>(&[BOOL, 0, 1, 1, STOP]).unwrap().b);
}

#[test]
fn refuses_non_structs() {
    for err in [
        codec().encode_value(&5i32).unwrap_err(),
        codec().encode_value(&"s").unwrap_err(),
        codec().encode_value(&vec![1]).unwrap_err(),
        codec().encode_value(&Color::Red).unwrap_err(),
    ] {
        assert!(matches!(err, CodecError::Unsupported { .. }), "{err}");
        assert!(err.to_string().ends_with("is not a Thrift struct"), "{err}");
    }
    assert!(codec().encode_value(&(1, "x")).is_err());
}

#[test]
fn refuses_mixed_and_null_elements() {
    #[derive(Serialize)]
    struct L {
        l: Vec<Option<i32>>,
    }
    assert!(codec()
        .encode_value(&L {
            l: vec![Some(1), None]
        })
        .is_err());
    #[derive(Serialize)]
    struct T {
        t: (i32, String),
    }
    assert!(codec().encode_value(&T { t: (1, "x".into()) }).is_err());
    #[derive(Serialize)]
    struct U {
        u: u64,
    }
    assert!(codec().encode_value(&U { u: u64::MAX }).is_err());
}

#[test]
fn malformed_input_never_panics() {
    let bytes = enc(&full());
    for cut in 0..bytes.len() {
        assert!(
            codec().decode_value::<Full>(&bytes[..cut]).is_err(),
            "prefix {cut}"
        );
        let _ = codec().decode_value::<serde::de::IgnoredAny>(&bytes[..cut]);
        let _ = codec().decode_value::<BTreeMap<i16, serde::de::IgnoredAny>>(&bytes[..cut]);
    }
    // Flip each byte.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0xff;
        let _ = codec().decode_value::<Full>(&b);
    }
}

#[test]
fn trailing_bytes_are_refused() {
    assert!(codec().decode_value::<Empty>(&[0, 0]).is_err());
}

#[test]
fn hostile_sizes_and_depth() {
    // A list announcing 2^31-1 elements.
    let huge = hex::decode("0f00010a7fffffff00").unwrap();
    let err = codec()
        .decode_value::<serde::de::IgnoredAny>(&huge)
        .unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
    // Negative string length.
    assert!(codec()
        .decode_value::<serde::de::IgnoredAny>(&hex::decode("0b0001ffffffff00").unwrap())
        .is_err());
    // Invalid type.
    assert!(codec()
        .decode_value::<serde::de::IgnoredAny>(&hex::decode("070001").unwrap())
        .is_err());
    // Nesting far deeper than the limit, both skipped and visited.
    let mut deep = Vec::new();
    for _ in 0..10_000 {
        deep.extend_from_slice(&[STRUCT, 0, 1]);
    }
    deep.extend(std::iter::repeat_n(STOP, 10_001));
    let err = codec().decode_value::<Empty>(&deep).unwrap_err();
    assert!(err.to_string().contains("nesting"), "{err}");
    let err = codec()
        .decode_value::<BTreeMap<i16, serde::de::IgnoredAny>>(&deep)
        .unwrap_err();
    assert!(err.to_string().contains("nesting"), "{err}");
    let mut lists = Vec::new();
    lists.extend_from_slice(&[LIST, 0, 1]);
    for _ in 0..10_000 {
        lists.extend_from_slice(&[LIST, 0, 0, 0, 1]);
    }
    assert!(codec().decode_value::<Empty>(&lists).is_err());
}

#[test]
fn type_mismatch_is_an_error() {
    let bytes = enc(&Simple {
        a: 1,
        b: "hi".into(),
        c: true,
    });
    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct Wrong {
        a: String,
    }
    let err = codec().decode_value::<Wrong>(&bytes).unwrap_err();
    assert!(
        err.to_string()
            .contains("expected a string, found Thrift I32"),
        "{err}"
    );
}
