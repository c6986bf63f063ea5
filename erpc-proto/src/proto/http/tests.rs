//! Unit tests of httproto.

use bytes::{Bytes, BytesMut};

use super::decode::trim_space;
use super::url::parse_url;
use super::*;
use crate::status::Status;
use crate::xfer::XferPipe;
use crate::MessageType;

const README_CALL: &str =
    "POST /math/add HTTP/1.1\r\nAccept-Encoding: gzip\r\nAuthor: henrylee2cn\r\n\
    Content-Length: 11\r\nContent-Type: application/json;charset=utf-8\r\n\
    User-Agent: erpc-httproto/1.1\r\nX-Mtype: 1\r\nX-Seq: 1\r\n\r\n[1,2,3,4,5]";

fn readme_call() -> Message {
    let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
    msg.meta.add("author", "henrylee2cn");
    msg.body_codec = CodecId::JSON;
    msg.body = Bytes::from_static(b"[1,2,3,4,5]");
    msg
}

fn enc(msg: &Message) -> String {
    let mut b = BytesMut::new();
    HttpProto::new()
        .encode(msg, &WireConfig::default(), &mut b)
        .unwrap();
    String::from_utf8(b.to_vec()).unwrap()
}

fn dec(s: &[u8]) -> Result<Option<Message>, DecodeError> {
    HttpProto::new().decode(&mut BytesMut::from(s), &WireConfig::default())
}

#[test]
fn readme_call_and_replies() {
    assert_eq!(enc(&readme_call()), README_CALL);
    let m = dec(README_CALL.as_bytes()).unwrap().unwrap();
    assert_eq!(m.service_method, "/math/add");
    assert_eq!(m.seq, 1);
    assert_eq!(m.mtype, MessageType::CALL);
    assert_eq!(m.body_codec, CodecId::JSON);
    assert_eq!(
        m.meta.to_query_string(),
        "Accept-Encoding=gzip&Author=henrylee2cn&User-Agent=erpc-httproto%2F1.1"
    );
    let mut reply = Message::new(MessageType::REPLY, 1, "");
    reply.body_codec = CodecId::JSON;
    reply.body = Bytes::from_static(b"15");
    let text =
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json;charset=utf-8\r\n\
        X-Mtype: 2\r\nX-Seq: 1\r\n\r\n15";
    assert_eq!(enc(&reply), text);
    assert_eq!(dec(text.as_bytes()).unwrap().unwrap(), reply);
    reply.status = Status::new(1, "test error", Some("this is test:110"));
    let text = "HTTP/1.1 299 Business Error\r\nContent-Length: 56\r\nContent-Type: application/json\r\n\
        X-Mtype: 2\r\nX-Seq: 1\r\n\r\n{\"code\":1,\"msg\":\"test error\",\"cause\":\"this is test:110\"}";
    assert_eq!(enc(&reply), text);
    let back = dec(text.as_bytes()).unwrap().unwrap();
    assert_eq!(back.status, reply.status);
    assert!(back.body.is_empty());
    assert_eq!(back.body_codec, CodecId::JSON);
}

#[test]
fn body_and_meta_are_zero_copy() {
    let mut wire = BytesMut::from(README_CALL.as_bytes());
    let range = wire.as_ptr() as usize..wire.as_ptr() as usize + wire.len();
    let m = HttpProto::new()
        .decode(&mut wire, &WireConfig::default())
        .unwrap()
        .unwrap();
    assert!(range.contains(&(m.body.as_ptr() as usize)));
    assert!(range.contains(&(m.meta.peek("Author").unwrap().as_ptr() as usize)));
    assert!(range.contains(&(m.service_method.as_bytes().as_ptr() as usize)));
}

#[test]
fn push_is_unsupported() {
    let mut msg = readme_call();
    msg.mtype = MessageType::PUSH;
    let mut dst = BytesMut::new();
    match HttpProto::new().encode(&msg, &WireConfig::default(), &mut dst) {
        Err(EncodeError::Unsupported(t)) => assert_eq!(t, "unsupport message type: 3(PUSH)"),
        other => panic!("{other:?}"),
    }
    assert!(dst.is_empty());
}

