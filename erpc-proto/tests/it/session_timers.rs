//! Session timers: `poll_timeout` reports only live deadlines, and no duration — from the
//! wire (`hb_`) or from the configuration (`Duration::MAX`) — makes the arithmetic panic.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    CallOptions, CloseReason, Event, HeartbeatPing, Reply, SessionConfig, MAX_HEARTBEAT_RATE,
};
use erpc_proto::testing::{Pair, Side};
use erpc_proto::{Code, Message, MessageType};

fn router(calls: &[&str]) -> Arc<Router> {
    let mut r = Router::new(Mapper::Http);
    for c in calls {
        r.add_call(c).unwrap();
    }
    Arc::new(r)
}

fn pair_with(client: SessionConfig, mut server: SessionConfig) -> Pair {
    server.router = router(&["/a"]);
    Pair::new(client, server)
}

fn call(pair: &mut Pair, side: Side, sm: &str, opts: CallOptions) -> erpc_proto::session::CallId {
    let now = pair.now();
    pair.session(side)
        .call(now, Message::new(MessageType::CALL, 0, sm), opts)
        .unwrap()
}

fn expect_call(pair: &mut Pair, side: Side) -> erpc_proto::session::IncomingCall {
    match pair.next_event(side) {
        Some(Event::Call(c)) => c,
        other => panic!("expected a call, got {other:?}"),
    }
}

fn expect_done(pair: &mut Pair, side: Side) -> erpc_proto::session::CallDone {
    match pair.next_event(side) {
        Some(Event::CallDone(d)) => d,
        other => panic!("expected a call completion, got {other:?}"),
    }
}

fn reply(pair: &mut Pair, side: Side, c: erpc_proto::session::IncomingCall) {
    let now = pair.now();
    pair.session(side)
        .reply(now, c.token, Reply::ok("ok"))
        .unwrap();
}

// ------------------------------------------------------------------ live timers

#[test]
fn completed_call_deadline_leaves_poll_timeout() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    let t0 = pair.now();
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::from_secs(1)),
    );
    assert_eq!(
        pair.session(Side::Client).poll_timeout(),
        Some(t0 + Duration::from_secs(1))
    );
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    reply(&mut pair, Side::Server, c);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
    assert_eq!(
        pair.session(Side::Client).poll_timeout(),
        None,
        "the completed call's deadline is gone"
    );
}

#[test]
fn cancel_frees_the_deadline() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    let id = call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::from_secs(1)),
    );
    assert!(pair.session(Side::Client).poll_timeout().is_some());
    assert!(pair.session(Side::Client).cancel(id));
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
}

#[test]
fn close_frees_the_deadlines() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    call(&mut pair, Side::Client, "/a", CallOptions::default());
    let now = pair.now();
    pair.session(Side::Client).close(now, None);
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
}

#[test]
fn poll_timeout_follows_the_earliest_live_deadline() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    let t0 = pair.now();
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::from_secs(1)),
    );
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::from_secs(2)),
    );
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::from_secs(3)),
    );
    pair.settle();
    let first = expect_call(&mut pair, Side::Server);
    let second = expect_call(&mut pair, Side::Server);
    let third = expect_call(&mut pair, Side::Server);
    // The middle one completes: the earliest is still the first.
    reply(&mut pair, Side::Server, second);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
    assert_eq!(
        pair.session(Side::Client).poll_timeout(),
        Some(t0 + Duration::from_secs(1))
    );
    // The first completes: the third's deadline is next (the second's is gone).
    reply(&mut pair, Side::Server, first);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
    assert_eq!(
        pair.session(Side::Client).poll_timeout(),
        Some(t0 + Duration::from_secs(3))
    );
    reply(&mut pair, Side::Server, third);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
}

#[test]
fn handler_budget_leaves_poll_timeout_when_replied() {
    let mut s = SessionConfig::acceptor();
    s.context_age = Some(Duration::from_secs(5));
    let mut pair = pair_with(SessionConfig::dialer(), s);
    call(&mut pair, Side::Client, "/a", CallOptions::no_timeout());
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    let t = pair.now();
    assert_eq!(
        pair.session(Side::Server).poll_timeout(),
        Some(t + Duration::from_secs(5))
    );
    reply(&mut pair, Side::Server, c);
    assert_eq!(pair.session(Side::Server).poll_timeout(), None);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
}

#[test]
fn many_completed_calls_leave_no_timers() {
    let mut s = SessionConfig::acceptor();
    s.context_age = Some(Duration::from_secs(60));
    let mut pair = pair_with(SessionConfig::dialer(), s);
    for round in 0..200 {
        for _ in 0..50 {
            call(&mut pair, Side::Client, "/a", CallOptions::default());
        }
        pair.settle();
        for c in pair.drain_events(Side::Server) {
            let Event::Call(c) = c else { panic!() };
            reply(&mut pair, Side::Server, c);
        }
        pair.settle();
        assert_eq!(pair.drain_events(Side::Client).len(), 50, "round {round}");
        assert_eq!(pair.session(Side::Client).poll_timeout(), None);
        assert_eq!(pair.session(Side::Server).poll_timeout(), None);
    }
}

