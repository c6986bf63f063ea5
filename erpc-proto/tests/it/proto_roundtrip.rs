//! Property tests for jsonproto, pbproto, thriftproto (both variants) and httproto: every
//! message a protocol can represent survives encode → decode, and a stream of frames decodes
//! to the same messages however it is cut into chunks.

use bytes::{BufMut, Bytes, BytesMut};
use erpc_proto::proto::{HttpProto, JsonProto, PbProto, Protocol, ThriftProto};
use erpc_proto::{
    CodecId, Message, MessageType, Meta, ServiceMethod, Status, WireConfig, XferPipe,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

fn status() -> impl Strategy<Value = Status> {
    prop_oneof![
        Just(Status::OK),
        (any::<i32>(), ".{0,12}", proptest::option::of(".{0,12}"))
            .prop_map(|(code, msg, cause)| Status::new(code, msg, cause)),
    ]
}

/// Meta pairs as every query-string protocol carries them (a pair with an empty key and value
/// is not representable: Go skips it).
fn meta() -> impl Strategy<Value = Meta> {
    proptest::collection::vec(
        (
            proptest::collection::vec(any::<u8>(), 0..6),
            proptest::collection::vec(any::<u8>(), 0..8),
        ),
        0..5,
    )
    .prop_map(|pairs| {
        pairs
            .into_iter()
            .filter(|(k, v)| !k.is_empty() || !v.is_empty())
            .collect()
    })
}

/// Filter pipes of the default registry (gzip `g`, md5 `m`).
fn pipe() -> impl Strategy<Value = XferPipe> {
    prop_oneof![
        4 => Just(XferPipe::new()),
        1 => Just(XferPipe::from_ids(b"g")),
        1 => Just(XferPipe::from_ids(b"m")),
        1 => Just(XferPipe::from_ids(b"gm")),
        1 => Just(XferPipe::from_ids(b"mg")),
    ]
}

fn body() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from)
}

/// Any message, with the given message types.
fn message(mtypes: &'static [u8]) -> impl Strategy<Value = Message> {
    (
        any::<i32>(),
        proptest::sample::select(mtypes),
        ".{0,20}",
        status(),
        meta(),
        any::<u8>(),
        body(),
        pipe(),
    )
        .prop_map(|(seq, mtype, sm, status, meta, codec, body, xfer_pipe)| {
            let mut m = Message::new(MessageType(mtype), seq, ServiceMethod::from(sm));
            m.status = status;
            m.meta = meta;
            m.body_codec = CodecId(codec);
            m.body = body;
            m.xfer_pipe = xfer_pipe;
            m
        })
}

/// A TBinaryProtocol struct of a few fields (i32, string, nested struct, list of i64).
fn thrift_struct() -> impl Strategy<Value = Vec<u8>> {
    let leaf = proptest::collection::vec((any::<i16>(), any::<i32>(), ".{0,6}"), 0..3).prop_map(
        |fields| {
            let mut out = Vec::new();
            for (id, n, s) in fields {
                out.push(8);
                out.put_i16(id);
                out.put_i32(n);
                out.push(11);
                out.put_i16(id.wrapping_add(1));
                out.put_i32(s.len() as i32);
                out.extend_from_slice(s.as_bytes());
            }
            out.push(0);
            out
        },
    );
    (
        leaf.clone(),
        leaf,
        proptest::collection::vec(any::<i64>(), 0..4),
    )
        .prop_map(|(a, b, list)| {
            let mut out = Vec::new();
            out.push(12);
            out.put_i16(1);
            out.extend_from_slice(&a);
            out.push(15);
            out.put_i16(2);
            out.push(10);
            out.put_i32(list.len() as i32);
            for v in list {
                out.put_i64(v);
            }
            // The inner struct's fields, then STOP, make the outer struct end.
            out.extend_from_slice(&b);
            out
        })
}

/// An HTTP-token meta key in canonical form that httproto does not reserve.
fn http_key() -> impl Strategy<Value = String> {
    "[A-Z][a-z0-9]{0,5}(-[A-Z][a-z0-9]{0,4}){0,2}".prop_filter("reserved header", |k| {
        ![
            "Content-Type",
            "Content-Length",
            "Content-Encoding",
            "X-Content-Encoding",
            "X-Seq",
            "X-Mtype",
            "User-Agent",
            "Accept-Encoding",
            "Host",
        ]
        .contains(&k.as_str())
    })
}

/// A message httproto carries unchanged (apart from the headers it adds to meta): CALL-like
/// with a plain path and OK status, or REPLY-like without a service method; distinct canonical
/// meta keys with values that have no line breaks and no surrounding white space; a codec of
/// the Content-Type table; at most a gzip filter.
fn http_message() -> impl Strategy<Value = Message> {
    let request = (
        proptest::sample::select(&[1u8, 4][..]),
        "(/[A-Za-z0-9_.~-]{1,8}){0,3}",
        Just(Status::OK),
    );
    let reply = (
        proptest::sample::select(&[2u8, 5][..]),
        Just(String::new()),
        prop_oneof![
            Just(Status::OK),
            (
                any::<i32>().prop_filter("error", |c| *c != 0),
                ".{0,12}",
                proptest::option::of(".{1,12}")
            )
                .prop_map(|(code, msg, cause)| Status::new(code, msg, cause)),
        ],
    );
    (
        any::<i32>(),
        prop_oneof![request, reply],
        proptest::collection::btree_map(http_key(), "([!-~]([ -~]{0,10}[!-~])?)?", 0..5),
        proptest::sample::select(&[b'j', b'p', b'f', b's', b'x'][..]),
        body(),
        prop_oneof![3 => Just(XferPipe::new()), 1 => Just(XferPipe::from_ids(b"g"))],
    )
        .prop_map(|(seq, (mtype, sm, status), meta, codec, body, xfer_pipe)| {
            let mut m = Message::new(MessageType(mtype), seq, ServiceMethod::from(sm));
            m.status = status;
            m.meta = meta.into_iter().collect();
            m.body_codec = CodecId(codec);
            m.body = body;
            m.xfer_pipe = xfer_pipe;
            m
        })
}

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