#[test]
fn service_methods_and_meta_headers() {
    let mut msg = Message::new(
        MessageType::CALL,
        -5,
        "http://localhost:9090/home/test?peer_id=110",
    );
    msg.meta.add("x-real-ip", " 1.2.3.4\r\n");
    msg.meta.add("bad key", "dropped");
    msg.meta.add("user-agent", "overridden");
    msg.meta.add("dup", "1");
    msg.meta.add("dup", "2");
    msg.meta.add("X-Seq", "9");
    let text = enc(&msg);
    assert!(
        text.starts_with("POST /home/test?peer_id=110 HTTP/1.1\r\n"),
        "{text}"
    );
    assert!(text.contains("\r\nHost: localhost:9090\r\n"));
    assert!(text.contains("\r\nX-Real-Ip: 1.2.3.4\r\n"));
    assert!(text.contains("\r\nDup: 1\r\nDup: 2\r\n"));
    assert!(text.contains("\r\nX-Seq: -5\r\n"));
    assert!(!text.contains("X-Seq: 9"), "meta cannot hijack the seq");
    assert!(text.contains("\r\nUser-Agent: erpc-httproto/1.1\r\n"));
    assert!(text.contains("Content-Type: text/plain;charset=utf-8"));
    assert!(!text.contains("bad key"));
    let m = dec(text.as_bytes()).unwrap().unwrap();
    assert_eq!(m.service_method, "/home/test");
    assert_eq!(m.seq, -5);
    assert_eq!(m.meta.peek("peer_id"), Some(&b"110"[..]));
    assert_eq!(m.meta.peek("Dup"), Some(&b"2"[..]));
    assert_eq!(m.meta.peek("Host"), Some(&b"localhost:9090"[..]));
    assert_eq!(m.body_codec, CodecId::PLAIN);

    // Paths needing escapes are escaped; the same service method comes back.
    let msg = Message::new(MessageType::CALL, 1, "/a b/é?q=x y#frag");
    let text = enc(&msg);
    assert!(
        text.starts_with("POST /a%20b/%C3%A9?q=x%20y HTTP/1.1\r\n"),
        "{text}"
    );
    let m = dec(text.as_bytes()).unwrap().unwrap();
    assert_eq!(m.service_method, "/a b/é");
    assert_eq!(m.meta.peek("q"), Some(&b"x y"[..]));
    // Dotted RPC names and empty ones travel as they are.
    assert!(enc(&Message::new(MessageType::CALL, 1, "Hello.Say"))
        .starts_with("POST Hello.Say HTTP/1.1\r\n"));
    assert!(enc(&Message::new(MessageType::AUTH_CALL, 1, "")).starts_with("POST  HTTP/1.1\r\n"));
    let mut dst = BytesMut::new();
    for bad in ["/a%zz", "1a:b", ":x", "/a\u{1}"] {
        let msg = Message::new(MessageType::CALL, 1, bad);
        assert!(
            matches!(
                HttpProto::new().encode(&msg, &WireConfig::default(), &mut dst),
                Err(EncodeError::Unsupported(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn urls() {
    let p = |s: &str| parse_url(s.as_bytes());
    let u = p("/a?b=c").unwrap();
    assert_eq!((u.path, u.query, u.host), (0..2, Some(3..6), None));
    assert_eq!(p("/a?").unwrap().query, None);
    assert_eq!(p("/a??").unwrap().query, Some(3..4));
    assert_eq!(p("//h:1/x").unwrap().host, Some(2..5));
    assert_eq!(p("///x").unwrap().path, 0..4);
    assert_eq!(p("mailto:x?y").unwrap().path, 7..7);
    assert_eq!(p("http://u@h/p").unwrap().host, Some(9..10));
    assert!(p("http://h:x/").is_err());
    assert!(p("http://[::1/").is_err());
    assert!(p("http://h^/").is_err());
    assert!(p("1a:b").is_err());
    assert!(p("/x#%zz").is_err());
    assert!(p("/x#%41").is_ok());
}

#[test]
fn head_limits_and_errors() {
    let http = HttpProto::new()
        .with_max_headers(2)
        .with_max_header_line(64);
    let cfg = WireConfig::default();
    let many = b"POST / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert!(matches!(
        http.decode(&mut BytesMut::from(&many[..]), &cfg),
        Err(DecodeError::Malformed(_))
    ));
    let long = [b"POST /".as_slice(), &[b'a'; 100]].concat();
    assert!(matches!(
        http.decode(&mut BytesMut::from(&long[..]), &cfg),
        Err(DecodeError::Malformed(_))
    ));
    assert!(http
        .decode(&mut BytesMut::from(&long[..50]), &cfg)
        .unwrap()
        .is_none());
    let small = WireConfig::default().with_max_message_size(80);
    let mut b = BytesMut::from(&b"POST / HTTP/1.1\r\nContent-Length: 1000\r\n\r\nabc"[..]);
    assert!(matches!(
        http.decode(&mut b, &small),
        Err(DecodeError::FrameTooLarge { .. })
    ));
    for bad in [
        &b"POST /\r\n\r\n"[..],
        b"HTTP/1.1 404 Not Found\r\n\r\n",
        b"POST / HTTP/1.1\r\nNoColon\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
        b"POST / HTTP/1.1\r\nX-Seq: 1.5\r\n\r\n",
        b"POST / HTTP/1.1\r\nX-Content-Encoding: nope\r\n\r\n",
        b"POST /%zz HTTP/1.1\r\n\r\n",
        b"HTTP/1.1 299 Business Error\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 299 Business Error\r\nContent-Length: 12\r\n\r\n{\"code\":1.5}",
    ] {
        assert!(
            matches!(dec(bad), Err(DecodeError::Malformed(_))),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    assert!(matches!(
        dec(b"POST \xff HTTP/1.1\r\n\r\n"),
        Err(DecodeError::InvalidServiceMethod)
    ));
    // Partial frames wait and consume nothing.
    let mut b = BytesMut::from(&README_CALL.as_bytes()[..README_CALL.len() - 1]);
    assert!(HttpProto::new().decode(&mut b, &cfg).unwrap().is_none());
    assert_eq!(b.len(), README_CALL.len() - 1);
}

#[test]
fn lenient_reading_like_go() {
    // Bare LF line endings, Unicode trimming, sign in numbers, query meta then header set,
    // a method other than POST, leading CRLF (Go reads 5 bytes blindly).
    let m = dec(
        b"\r\nGET /x?Author=q&k=v HTTP/1.0\nX-Seq: +7\nAuthor:\xc2\xa0 me \t\nX-Mtype: 258\n\nrest",
    )
    .unwrap()
    .unwrap();
    assert_eq!(m.seq, 7);
    assert_eq!(m.mtype.0, 2);
    assert_eq!(m.service_method, "/x");
    assert_eq!(m.meta.to_query_string(), "Author=me&k=v");
    assert!(m.body.is_empty());
    assert_eq!(trim_space(b"\xe3\x80\x80a\xe2\x80\xaf"), (3, 4));
    assert_eq!(trim_space(b" \t "), (3, 3));
}

/// What Go's reader takes (the request line split on spaces, each header at its first `:`)
/// and an HTTP parser such as httparse refuses.
#[test]
fn accepts_what_go_accepts() {
    let m = dec(b"M{} /x anything goes\r\nX Custom : v\r\nK: a\x01b\r\n\r\n")
        .unwrap()
        .unwrap();
    assert_eq!(m.service_method, "/x");
    assert_eq!(m.meta.peek("X Custom "), Some(&b"v"[..]));
    assert_eq!(m.meta.peek("K"), Some(&b"a\x01b"[..]));
    let m = dec(b"HTTP/2 200 OK\r\nX-Seq: 3\r\n\r\n").unwrap().unwrap();
    assert_eq!(m.mtype, MessageType::REPLY);
    assert_eq!(m.seq, 3);
}

#[test]
fn gzip_filters() {
    let cfg = WireConfig::default();
    let mut msg = readme_call();
    msg.xfer_pipe = XferPipe::from_ids(b"g");
    let mut wire = BytesMut::new();
    HttpProto::new().encode(&msg, &cfg, &mut wire).unwrap();
    let text = String::from_utf8_lossy(&wire).into_owned();
    assert!(text.contains("\r\nContent-Encoding: gzip\r\n"));
    assert!(text.contains("\r\nX-Content-Encoding: gzip\r\n"));
    let back = HttpProto::new().decode(&mut wire, &cfg).unwrap().unwrap();
    assert_eq!(back.body, msg.body);
    assert_eq!(back.xfer_pipe, msg.xfer_pipe);
    msg.xfer_pipe = XferPipe::from_ids(b"m");
    let mut dst = BytesMut::new();
    match HttpProto::new().encode(&msg, &cfg, &mut dst) {
        Err(EncodeError::Unsupported(t)) => assert_eq!(t, "unsupport xfer filter: md5"),
        other => panic!("{other:?}"),
    }
    assert!(dst.is_empty());
}
