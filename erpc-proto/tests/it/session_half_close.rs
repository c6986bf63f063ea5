//! Half-close: after the peer's EOF the session still sends the replies of handlers that were
//! running, fails its own pending calls at once, and closes when nothing is in flight (or the
//! close linger passed). Also `queued_bytes`.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use erpc_proto::plugin::SessionInfo;
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    Auth, CallDone, CallOptions, CloseReason, Event, IncomingCall, Reply, Session, SessionConfig,
};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, CodecId, Message, MessageType, Meta, Status, WireConfig};

fn router() -> Arc<Router> {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/a").unwrap();
    r.add_call("/b").unwrap();
    Arc::new(r)
}

fn configs() -> (SessionConfig, SessionConfig) {
    let mut c = SessionConfig::dialer();
    c.router = router();
    let mut s = SessionConfig::acceptor();
    s.router = router();
    (c, s)
}

fn call_msg(sm: &str, body: &'static str) -> Message {
    let mut m = Message::new(MessageType::CALL, 0, sm);
    m.body = Bytes::from_static(body.as_bytes());
    m
}

fn expect_call(pair: &mut Pair, side: Side) -> IncomingCall {
    match pair.next_event(side) {
        Some(Event::Call(c)) => c,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn expect_done(pair: &mut Pair, side: Side) -> CallDone {
    match pair.next_event(side) {
        Some(Event::CallDone(d)) => d,
        other => panic!("expected a call completion, got {other:?}"),
    }
}

#[test]
fn reply_after_the_callers_eof_is_sent_then_the_session_closes() {
    let (c, s) = configs();
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    let id = pair
        .session(Side::Client)
        .call(now, call_msg("/a", "1"), CallOptions::default())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    // The caller shuts its write side down.
    pair.close_transport(Side::Client);
    pair.settle();
    let server = pair.session(Side::Server);
    assert!(server.is_read_closed());
    assert!(!server.is_open());
    assert!(!server.is_closed(), "a handler is still running");
    assert_eq!(server.calls_in_flight(), 1);
    assert!(pair.next_event(Side::Server).is_none());
    // The handler finishes: its reply is queued and goes out, then the session closes.
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok("done"))
        .unwrap();
    assert!(pair.session(Side::Server).queued_bytes() > 0);
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
    pair.settle();
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.id, id);
    assert_eq!(&done.result.unwrap().body[..], b"done");
}

#[test]
fn pending_calls_fail_with_102_at_eof_while_handlers_run() {
    let (c, s) = configs();
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    // The client calls the server (a handler will be running) ...
    pair.session(Side::Client)
        .call(now, call_msg("/a", "1"), CallOptions::default())
        .unwrap();
    // ... and the server calls the client (its own pending call).
    let own = pair
        .session(Side::Server)
        .call(now, call_msg("/b", "2"), CallOptions::no_timeout())
        .unwrap();
    pair.settle();
    let incoming = expect_call(&mut pair, Side::Server);
    let _ = expect_call(&mut pair, Side::Client);
    pair.close_transport(Side::Client);
    pair.settle();
    // The server's own call cannot be answered any more: 102 at once, before any Closed.
    let done = expect_done(&mut pair, Side::Server);
    assert_eq!(done.id, own);
    assert_eq!(
        done.result.unwrap_err(),
        Status::from_code(Code::CONN_CLOSED)
    );
    assert!(pair.next_event(Side::Server).is_none(), "not closed yet");
    assert_eq!(pair.session(Side::Server).pending_calls(), 0);
    // New calls and pushes are refused with 102.
    let now = pair.now();
    let server = pair.session(Side::Server);
    let refused = server.call(now, call_msg("/b", ""), CallOptions::default());
    assert_eq!(refused.unwrap_err().code(), Code::CONN_CLOSED);
    let refused = server.push(now, Message::new(MessageType::PUSH, 0, "/p"));
    assert_eq!(refused.unwrap_err().code(), Code::CONN_CLOSED);
    // The running handler may still answer.
    server
        .reply(now, incoming.token, Reply::ok("late but fine"))
        .unwrap();
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
}

#[test]
fn eof_with_nothing_in_flight_closes_at_once() {
    let (c, s) = configs();
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    pair.session(Side::Server)
        .call(now, call_msg("/b", ""), CallOptions::default())
        .unwrap();
    pair.close_transport(Side::Client);
    pair.settle();
    let done = expect_done(&mut pair, Side::Server);
    assert_eq!(done.result.unwrap_err().code(), Code::CONN_CLOSED);
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
    assert!(pair.session(Side::Server).is_read_closed());
}

#[test]
fn close_linger_bounds_the_wait_after_eof() {
    let (c, mut s) = configs();
    s.close_linger = Duration::from_secs(5);
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::no_timeout())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    pair.close_transport(Side::Client);
    pair.settle();
    let eof_at = pair.now();
    assert_eq!(
        pair.session(Side::Server).poll_timeout(),
        Some(eof_at + Duration::from_secs(5))
    );
    pair.advance(Duration::from_millis(4999));
    assert!(!pair.session(Side::Server).is_closed());
    pair.advance(Duration::from_millis(1));
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
    // The late reply has nowhere to go.
    let now = pair.now();
    assert!(pair
        .session(Side::Server)
        .reply(now, call.token, Reply::ok(""))
        .is_err());
    // The caller saw the server's EOF without a reply.
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.result.unwrap_err().code(), Code::CONN_CLOSED);
}

