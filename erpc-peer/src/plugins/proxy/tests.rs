use super::*;

fn meta(pairs: &[(&str, &str)]) -> Meta {
    let mut m = Meta::new();
    for (k, v) in pairs {
        m.add(k, v);
    }
    m
}

#[test]
fn real_ip_is_the_callers_address_unless_a_proxy_set_it() {
    let l = label(
        "s1".into(),
        &meta(&[("a", "1")]),
        "/x/y",
        "127.0.0.1:5000".into(),
    );
    assert_eq!(l.real_ip, "127.0.0.1:5000");
    assert_eq!(l.session_id, "s1");
    assert_eq!(l.service_method, "/x/y");
    let m = meta(&[(REAL_IP_META_KEY, "10.1.2.3:77")]);
    let l = label("s1".into(), &m, "/x/y", "127.0.0.1:5000".into());
    assert_eq!(l.real_ip, "10.1.2.3:77");
    // An empty value counts as absent, as in Go.
    let m = meta(&[(REAL_IP_META_KEY, "")]);
    let l = label("s1".into(), &m, "/x/y", "127.0.0.1:5000".into());
    assert_eq!(l.real_ip, "127.0.0.1:5000");
}

#[test]
fn forwarded_message_keeps_meta_codec_and_bytes() {
    let m = meta(&[("k", "v1"), ("k", "v2"), ("X-Proxy-Check", "n0nce")]);
    let l = label("s".into(), &m, "/meta/echo?x=1", "127.0.0.1:5000".into());
    let body = Raw(bytes::Bytes::from_static(b"\x00\x01binary"));
    let msg = forwarded(MessageType::CALL, &l, &m, CodecId::PLAIN, body);
    assert_eq!(msg.mtype, MessageType::CALL);
    assert_eq!(&*msg.service_method.to_string(), "/meta/echo?x=1");
    assert_eq!(msg.body_codec, CodecId::PLAIN);
    assert_eq!(&msg.body[..], b"\x00\x01binary");
    let all: Vec<_> = msg.meta.peek_all("k").collect();
    assert_eq!(all, vec![&b"v1"[..], &b"v2"[..]]);
    assert_eq!(msg.meta.peek_str("X-Proxy-Check"), Some("n0nce"));
    assert_eq!(msg.meta.peek_str(REAL_IP_META_KEY), Some("127.0.0.1:5000"));

    // A caller's own X-Real-IP passes unchanged, once.
    let m = meta(&[(REAL_IP_META_KEY, "10.0.0.9:1")]);
    let l = label("s".into(), &m, "/p", "127.0.0.1:5000".into());
    let msg = forwarded(
        MessageType::PUSH,
        &l,
        &m,
        CodecId::JSON,
        Raw(Default::default()),
    );
    let all: Vec<_> = msg.meta.peek_all(REAL_IP_META_KEY).collect();
    assert_eq!(all, vec![&b"10.0.0.9:1"[..]]);
}

#[test]
fn connection_codes_become_bad_gateway_with_the_cause() {
    let st = gateway(Status::with_cause(
        Code::DIAL_FAILED,
        "dial tcp 127.0.0.1:1: connection refused",
    ));
    assert_eq!(st.code(), Code::BAD_GATEWAY);
    assert_eq!(st.raw_msg(), "Bad Gateway");
    assert_eq!(st.cause(), Some("dial tcp 127.0.0.1:1: connection refused"));
    let st = gateway(Status::from_code(Code::CONN_CLOSED));
    assert_eq!(st.to_query_string(), "code=502&msg=Bad%20Gateway&cause=");
    // Everything else passes through unchanged.
    for code in [404, 408, 500, 1001, 99, 200, -1] {
        let st = Status::new(code, "m", Some("c"));
        assert_eq!(gateway(st.clone()).to_query_string(), st.to_query_string());
    }
}

#[test]
fn reply_copies_meta_last_value_and_codec() {
    let mut up = Message::new(MessageType::REPLY, 3, "");
    up.meta = meta(&[("a", "1"), ("a", "2"), ("b", "x")]);
    up.body_codec = CodecId::JSON;
    up.body = bytes::Bytes::from_static(b"15");
    let r = ProxyReply::from_upstream(up);
    assert!(r.status().is_ok());
    assert_eq!(r.meta().peek_all("a").collect::<Vec<_>>(), vec![&b"2"[..]]);
    let reply = r.into_reply(CodecId::PLAIN, &CodecRegistry::default());
    assert_eq!(reply.body_codec, Some(CodecId::JSON));
    assert_eq!(reply.result.as_deref().ok(), Some(&b"15"[..]));
    assert_eq!(reply.meta.peek_str("b"), Some("x"));

    let mut up = Message::new(MessageType::REPLY, 3, "");
    up.status = Status::from_code(Code::NOT_FOUND);
    let reply = ProxyReply::from_upstream(up).into_reply(CodecId::JSON, &CodecRegistry::default());
    let st = reply.result.unwrap_err();
    assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");
}