/// Encodes every message into one stream, then decodes it fed in chunks cut at `cuts`, and
/// compares with `expected`.
fn stream_roundtrip(
    p: &dyn Protocol,
    msgs: &[Message],
    expected: &[Message],
    cuts: &[usize],
) -> Result<(), TestCaseError> {
    let cfg = WireConfig::default();
    let mut stream = BytesMut::new();
    for m in msgs {
        let before = stream.len();
        p.encode(m, &cfg, &mut stream)
            .map_err(|e| TestCaseError::fail(format!("{m:?}: {e}")))?;
        prop_assert!(stream.len() > before);
    }
    // Whole stream at once.
    let mut whole = stream.clone();
    let mut got = Vec::new();
    while let Some(m) = p
        .decode(&mut whole, &cfg)
        .map_err(|e| TestCaseError::fail(e.to_string()))?
    {
        got.push(m);
    }
    prop_assert!(whole.is_empty());
    prop_assert_eq!(&got, expected);
    // In chunks.
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.push(stream.len());
    points.sort_unstable();
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    let mut at = 0;
    for p_end in points {
        buf.put_slice(&stream[at..p_end]);
        at = p_end;
        loop {
            let before = buf.len();
            match p
                .decode(&mut buf, &cfg)
                .map_err(|e| TestCaseError::fail(e.to_string()))?
            {
                Some(m) => got.push(m),
                None => {
                    prop_assert_eq!(buf.len(), before, "a partial frame is not consumed");
                    break;
                }
            }
        }
    }
    prop_assert!(buf.is_empty());
    prop_assert_eq!(&got, expected);
    Ok(())
}

fn cuts() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(any::<usize>(), 0..12)
}

fn msgs(s: impl Strategy<Value = Message>) -> impl Strategy<Value = Vec<Message>> {
    proptest::collection::vec(s, 1..5)
}

/// What httproto's decoder gives for a message of [`http_message`].
fn http_expected(m: &Message) -> Message {
    let mut e = m.clone();
    let request = m.mtype == MessageType::CALL || m.mtype == MessageType::AUTH_CALL;
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = m
        .meta
        .iter()
        .map(|(k, v)| (k.to_vec(), v.to_vec()))
        .collect();
    if request {
        pairs.push((b"Accept-Encoding".to_vec(), b"gzip".to_vec()));
        pairs.push((b"User-Agent".to_vec(), b"erpc-httproto/1.1".to_vec()));
    }
    if !m.xfer_pipe.is_empty() {
        pairs.push((b"Content-Encoding".to_vec(), b"gzip".to_vec()));
    }
    pairs.sort();
    e.meta = pairs.into_iter().collect();
    if !request && !m.status.is_ok() {
        e.body = Bytes::new();
        e.body_codec = CodecId::JSON;
        if m.status.cause() == Some("") {
            e.status.set_cause(None::<&str>);
        }
    }
    e
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn json_roundtrip(m in msgs(message(&[0, 1, 2, 3, 4, 5, 6, 255])), c in cuts()) {
        stream_roundtrip(&JsonProto, &m, &m, &c)?;
    }

    #[test]
    fn pb_roundtrip(m in msgs(message(&[0, 1, 2, 3, 4, 5, 6, 255])), c in cuts()) {
        stream_roundtrip(&PbProto, &m, &m, &c)?;
    }

    #[test]
    fn thrift_binary_roundtrip(m in msgs(message(&[1, 2, 3])), c in cuts()) {
        stream_roundtrip(&ThriftProto::BINARY, &m, &m, &c)?;
    }

    #[test]
    fn thrift_struct_roundtrip(
        m in msgs((message(&[1, 2, 3]), thrift_struct()).prop_map(|(mut m, body)| {
            m.body = Bytes::from(body);
            m.body_codec = CodecId::THRIFT;
            m.xfer_pipe = XferPipe::new();
            m
        })),
        c in cuts(),
    ) {
        stream_roundtrip(&ThriftProto::STRUCT, &m, &m, &c)?;
    }

    #[test]
    fn http_roundtrip(m in msgs(http_message()), c in cuts()) {
        let expected: Vec<Message> = m.iter().map(http_expected).collect();
        stream_roundtrip(&HttpProto::new(), &m, &expected, &c)?;
    }

    #[test]
    fn decoders_never_panic_on_garbage(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let cfg = WireConfig::default().with_max_message_size(1 << 16);
        let protos: [&dyn Protocol; 5] =
            [&JsonProto, &PbProto, &ThriftProto::BINARY, &ThriftProto::STRUCT, &HttpProto::new()];
        for p in protos {
            let mut buf = BytesMut::from(&data[..]);
            while let Ok(Some(_)) = p.decode(&mut buf, &cfg) {}
        }
    }
}

#[test]
fn thrift_struct_empty_body_is_the_empty_struct() {
    let cfg = WireConfig::default();
    let mut m = Message::new(MessageType::REPLY, 9, "");
    m.status = Status::from_code(erpc_proto::Code::NOT_FOUND);
    let mut wire = BytesMut::new();
    ThriftProto::STRUCT.encode(&m, &cfg, &mut wire).unwrap();
    let back = ThriftProto::STRUCT
        .decode(&mut wire, &cfg)
        .unwrap()
        .unwrap();
    assert_eq!(&back.body[..], &[0]);
    assert_eq!(back.status, m.status);
}
