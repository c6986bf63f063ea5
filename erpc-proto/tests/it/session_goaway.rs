//! The goaway notice of a graceful close: an accepting session that closes gracefully tells
//! its peer, which stops sending calls, lets the ones it sent complete and answers; no call
//! crosses the close on the wire. A peer that does not answer (Go eRPC) is waited for
//! `GOAWAY_GRACE` once the session is idle.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    CallOptions, CloseReason, Event, IncomingCall, Reply, SessionConfig, GOAWAY_GRACE,
};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, Message, MessageType};

fn pair() -> Pair {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/a").unwrap();
    let r = Arc::new(r);
    let mut c = SessionConfig::dialer();
    c.router = Arc::clone(&r);
    let mut s = SessionConfig::acceptor();
    s.router = r;
    Pair::new(c, s).with_latency(Duration::from_millis(1))
}

fn call(pair: &mut Pair, body: &'static str) -> erpc_proto::session::CallId {
    let now = pair.now();
    let mut m = Message::new(MessageType::CALL, 0, "/a");
    m.body = Bytes::from_static(body.as_bytes());
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap()
}

fn calls(events: Vec<Event>) -> Vec<IncomingCall> {
    events
        .into_iter()
        .filter_map(|e| match e {
            Event::Call(c) => Some(c),
            _ => None,
        })
        .collect()
}

fn closed_locally(events: &[Event]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, Event::Closed(CloseReason::Local)))
}

#[test]
fn idle_sessions_close_as_soon_as_the_peer_answers() {
    let mut p = pair();
    let start = p.now();
    let now = p.now();
    p.session(Side::Server)
        .close(now, Some(Duration::from_secs(5)));
    p.settle();
    assert!(p.session(Side::Client).peer_going_away());
    assert!(
        p.session(Side::Server).peer_going_away(),
        "the client answered"
    );
    assert!(closed_locally(&p.drain_events(Side::Server)));
    assert!(closed_locally(&p.drain_events(Side::Client)));
    // Two trips on a 1 ms wire, not the grace.
    assert!(p.now() - start < GOAWAY_GRACE, "{:?}", p.now() - start);
}

#[test]
fn calls_sent_before_the_notice_complete_and_later_ones_are_refused() {
    let mut p = pair();
    let first = call(&mut p, "1");
    p.settle();
    let running = calls(p.drain_events(Side::Server)).remove(0).token;
    // The server begins its close while the client's second call is on the wire.
    let second = call(&mut p, "2");
    let now = p.now();
    p.session(Side::Server)
        .close(now, Some(Duration::from_secs(5)));
    p.settle();
    // The call that crossed the notice is served all the same.
    let mut crossed = calls(p.drain_events(Side::Server));
    assert_eq!(crossed.len(), 1, "{crossed:?}");
    let crossed = crossed.remove(0).token;
    assert!(p.session(Side::Client).peer_going_away());
    // New calls on the old connection are refused (a redialing peer layer holds them).
    let now = p.now();
    let refused = p.session(Side::Client).call(
        now,
        Message::new(MessageType::CALL, 0, "/a"),
        CallOptions::default(),
    );
    assert_eq!(refused.unwrap_err().code(), Code::CONN_CLOSED);
    for t in [running, crossed] {
        let now = p.now();
        p.session(Side::Server)
            .reply(now, t, Reply::ok("ok"))
            .unwrap();
    }
    p.settle();
    let ev = p.drain_events(Side::Client);
    let done: Vec<_> = ev
        .iter()
        .filter_map(|e| match e {
            Event::CallDone(d) => Some((d.id, d.result.is_ok())),
            _ => None,
        })
        .collect();
    assert_eq!(done, vec![(first, true), (second, true)], "{ev:?}");
    assert!(closed_locally(&ev));
    assert!(closed_locally(&p.drain_events(Side::Server)));
}

#[test]
fn a_peer_that_does_not_answer_is_waited_for_the_grace() {
    let mut p = pair();
    // Whatever the client writes is lost: it never answers, as a Go peer.
    p.silence(Side::Client);
    let start = p.now();
    p.session(Side::Server)
        .close(start, Some(Duration::from_secs(5)));
    p.settle();
    assert!(!p.session(Side::Server).is_closed());
    p.advance(GOAWAY_GRACE);
    assert!(p.session(Side::Server).is_closed());
    assert!(closed_locally(&p.drain_events(Side::Server)));
}

#[test]
fn a_dialed_session_closing_by_itself_sends_no_notice() {
    let mut p = pair();
    let now = p.now();
    p.session(Side::Client)
        .close(now, Some(Duration::from_secs(5)));
    p.settle();
    assert!(!p.session(Side::Server).peer_going_away());
    assert!(closed_locally(&p.drain_events(Side::Client)));
}