#[test]
fn context_age_still_answers_408_after_eof() {
    let (c, mut s) = configs();
    s.close_linger = Duration::from_secs(10);
    s.context_age = Some(Duration::from_secs(2));
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::no_timeout())
        .unwrap();
    pair.settle();
    let _call = expect_call(&mut pair, Side::Server);
    pair.close_transport(Side::Client);
    pair.settle();
    pair.advance(Duration::from_secs(2));
    // The 408 went out, and with nothing in flight any more the session closed.
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.result.unwrap_err().code(), Code::HANDLE_TIMEOUT);
}

#[test]
fn eof_inside_a_frame_while_a_handler_runs() {
    let (c, s) = configs();
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    pair.inject(Side::Server, Bytes::from_static(&[0, 0, 0, 58, 0, 1]));
    pair.close_transport(Side::Client);
    pair.settle();
    assert!(pair.session(Side::Server).is_read_closed());
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok(""))
        .unwrap();
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::UnexpectedEof))
    ));
}

#[test]
fn no_input_is_processed_after_eof() {
    let (_, s) = configs();
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut server = Session::new(s, SessionInfo::default(), now);
    let frame = |seq| {
        let mut m = call_msg("/a", "");
        m.seq = seq;
        m.body_codec = CodecId::JSON;
        let mut b = BytesMut::new();
        RawProto.encode(&m, &WireConfig::default(), &mut b).unwrap();
        b
    };
    let mut buf = frame(1);
    server.handle_input(now, &mut buf);
    let Some(Event::Call(first)) = server.poll_event() else {
        panic!()
    };
    server.handle_eof(now);
    assert!(server.is_read_closed());
    let mut buf = frame(2);
    let len = buf.len();
    server.handle_input(now, &mut buf);
    assert_eq!(buf.len(), len, "the buffer is left alone");
    assert!(server.poll_event().is_none());
    assert_eq!(server.calls_in_flight(), 1);
    // A second EOF changes nothing.
    server.handle_eof(now);
    assert!(server.poll_event().is_none());
    server.reply(now, first.token, Reply::ok("")).unwrap();
    assert!(server.poll_transmit().is_some());
    assert!(matches!(
        server.poll_event(),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
}

#[test]
fn graceful_close_after_eof_ends_with_the_eof_reason() {
    let (c, s) = configs();
    let mut pair = Pair::new(c, s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    pair.close_transport(Side::Client);
    pair.settle();
    let now = pair.now();
    pair.session(Side::Server)
        .close(now, Some(Duration::from_secs(1)));
    assert!(!pair.session(Side::Server).is_closed());
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok(""))
        .unwrap();
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
}

// ------------------------------------------------------------------ queued_bytes

#[test]
fn queued_bytes_is_what_poll_transmit_hands_out() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut s = Session::new(SessionConfig::dialer(), SessionInfo::default(), now);
    assert_eq!(s.queued_bytes(), 0);
    s.call(now, call_msg("/a", "12345"), CallOptions::default())
        .unwrap();
    let one = s.queued_bytes();
    assert!(one > 0);
    s.push(now, Message::new(MessageType::PUSH, 0, "/p"))
        .unwrap();
    let two = s.queued_bytes();
    assert!(two > one);
    assert_eq!(s.poll_transmit().unwrap().len(), two);
    assert_eq!(s.queued_bytes(), 0);
    s.push(now, Message::new(MessageType::PUSH, 0, "/p"))
        .unwrap();
    let n = s.queued_bytes();
    let mut dst = BytesMut::new();
    assert_eq!(s.poll_transmit_into(&mut dst), n);
    assert_eq!(s.queued_bytes(), 0);
}

#[test]
fn queued_bytes_leaves_out_frames_held_for_auth() {
    #[allow(clippy::disallowed_methods)]
    let now = std::time::Instant::now();
    let mut cfg = SessionConfig::dialer();
    cfg.auth = Auth::Bearer {
        codec: CodecId::PLAIN,
        info: Bytes::from_static(b"token"),
        meta: Meta::new(),
    };
    let mut s = Session::new(cfg, SessionInfo::default(), now);
    let auth_call = s.queued_bytes();
    assert!(auth_call > 0, "the AUTH_CALL is queued at once");
    s.call(now, call_msg("/a", "held"), CallOptions::default())
        .unwrap();
    assert_eq!(
        s.queued_bytes(),
        auth_call,
        "the call waits for the verdict"
    );
    assert_eq!(s.poll_transmit().unwrap().len(), auth_call);
    // The AUTH_REPLY releases what was held.
    let mut reply = Message::new(MessageType::AUTH_REPLY, 1, "");
    reply.body_codec = CodecId::PLAIN;
    let mut buf = BytesMut::new();
    RawProto
        .encode(&reply, &WireConfig::default(), &mut buf)
        .unwrap();
    s.handle_input(now, &mut buf);
    assert!(matches!(s.poll_event(), Some(Event::Authenticated(_))));
    let held = s.queued_bytes();
    assert!(held > 0);
    assert_eq!(s.poll_transmit().unwrap().len(), held);
}