// ------------------------------------------------------------------ hb_ from the wire

fn pong_pair() -> Pair {
    let mut s = SessionConfig::acceptor();
    s.heartbeat_pong = true;
    pair_with(SessionConfig::dialer(), s)
}

fn heartbeat(rate: &str) -> Message {
    let mut m = Message::new(MessageType::CALL, 0, "/heartbeat");
    m.meta.set("hb_", rate);
    m
}

fn push_heartbeat(pair: &mut Pair, rate: &str) {
    let now = pair.now();
    pair.session(Side::Client)
        .push(now, heartbeat(rate))
        .unwrap();
    pair.settle();
}

fn call_heartbeat(pair: &mut Pair, rate: &str) -> Result<Message, erpc_proto::Status> {
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, heartbeat(rate), CallOptions::default())
        .unwrap();
    pair.settle();
    expect_done(pair, Side::Client).result
}

/// The server still serves calls.
fn assert_serves(pair: &mut Pair) {
    call(pair, Side::Client, "/a", CallOptions::default());
    pair.settle();
    let c = expect_call(pair, Side::Server);
    reply(pair, Side::Server, c);
    pair.settle();
    assert!(expect_done(pair, Side::Client).result.is_ok());
}

const HUGE: &str = "5000000000000000000";
const U64_MAX: &str = "18446744073709551615";

#[test]
fn huge_heartbeat_rate_push_is_clamped() {
    let mut pair = pong_pair();
    push_heartbeat(&mut pair, HUGE);
    assert!(pair.session(Side::Server).is_open());
    let t = pair.now();
    assert_eq!(
        pair.session(Side::Server).poll_timeout(),
        Some(t + MAX_HEARTBEAT_RATE * 2),
        "the pong side watches with the clamped rate"
    );
    assert_serves(&mut pair);
    // Silence for longer than twice the clamped rate: the pinger is declared dead.
    pair.advance(MAX_HEARTBEAT_RATE * 2 + Duration::from_secs(1));
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
fn huge_heartbeat_rate_call_is_answered() {
    let mut pair = pong_pair();
    let pong = call_heartbeat(&mut pair, HUGE).unwrap();
    assert_eq!(&pong.body[..], b"null");
    assert!(pair.session(Side::Server).is_open());
    assert_serves(&mut pair);
}

#[test]
fn u64_max_heartbeat_rate_is_invalid() {
    let mut pair = pong_pair();
    push_heartbeat(&mut pair, U64_MAX);
    assert!(pair.session(Side::Server).is_open());
    assert_eq!(pair.session(Side::Server).poll_timeout(), None, "no record");
    let st = call_heartbeat(&mut pair, U64_MAX).unwrap_err();
    assert_eq!(st.code(), Code::BAD_MESSAGE);
    assert_eq!(st.raw_msg(), "invalid heartbeat rate");
    assert_eq!(st.cause(), Some(U64_MAX));
    assert_serves(&mut pair);
}

#[test]
fn negative_heartbeat_rate_is_invalid() {
    let mut pair = pong_pair();
    push_heartbeat(&mut pair, "-1");
    assert!(pair.session(Side::Server).is_open());
    let st = call_heartbeat(&mut pair, "-1").unwrap_err();
    assert_eq!(st.code(), Code::BAD_MESSAGE);
    assert_eq!(st.cause(), Some("-1"));
    assert_serves(&mut pair);
}

#[test]
fn invalid_rate_after_a_valid_one_only_refreshes() {
    // Go: once a record exists, an unparsable rate just counts as a sign of life.
    let mut pair = pong_pair();
    push_heartbeat(&mut pair, "3");
    assert!(call_heartbeat(&mut pair, U64_MAX).is_ok());
    assert!(call_heartbeat(&mut pair, "-1").is_ok());
    assert!(call_heartbeat(&mut pair, HUGE).is_ok());
    let t = pair.now();
    assert_eq!(
        pair.session(Side::Server).poll_timeout(),
        Some(t + MAX_HEARTBEAT_RATE * 2)
    );
}

// ------------------------------------------------------------------ Duration::MAX from config

#[test]
fn call_timeout_duration_max_means_no_deadline() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::MAX),
    );
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    reply(&mut pair, Side::Server, c);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());

    let mut c = SessionConfig::dialer();
    c.call_timeout = Some(Duration::MAX);
    let mut pair = pair_with(c, SessionConfig::acceptor());
    call(&mut pair, Side::Client, "/a", CallOptions::default());
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
}

