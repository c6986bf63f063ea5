//! Go's ready-made plugins (`erpc_proto::plugins`) and the per-call [`Swap`] in real
//! sessions, over the deterministic pair.
#![cfg(all(feature = "testing", feature = "secure"))]

use std::sync::Arc;

use bytes::Bytes;
use erpc_proto::plugin::{MessageCtx, Plugin, Plugins};
use erpc_proto::plugins::secure::{Secure, DEFAULT_CODE, SECURE_META_KEY};
use erpc_proto::plugins::IgnoreCase;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{CallOptions, Event, Reply, SessionConfig};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{CodecId, Message, MessageType, Meta, Status};

const KEY: &[u8] = b"0123456789abcdef";

/// Keeps the service method of each call in the swap and writes it into the reply's meta.
#[derive(Debug)]
struct Remember;

impl Plugin for Remember {
    fn name(&self) -> &str {
        "remember"
    }
    fn post_read_call_header(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        let sm = cx.message.service_method.as_str().to_owned();
        cx.swap.insert("remember.sm", sm);
        Ok(())
    }
    fn pre_read_push_body(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        assert!(cx.swap.is_empty(), "a push starts with an empty swap");
        Ok(())
    }
    fn pre_write_reply(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        let seen = cx
            .swap
            .get::<String>("remember.sm")
            .cloned()
            .unwrap_or_default();
        cx.message.meta.set("seen", seen);
        Ok(())
    }
}

fn pair(client: Vec<Arc<dyn Plugin>>, server: Vec<Arc<dyn Plugin>>) -> Pair {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/math/add").unwrap();
    r.add_call("/math/sub").unwrap();
    r.add_push("/push/echo").unwrap();
    let mut c = SessionConfig::dialer();
    c.plugins = Plugins::from_vec(client).unwrap();
    let mut s = SessionConfig::acceptor();
    s.plugins = Plugins::from_vec(server).unwrap();
    s.router = Arc::new(r);
    Pair::new(c, s)
}

/// Calls `sm` with `body` and `meta`; the server sees the message, answers `reply`; returns
/// (what the server saw, the caller's result).
fn roundtrip(
    pair: &mut Pair,
    sm: &str,
    body: &'static [u8],
    meta: Meta,
    reply: &'static [u8],
) -> (Message, Result<Message, Status>) {
    let now = pair.now();
    let mut m = Message::new(MessageType::CALL, 0, sm);
    m.body = Bytes::from_static(body);
    m.body_codec = CodecId::JSON;
    m.meta = meta;
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    pair.settle();
    let Some(Event::Call(c)) = pair.next_event(Side::Server) else {
        panic!("no call")
    };
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, c.token, Reply::ok(reply))
        .unwrap();
    pair.settle();
    match pair.next_event(Side::Client) {
        Some(Event::CallDone(d)) => (c.message, d.result),
        other => panic!("{other:?}"),
    }
}

#[test]
fn swap_lives_from_call_read_to_its_reply() {
    let mut p = pair(vec![], vec![Arc::new(Remember)]);
    for sm in ["/math/add", "/math/sub", "/math/add"] {
        let (_, r) = roundtrip(&mut p, sm, b"[1]", Meta::new(), b"1");
        assert_eq!(r.unwrap().meta.peek_str("seen"), Some(sm));
    }
    let now = p.now();
    let m = Message::new(MessageType::PUSH, 0, "/push/echo");
    p.session(Side::Client).push(now, m).unwrap();
    p.settle();
    assert!(matches!(p.next_event(Side::Server), Some(Event::Push(_))));
}

fn secure() -> Arc<dyn Plugin> {
    Arc::new(Secure::new(KEY, DEFAULT_CODE).unwrap())
}

fn marked() -> Meta {
    let mut m = Meta::new();
    m.set(SECURE_META_KEY, "true");
    m
}

#[test]
fn secure_both_sides() {
    let mut p = pair(vec![secure()], vec![secure()]);
    let (seen, r) = roundtrip(&mut p, "/math/add", b"[10,2]", marked(), b"12");
    // The handler gets the plaintext; the caller too.
    assert_eq!(&seen.body[..], b"[10,2]");
    let r = r.unwrap();
    assert_eq!(&r.body[..], b"12");
    assert_eq!(r.meta.peek_str(SECURE_META_KEY), Some("true"));
    // Unmarked calls are untouched.
    let (seen, r) = roundtrip(&mut p, "/math/add", b"[3]", Meta::new(), b"3");
    assert_eq!(&seen.body[..], b"[3]");
    assert!(!r.unwrap().meta.contains(SECURE_META_KEY));
}

#[test]
fn secure_on_the_wire_is_gos() {
    // Only the caller encrypts: the server sees what Go would put on the wire, and answers
    // in clear.
    let mut p = pair(vec![secure()], vec![]);
    let (seen, r) = roundtrip(&mut p, "/math/add", b"[10,2]", marked(), b"12");
    assert_eq!(
        &seen.body[..],
        br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"b7a42adbb800e48dc7c72604dafc3594"}"#
    );
    assert_eq!(&r.unwrap().body[..], b"12");
    // Only the server decrypts and, asked by the marked call, encrypts its reply.
    let mut p = pair(vec![], vec![secure()]);
    let body: &'static [u8] = br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"b7a42adbb800e48dc7c72604dafc3594"}"#;
    let (seen, r) = roundtrip(&mut p, "/math/add", body, marked(), b"12");
    assert_eq!(&seen.body[..], b"[10,2]");
    let r = r.unwrap();
    assert_eq!(
        &r.body[..],
        br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"8b5fe807a26006af9d7a252a074c06d6"}"#
    );
    assert_eq!(r.meta.peek_str(SECURE_META_KEY), Some("true"));
}

#[test]
fn secure_errors_reach_the_caller_as_gos_statuses() {
    let mut p = pair(vec![], vec![secure()]);
    let now = p.now();
    let mut m = Message::new(MessageType::CALL, 0, "/math/add");
    m.body = Bytes::from_static(
        br#"{"cipherversion":"4032af8d61035123906e58e067140cc5","ciphertext":"zz"}"#,
    );
    m.body_codec = CodecId::JSON;
    m.meta = marked();
    p.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    p.settle();
    // The handler never runs; the caller gets the status.
    let Some(Event::CallDone(d)) = p.next_event(Side::Client) else {
        panic!()
    };
    let st = d.result.unwrap_err();
    assert_eq!(
        st.to_query_string(),
        "code=100001&msg=decrypt%20ciphertext%20error&cause=encoding%2Fhex%3A%20invalid%20byte%3A%20U%2B007A%20%27z%27"
    );
    assert!(p.next_event(Side::Server).is_none());
}

#[test]
fn ignorecase_routes_mixed_case() {
    let mut p = pair(vec![], vec![Arc::new(IgnoreCase::new())]);
    let (seen, r) = roundtrip(&mut p, "/Math/ADD", b"[1]", Meta::new(), b"1");
    assert_eq!(seen.service_method, "/math/add");
    assert!(r.is_ok());
}
