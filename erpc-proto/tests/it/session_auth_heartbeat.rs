//! Authentication handshake and heartbeat through the deterministic harness.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use erpc_proto::plugin::SessionInfo;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    Auth, CallOptions, CloseReason, Event, HeartbeatPing, Reply, Session, SessionConfig,
};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, CodecId, Message, MessageType, Meta, Status};

fn bearer() -> SessionConfig {
    let mut c = SessionConfig::dialer();
    c.auth = Auth::Bearer {
        codec: CodecId::PLAIN,
        info: Bytes::from_static(b"client-auth-info-12345"),
        meta: Meta::new(),
    };
    c
}

fn auth_pair() -> Pair {
    let c = bearer();
    let mut r = Router::new(Mapper::Http);
    r.add_call("/a").unwrap();
    let mut s = SessionConfig::acceptor();
    s.auth = Auth::Checker;
    s.router = Arc::new(r);
    Pair::new(c, s)
}

#[test]
fn auth_success_holds_calls_until_authenticated() {
    let mut pair = auth_pair();
    // The AUTH_CALL is the first frame, byte for byte as Go's.
    let mut solo = Session::new(bearer(), SessionInfo::default(), pair.now());
    assert_eq!(
        hex::encode(solo.poll_transmit().unwrap()),
        "0000002a00013104000006636f64653d30000073636c69656e742d617574682d696e666f2d3132333435"
    );
    let now = pair.now();
    // A call made before the handshake completes waits for it.
    let mut m = Message::new(MessageType::CALL, 0, "/a");
    m.body = Bytes::from_static(b"1");
    let id = pair
        .session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    assert_eq!(id.seq(), 2, "the counter is shared with AUTH_CALL");
    pair.settle();
    let Some(Event::AuthRequest(req)) = pair.next_event(Side::Server) else {
        panic!()
    };
    assert_eq!(&req.body[..], b"client-auth-info-12345");
    assert!(
        pair.next_event(Side::Server).is_none(),
        "nothing before the verdict"
    );
    let now = pair.now();
    pair.session(Side::Server)
        .accept_auth(now, Reply::ok("pass").with_codec(CodecId::PLAIN))
        .unwrap();
    let reply_frame = pair.session(Side::Server).poll_transmit().unwrap();
    assert_eq!(
        hex::encode(&reply_frame),
        "0000001800013105000006636f64653d3000007370617373"
    );
    pair.inject(Side::Client, reply_frame);
    pair.settle();
    let Some(Event::Authenticated(ok)) = pair.next_event(Side::Client) else {
        panic!()
    };
    assert_eq!(&ok.body[..], b"pass");
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Authenticated(_))
    ));
    let Some(Event::Call(call)) = pair.next_event(Side::Server) else {
        panic!()
    };
    assert_eq!(call.message.seq, 2);
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok("ok"))
        .unwrap();
    pair.settle();
    let Some(Event::CallDone(d)) = pair.next_event(Side::Client) else {
        panic!()
    };
    assert!(d.result.is_ok());
}

#[test]
fn auth_rejection_closes_both_sides() {
    let mut pair = auth_pair();
    let now = pair.now();
    let id = pair
        .session(Side::Client)
        .call(
            now,
            Message::new(MessageType::CALL, 0, "/a"),
            CallOptions::default(),
        )
        .unwrap();
    pair.settle();
    let Some(Event::AuthRequest(_)) = pair.next_event(Side::Server) else {
        panic!()
    };
    let now = pair.now();
    let verdict = Reply::error(Status::new(403, "auth fail", Some("auth fail detail")))
        .with_codec(CodecId::PLAIN);
    pair.session(Side::Server)
        .accept_auth(now, verdict)
        .unwrap();
    let frame = pair.session(Side::Server).poll_transmit().unwrap();
    assert_eq!(
        hex::encode(&frame),
        hex::encode(
            b"\x00\x00\x00\x41\x00\x01\x31\x05\x00\x00\x33code=403&msg=auth%20fail&cause=auth%20fail%20detail\x00\x00\x73"
        )
    );
    pair.inject(Side::Client, frame);
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::AuthFailed(_)))
    ));
    pair.settle();
    let Some(Event::CallDone(d)) = pair.next_event(Side::Client) else {
        panic!()
    };
    assert_eq!(d.id, id);
    let st = d.result.unwrap_err();
    assert_eq!(
        st.code(),
        Code::DIAL_FAILED,
        "Go reports 105 with the auth cause"
    );
    assert_eq!(st.cause(), Some("auth fail detail"));
    assert!(matches!(
        pair.next_event(Side::Client),
        Some(Event::Closed(CloseReason::AuthFailed(_)))
    ));
}

#[test]
fn checker_rejects_a_non_auth_first_message() {
    let mut s = SessionConfig::acceptor();
    s.auth = Auth::Checker;
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .push(now, Message::new(MessageType::PUSH, 0, "/x"))
        .unwrap();
    pair.settle();
    let Some(Event::Closed(CloseReason::AuthFailed(st))) = pair.next_event(Side::Server) else {
        panic!()
    };
    assert_eq!(st.code(), Code::UNAUTHORIZED);
    assert_eq!(
        st.cause(),
        Some("auth message(1st) expect: AUTH_CALL, but received: PUSH")
    );
    // As Go's checker, the server answered with that 401 in an AUTH_REPLY, which a dialer
    // that did not authenticate refuses (Go's client too): it closes as well.
    assert!(
        matches!(
            pair.next_event(Side::Client),
            Some(Event::Closed(CloseReason::MessageTypeNotAllowed(5)))
        ),
        "the client got the AUTH_REPLY"
    );
}