#[test]
fn session_and_context_age_duration_max_mean_unlimited() {
    let mut c = SessionConfig::dialer();
    c.session_age = Some(Duration::MAX);
    let mut s = SessionConfig::acceptor();
    s.session_age = Some(Duration::MAX);
    s.context_age = Some(Duration::MAX);
    let mut pair = pair_with(c, s);
    call(&mut pair, Side::Client, "/a", CallOptions::no_timeout());
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    assert_eq!(pair.session(Side::Server).poll_timeout(), None);
    pair.advance(Duration::from_secs(365 * 24 * 3600));
    reply(&mut pair, Side::Server, c);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
}

#[test]
fn close_with_duration_max_linger_waits_for_calls() {
    let mut pair = pair_with(SessionConfig::dialer(), SessionConfig::acceptor());
    call(&mut pair, Side::Client, "/a", CallOptions::no_timeout());
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    let now = pair.now();
    pair.session(Side::Client).close(now, Some(Duration::MAX));
    assert!(!pair.session(Side::Client).is_open());
    assert_eq!(pair.session(Side::Client).poll_timeout(), None);
    pair.advance(Duration::from_secs(3600));
    reply(&mut pair, Side::Server, c);
    pair.settle();
    assert!(expect_done(&mut pair, Side::Client).result.is_ok());
    assert!(matches!(
        pair.next_event(Side::Client),
        Some(Event::Closed(CloseReason::Local))
    ));
}

#[test]
fn close_linger_duration_max_after_eof_waits_for_handlers() {
    let mut s = SessionConfig::acceptor();
    s.close_linger = Duration::MAX;
    let mut pair = pair_with(SessionConfig::dialer(), s);
    call(&mut pair, Side::Client, "/a", CallOptions::no_timeout());
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    pair.close_transport(Side::Client);
    pair.settle();
    assert!(pair.session(Side::Server).is_read_closed());
    assert_eq!(pair.session(Side::Server).poll_timeout(), None);
    pair.advance(Duration::from_secs(3600));
    assert!(!pair.session(Side::Server).is_closed());
    reply(&mut pair, Side::Server, c);
    pair.settle();
    assert!(matches!(
        pair.next_event(Side::Server),
        Some(Event::Closed(CloseReason::PeerClosed))
    ));
}

#[test]
fn heartbeat_ping_rate_is_kept_within_bounds() {
    assert_eq!(
        HeartbeatPing::push(Duration::MAX).rate,
        HeartbeatPing::MAX_RATE
    );
    assert_eq!(
        HeartbeatPing::call(Duration::MAX).rate,
        HeartbeatPing::MAX_RATE
    );
    // Set past the constructors (the field is public): the session clamps it itself.
    for (rate, first_ping) in [
        (Duration::MAX, MAX_HEARTBEAT_RATE),
        (Duration::ZERO, HeartbeatPing::MIN_RATE),
    ] {
        for use_call in [false, true] {
            let mut ping = if use_call {
                HeartbeatPing::call(Duration::from_secs(3))
            } else {
                HeartbeatPing::push(Duration::from_secs(3))
            };
            ping.rate = rate;
            let mut c = SessionConfig::dialer();
            c.heartbeat_ping = Some(ping);
            let mut s = SessionConfig::acceptor();
            s.heartbeat_pong = true;
            let mut pair = pair_with(c, s);
            let t0 = pair.now();
            assert_eq!(
                pair.session(Side::Client).poll_timeout(),
                Some(t0 + first_ping)
            );
            pair.advance(first_ping * 3);
            assert!(pair.session(Side::Client).is_open(), "{rate:?} {use_call}");
            assert!(pair.session(Side::Server).is_open(), "{rate:?} {use_call}");
            assert_serves(&mut pair);
        }
    }
}

#[test]
fn virtual_time_may_jump_by_duration_max() {
    // (No heartbeat: `advance` stops at every ping on the way.)
    let mut c = SessionConfig::dialer();
    c.session_age = Some(Duration::from_secs(3600 * 24 * 365 * 1000));
    let mut s = SessionConfig::acceptor();
    s.context_age = Some(Duration::from_secs(1));
    let mut pair = pair_with(c, s);
    call(
        &mut pair,
        Side::Client,
        "/a",
        CallOptions::timeout(Duration::MAX),
    );
    call(&mut pair, Side::Client, "/a", CallOptions::default());
    pair.advance(Duration::MAX);
    // Whatever was due has fired; nothing panicked, and each call completed once.
    let done = pair
        .drain_events(Side::Client)
        .into_iter()
        .filter(|e| matches!(e, Event::CallDone(_)))
        .count();
    assert_eq!(done, 2);
    assert!(
        pair.session(Side::Client).is_closed(),
        "the session age passed"
    );
    pair.advance(Duration::MAX);
    let now = pair.now();
    for side in [Side::Client, Side::Server] {
        let s = pair.session(side);
        assert!(s
            .call(
                now,
                Message::new(MessageType::CALL, 0, "/a"),
                CallOptions::default()
            )
            .is_err());
        s.handle_timeout(now);
    }
}
