//! Thrift-generated types on the wire: TBinaryProtocol bytes as the protocol (and Go's
//! codec) defines them, the same bytes as erpc's serde thrift codec, a call through a real
//! session, and the committed generated code current with the IDL.

use erpc_example_thrift::{add, math, server};
use erpc_proto::codec::{CodecId, CodecRegistry, DecodeBody, EncodeBody, Thrift};
use erpc_runtime_tokio::{builder, PeerConfig};

/// `AddArgs { nums: [1, 2], note: "hi" }` in TBinaryProtocol, byte by byte.
const ADD_ARGS: &[u8] = &[
    0x0f, 0x00, 0x01, // field 1: list
    0x0a, 0x00, 0x00, 0x00, 0x02, // of 2 i64
    0, 0, 0, 0, 0, 0, 0, 1, // 1
    0, 0, 0, 0, 0, 0, 0, 2, // 2
    0x0b, 0x00, 0x02, // field 2: string
    0x00, 0x00, 0x00, 0x02, b'h', b'i', // "hi"
    0x00, // STOP
];

#[test]
fn tbinary_bytes_both_ways() {
    let codecs = CodecRegistry::default();
    let args = math::AddArgs::new(vec![1, 2], "hi".to_owned());
    let body = Thrift(args.clone())
        .encode_body(CodecId::THRIFT, &codecs)
        .unwrap();
    assert_eq!(&body[..], ADD_ARGS);
    let Thrift(back) =
        Thrift::<math::AddArgs>::decode_body(CodecId::THRIFT, body, &codecs).unwrap();
    assert_eq!(back, args);
    // Only the thrift codec carries it.
    let err = Thrift(args)
        .encode_body(CodecId::JSON, &codecs)
        .unwrap_err();
    assert!(err.to_string().contains("thrift codec"), "{err}");
}

#[test]
fn same_bytes_as_the_serde_thrift_codec() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct AddArgs {
        nums: Vec<i64>,
        note: Option<String>,
    }
    let codecs = CodecRegistry::default();
    let serde_body = AddArgs {
        nums: vec![1, 2],
        note: Some("hi".into()),
    }
    .encode_body(CodecId::THRIFT, &codecs)
    .unwrap();
    assert_eq!(&serde_body[..], ADD_ARGS);
}

#[test]
fn bad_bodies_are_errors() {
    let codecs = CodecRegistry::default();
    for bad in [&ADD_ARGS[..10], &[0xff, 0x00, 0x01][..], &[0x0f][..]] {
        let r = Thrift::<math::AddArgs>::decode_body(CodecId::THRIFT, bytes_of(bad), &codecs);
        assert!(r.is_err(), "{bad:?}");
    }
    // An empty body is the empty struct, which lacks the required `nums`.
    let r = Thrift::<math::AddArgs>::decode_body(CodecId::THRIFT, bytes_of(&[]), &codecs);
    assert!(r.is_err());
}

fn bytes_of(b: &[u8]) -> bytes::Bytes {
    bytes::Bytes::copy_from_slice(b)
}

#[tokio::test]
async fn generated_types_over_a_session() {
    let srv = server(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .unwrap();
    let addr = srv.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let session = client.dial(&addr).await.unwrap();
    let reply = add(&session, math::AddArgs::new(vec![1, 2, 3], "n".to_owned()))
        .await
        .unwrap();
    assert_eq!((reply.sum, reply.note.as_deref()), (6, Some("n")));
    let st = add(&session, math::AddArgs::new(vec![i64::MAX, 1], None))
        .await
        .unwrap_err();
    assert_eq!(st.code().0, 400);
    client.close().await;
    srv.close().await;
}

/// The committed `src/gen/math.rs` is what the Thrift compiler makes of the IDL today. Needs
/// `thrift` on PATH; CI (`CI=true`) installs it, elsewhere the check is skipped.
#[test]
fn generated_code_is_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = std::env::temp_dir().join(format!("erpc-thrift-gen-{}", std::process::id()));
    std::fs::create_dir_all(&out).unwrap();
    let run = std::process::Command::new("thrift")
        .args(["--gen", "rs", "-out"])
        .arg(&out)
        .arg(root.join("thrift/math.thrift"))
        .status();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match run {
        Err(e) if !in_ci => {
            println!("skipped: no thrift compiler ({e})");
            return;
        }
        r => assert!(r.expect("thrift compiler").success()),
    }
    let fresh = std::fs::read_to_string(out.join("math.rs")).unwrap();
    let committed = std::fs::read_to_string(root.join("src/gen/math.rs")).unwrap();
    let _ = std::fs::remove_dir_all(&out);
    assert!(
        fresh == committed,
        "src/gen/math.rs is stale: run `thrift --gen rs -out src/gen thrift/math.thrift`"
    );
}