fn heartbeat_pair(ping: HeartbeatPing) -> Pair {
    let mut c = SessionConfig::dialer();
    c.heartbeat_ping = Some(ping);
    let mut s = SessionConfig::acceptor();
    s.heartbeat_pong = true;
    Pair::new(c, s)
}

#[test]
fn heartbeat_push_keeps_a_quiet_session_alive() {
    let mut pair = heartbeat_pair(HeartbeatPing::push(Duration::from_secs(3)));
    pair.advance(Duration::from_secs(60));
    assert!(pair.session(Side::Client).is_open());
    assert!(pair.session(Side::Server).is_open());
    assert!(
        pair.drain_events(Side::Server).is_empty(),
        "pings are handled inside the core"
    );
}

#[test]
fn heartbeat_ping_frame_matches_go() {
    let mut pair = heartbeat_pair(HeartbeatPing::push(Duration::from_secs(1)));
    // The rate is raised to Go's minimum of 3 s; nothing is sent before.
    pair.advance(Duration::from_millis(2999));
    assert!(pair.session(Side::Client).poll_transmit().is_none());
    let now = pair.now() + Duration::from_millis(1);
    pair.session(Side::Client).handle_timeout(now);
    let ping = pair.session(Side::Client).poll_transmit().unwrap();
    // PUSH /heartbeat seq 1, meta hb_=3, json codec, empty body (Go's vector, seq 1).
    assert_eq!(
        hex::encode(&ping),
        hex::encode(
            b"\x00\x00\x00\x23\x00\x01\x31\x03\x0a/heartbeat\x00\x06code=0\x00\x05hb_=3\x6a"
        )
    );
}

#[test]
fn heartbeat_call_pong_is_null() {
    let mut pair = heartbeat_pair(HeartbeatPing::call(Duration::from_secs(3)));
    pair.advance(Duration::from_secs(3));
    let ping = pair.session(Side::Client).poll_transmit();
    assert!(ping.is_none(), "already delivered by advance");
    pair.advance(Duration::from_secs(30));
    assert!(pair.session(Side::Client).is_open());
    assert!(
        pair.drain_events(Side::Client).is_empty(),
        "pong replies are consumed by the core"
    );
}

#[test]
fn silent_pinger_is_declared_dead() {
    let mut pair = heartbeat_pair(HeartbeatPing::push(Duration::from_secs(3)));
    pair.advance(Duration::from_secs(4)); // one ping arrives: the server starts watching
    assert!(pair.session(Side::Server).is_open());
    // The client's bytes stop arriving (a partition: no EOF, no pings).
    pair.silence(Side::Client);
    pair.advance(Duration::from_secs(7));
    let events = pair.drain_events(Side::Server);
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed(CloseReason::HeartbeatTimeout))
        ),
        "{events:?}"
    );
}

#[test]
fn unanswered_call_ping_closes_the_pinger() {
    // The server has no pong: the CALL ping gets 404, which closes the pinger as in Go.
    let mut c = SessionConfig::dialer();
    c.heartbeat_ping = Some(HeartbeatPing::call(Duration::from_secs(3)));
    let mut pair = Pair::new(c, SessionConfig::acceptor());
    pair.advance(Duration::from_secs(4));
    let events = pair.drain_events(Side::Client);
    assert!(
        matches!(
            events.last(),
            Some(Event::Closed(CloseReason::HeartbeatTimeout))
        ),
        "{events:?}"
    );
}

#[test]
fn invalid_first_heartbeat_rate_is_400() {
    let mut s = SessionConfig::acceptor();
    s.heartbeat_pong = true;
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    let mut m = Message::new(MessageType::CALL, 0, "/heartbeat");
    m.meta.set("hb_", "abc");
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    pair.settle();
    let Some(Event::CallDone(d)) = pair.next_event(Side::Client) else {
        panic!()
    };
    let st = d.result.unwrap_err();
    assert_eq!(st.code(), Code::BAD_MESSAGE);
    assert_eq!(st.raw_msg(), "invalid heartbeat rate");
    assert_eq!(st.cause(), Some("abc"));
}

#[test]
fn session_age_is_a_hard_lifetime() {
    let mut c = SessionConfig::dialer();
    c.session_age = Some(Duration::from_secs(10));
    let mut pair = Pair::new(c, SessionConfig::acceptor());
    let now = pair.now();
    pair.session(Side::Client)
        .call(
            now,
            Message::new(MessageType::CALL, 0, "/x"),
            CallOptions::no_timeout(),
        )
        .unwrap();
    pair.advance(Duration::from_secs(10));
    let events = pair.drain_events(Side::Client);
    assert!(
        matches!(events.last(), Some(Event::Closed(CloseReason::SessionAge))),
        "{events:?}"
    );
}
