//! Session behaviour through the deterministic harness: calls, pushes, deadlines, closing.
#![cfg(feature = "testing")]

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::router::{Mapper, RouteId, Router};
use erpc_proto::session::{
    CallDone, CallOptions, CloseReason, Event, IncomingCall, IncomingPush, Reply, SessionConfig,
};
use erpc_proto::testing::{Chunking, Pair, Side};
use erpc_proto::{Code, CodecId, Message, MessageType, Status, WireConfig};

fn router(calls: &[&str], pushes: &[&str]) -> Arc<Router> {
    let mut r = Router::new(Mapper::Http);
    for c in calls {
        r.add_call(c).unwrap();
    }
    for p in pushes {
        r.add_push(p).unwrap();
    }
    Arc::new(r)
}

fn pair_with(calls: &[&str], pushes: &[&str]) -> Pair {
    let mut c = SessionConfig::dialer();
    c.router = router(calls, pushes);
    let mut s = SessionConfig::acceptor();
    s.router = router(calls, pushes);
    Pair::new(c, s)
}

fn call_msg(sm: &str, body: &str) -> Message {
    let mut m = Message::new(MessageType::CALL, 0, sm);
    m.body = Bytes::copy_from_slice(body.as_bytes());
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

fn expect_push(pair: &mut Pair, side: Side) -> IncomingPush {
    match pair.next_event(side) {
        Some(Event::Push(p)) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

#[test]
fn call_and_reply_byte_by_byte() {
    let mut pair = pair_with(&["/math/add"], &[]).with_chunking(Chunking::Every(1));
    let now = pair.now();
    let mut msg = call_msg("/math/add", "[1,2,3,4,5]");
    msg.meta.add("author", "henrylee2cn");
    let id = pair
        .session(Side::Client)
        .call(now, msg, CallOptions::default())
        .unwrap();
    assert_eq!(id.seq(), 1, "Go's first seq is 1");
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    assert_eq!(call.message.service_method, "/math/add");
    assert_eq!(
        call.message.body_codec,
        CodecId::JSON,
        "default codec applied"
    );
    assert_eq!(call.message.meta.peek_str("author"), Some("henrylee2cn"));
    assert_eq!(call.reply_codec, CodecId::JSON);
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok("15"))
        .unwrap();
    pair.settle();
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.id, id);
    let reply = done.result.unwrap();
    assert_eq!(&reply.body[..], b"15");
    assert_eq!(
        reply.service_method, "/math/add",
        "restored from the pending call"
    );
    assert_eq!(reply.body_codec, CodecId::JSON);
    assert_eq!(pair.session(Side::Client).pending_calls(), 0);
}

#[test]
fn reply_frame_matches_go() {
    // The REPLY Go writes for the README call: service method blanked, meta empty.
    let mut pair = pair_with(&["/math/add"], &[]);
    let now = pair.now();
    pair.session(Side::Client)
        .call(
            now,
            call_msg("/math/add", "[1,2,3,4,5]"),
            CallOptions::default(),
        )
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    let server = pair.session(Side::Server);
    server.reply(now, call.token, Reply::ok("15")).unwrap();
    let bytes = server.poll_transmit().unwrap();
    assert_eq!(
        hex::encode(&bytes),
        "0000001600013102000006636f64653d3000006a3135",
        "Appendix A reply"
    );
}

#[test]
fn many_concurrent_calls_out_of_order() {
    let mut pair = pair_with(&["/echo"], &[]).with_chunking(Chunking::Random { seed: 7, max: 97 });
    let now = pair.now();
    let mut ids = Vec::new();
    for i in 0..500 {
        let id = pair
            .session(Side::Client)
            .call(
                now,
                call_msg("/echo", &i.to_string()),
                CallOptions::default(),
            )
            .unwrap();
        ids.push(id);
    }
    pair.settle();
    let mut calls: Vec<IncomingCall> = pair
        .drain_events(Side::Server)
        .into_iter()
        .map(|e| match e {
            Event::Call(c) => c,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(calls.len(), 500);
    calls.reverse(); // answer in reverse order
    let now = pair.now();
    for c in calls {
        let body = c.message.body.clone();
        pair.session(Side::Server)
            .reply(now, c.token, Reply::ok(body))
            .unwrap();
    }
    pair.settle();
    let done = pair.drain_events(Side::Client);
    assert_eq!(done.len(), 500);
    for ev in done {
        let Event::CallDone(d) = ev else { panic!() };
        let idx = ids.iter().position(|i| *i == d.id).expect("known call");
        assert_eq!(d.result.unwrap().body, Bytes::from(idx.to_string()));
    }
}

#[test]
fn push_both_ways() {
    let mut pair = pair_with(&[], &["/push/status"]);
    let now = pair.now();
    let mut m = Message::new(MessageType::PUSH, 0, "/push/status");
    m.body = Bytes::from_static(b"\"hi\"");
    pair.session(Side::Server).push(now, m.clone()).unwrap();
    pair.session(Side::Client).push(now, m).unwrap();
    pair.settle();
    for side in [Side::Client, Side::Server] {
        let p = expect_push(&mut pair, side);
        assert_eq!(p.message.service_method, "/push/status");
        assert_eq!(p.message.seq, 1, "each side has its own counter");
        assert_eq!(&p.message.body[..], b"\"hi\"");
    }
}

#[test]
fn unknown_routes() {
    let mut pair = pair_with(&[], &[]);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/nope", ""), CallOptions::default())
        .unwrap();
    let mut p = Message::new(MessageType::PUSH, 0, "/nope");
    p.body = Bytes::from_static(b"x");
    pair.session(Side::Client).push(now, p).unwrap();
    pair.settle();
    assert!(
        pair.next_event(Side::Server).is_none(),
        "404 and dropped push are handled by the core"
    );
    let done = expect_done(&mut pair, Side::Client);
    let st = done.result.unwrap_err();
    assert_eq!(st, Status::from_code(Code::NOT_FOUND));
    assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");
}

#[test]
fn unknown_call_fallback_and_query_strings() {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/math/add").unwrap();
    let fallback: RouteId = r.set_unknown_call();
    let mut s = SessionConfig::acceptor();
    s.router = Arc::new(r);
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(
            now,
            call_msg("/math/add?x=1", "[1]"),
            CallOptions::default(),
        )
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    assert!(call.unknown);
    assert_eq!(call.route, fallback);
    assert_eq!(call.message.service_method.path(), "/math/add");
    assert_eq!(call.message.service_method.query(), Some("x=1"));
}

#[test]
fn empty_service_method_is_400() {
    let mut pair = pair_with(&[], &[]);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    assert!(pair.next_event(Side::Server).is_none());
    let st = expect_done(&mut pair, Side::Client).result.unwrap_err();
    assert_eq!(st.code(), Code::BAD_MESSAGE);
    assert_eq!(st.cause(), Some("invalid service method for message"));
}

#[test]
fn deadline_expiry_and_late_reply() {
    let mut pair = pair_with(&["/slow"], &[]).with_latency(Duration::from_millis(10));
    let now = pair.now();
    let id = pair
        .session(Side::Client)
        .call(
            now,
            call_msg("/slow", ""),
            CallOptions::timeout(Duration::from_millis(100)),
        )
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    pair.advance(Duration::from_millis(200));
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.id, id);
    assert_eq!(done.result.unwrap_err().code(), Code::HANDLE_TIMEOUT);
    assert_eq!(done.elapsed, Duration::from_millis(100));
    // The late reply arrives and is dropped cleanly.
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok("late"))
        .unwrap();
    pair.settle();
    assert!(pair.next_event(Side::Client).is_none());
    assert!(pair.session(Side::Client).is_open());
    // A call with no deadline waits.
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/slow", ""), CallOptions::no_timeout())
        .unwrap();
    pair.advance(Duration::from_secs(3600));
    assert!(pair.next_event(Side::Client).is_none());
    assert_eq!(pair.session(Side::Client).pending_calls(), 1);
}

#[test]
fn context_age_answers_408_and_drops_late_reply() {
    let mut s = SessionConfig::acceptor();
    s.router = router(&["/slow"], &[]);
    s.context_age = Some(Duration::from_millis(50));
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/slow", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    pair.advance(Duration::from_millis(60));
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.result.unwrap_err().code(), Code::HANDLE_TIMEOUT);
    let now = pair.now();
    assert!(pair
        .session(Side::Server)
        .reply(now, call.token, Reply::ok("x"))
        .is_err());
}

#[test]
fn graceful_close_lets_calls_finish_and_refuses_new_ones() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    let id = pair
        .session(Side::Client)
        .call(now, call_msg("/a", "1"), CallOptions::default())
        .unwrap();
    pair.settle();
    let call = expect_call(&mut pair, Side::Server);
    let now = pair.now();
    pair.session(Side::Client)
        .close(now, Some(Duration::from_secs(5)));
    let refused = pair
        .session(Side::Client)
        .call(now, call_msg("/a", "2"), CallOptions::default());
    assert_eq!(refused.unwrap_err().code(), Code::CONN_CLOSED);
    assert!(pair
        .session(Side::Client)
        .push(now, Message::new(MessageType::PUSH, 0, "/a"))
        .is_err());
    pair.session(Side::Server)
        .reply(now, call.token, Reply::ok("ok"))
        .unwrap();
    pair.settle();
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.id, id);
    assert!(done.result.is_ok(), "the in-flight call finished");
    assert!(matches!(
        pair.next_event(Side::Client),
        Some(Event::Closed(CloseReason::Local))
    ));
    assert!(pair.session(Side::Client).is_closed());
}

#[test]
fn graceful_close_linger_expires() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", "1"), CallOptions::no_timeout())
        .unwrap();
    pair.session(Side::Client)
        .close(now, Some(Duration::from_secs(1)));
    pair.advance(Duration::from_secs(2));
    let done = expect_done(&mut pair, Side::Client);
    assert_eq!(done.result.unwrap_err().code(), Code::CONN_CLOSED);
    assert!(matches!(
        pair.next_event(Side::Client),
        Some(Event::Closed(_))
    ));
}

#[test]
fn immediate_close_fails_pending_with_102() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    for _ in 0..3 {
        pair.session(Side::Client)
            .call(now, call_msg("/a", ""), CallOptions::default())
            .unwrap();
    }
    pair.session(Side::Client).close(now, None);
    let events = pair.drain_events(Side::Client);
    assert_eq!(events.len(), 4);
    for ev in &events[..3] {
        let Event::CallDone(d) = ev else {
            panic!("{ev:?}")
        };
        assert_eq!(
            d.result.as_ref().unwrap_err(),
            &Status::from_code(Code::CONN_CLOSED)
        );
    }
    assert!(matches!(events[3], Event::Closed(CloseReason::Local)));
    assert!(pair
        .session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .is_err());
}

#[test]
fn peer_eof_mid_frame() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    pair.session(Side::Server)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    // Half a frame, then EOF.
    pair.inject(Side::Server, Bytes::from_static(&[0, 0, 0, 58, 0, 1]));
    pair.close_transport(Side::Client);
    pair.settle();
    let events = pair.drain_events(Side::Server);
    let Event::CallDone(d) = &events[0] else {
        panic!("{events:?}")
    };
    let st = d.result.as_ref().unwrap_err();
    assert_eq!(st.code(), Code::CONN_CLOSED);
    assert!(st.cause().unwrap().contains("EOF"));
    assert!(matches!(
        events[1],
        Event::Closed(CloseReason::UnexpectedEof)
    ));
}

#[test]
fn clean_eof_gives_empty_cause() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    pair.close_transport(Side::Server);
    pair.settle();
    let events = pair.drain_events(Side::Client);
    let Event::CallDone(d) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        d.result.as_ref().unwrap_err(),
        &Status::from_code(Code::CONN_CLOSED)
    );
    assert!(matches!(events[1], Event::Closed(CloseReason::PeerClosed)));
}

#[test]
fn garbage_closes_with_protocol_error() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    pair.session(Side::Server)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    pair.inject(Side::Server, Bytes::from_static(b"\x00\x00\x00\x02garbage"));
    pair.settle();
    let events = pair.drain_events(Side::Server);
    assert!(
        matches!(&events[0], Event::CallDone(d) if d.result.as_ref().unwrap_err().code() == Code::CONN_CLOSED)
    );
    assert!(matches!(events[1], Event::Closed(CloseReason::Protocol(_))));
}

#[test]
fn oversized_frame_closes_before_reading_it() {
    let mut s = SessionConfig::acceptor();
    s.wire = WireConfig::default().with_max_message_size(1024);
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    pair.inject(Side::Server, Bytes::from_static(&[0, 1, 0, 0]));
    pair.settle();
    let events = pair.drain_events(Side::Server);
    let Event::Closed(CloseReason::Protocol(e)) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(e.to_string().contains("exceeds limit"));
}

#[test]
fn undefined_message_type_closes_without_reply() {
    let mut pair = pair_with(&[], &[]);
    for t in [0u8, 4, 5, 6, 200] {
        let mut p = pair_with(&[], &[]);
        let mut frame = BytesMut::new();
        RawProto
            .encode(
                &Message::new(MessageType(t), 1, "/x"),
                &WireConfig::default(),
                &mut frame,
            )
            .unwrap();
        p.inject(Side::Server, frame.freeze());
        p.settle();
        let events = p.drain_events(Side::Server);
        assert!(
            matches!(events[0], Event::Closed(CloseReason::MessageTypeNotAllowed(x)) if x == t)
        );
        assert!(p.session(Side::Server).poll_transmit().is_none());
    }
    let _ = pair.drain_events(Side::Server);
}

#[test]
fn reply_codec_negotiation_and_error_reply_shape() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    let mut m = call_msg("/a", "1");
    m.meta.add("X-Accept-Body-Codec", "115"); // 's'
    m.xfer_pipe = erpc_proto::XferPipe::from_ids(b"g");
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    let mut m = call_msg("/a", "2");
    m.meta.add("X-Accept-Body-Codec", "999");
    pair.session(Side::Client)
        .call(now, m, CallOptions::default())
        .unwrap();
    pair.settle();
    let c1 = expect_call(&mut pair, Side::Server);
    let c2 = expect_call(&mut pair, Side::Server);
    assert_eq!(c1.reply_codec, CodecId::PLAIN);
    assert_eq!(c2.reply_codec, CodecId::JSON);
    let now = pair.now();
    pair.session(Side::Server)
        .reply(now, c1.token, Reply::ok("one"))
        .unwrap();
    pair.session(Side::Server)
        .reply(
            now,
            c2.token,
            Reply::error(Status::new(1001, "custom error", Some("custom cause"))),
        )
        .unwrap();
    pair.settle();
    let d1 = expect_done(&mut pair, Side::Client).result.unwrap();
    assert_eq!(d1.body_codec, CodecId::PLAIN);
    assert_eq!(
        d1.xfer_pipe.ids(),
        b"g",
        "the reply reuses the call's filters"
    );
    let d2 = expect_done(&mut pair, Side::Client).result.unwrap_err();
    assert_eq!(d2, Status::new(1001, "custom error", Some("custom cause")));
}

#[test]
fn oversized_reply_becomes_500() {
    let mut s = SessionConfig::acceptor();
    s.router = router(&["/big"], &[]);
    s.wire = WireConfig::default().with_max_message_size(256);
    let mut pair = Pair::new(SessionConfig::dialer(), s);
    let now = pair.now();
    pair.session(Side::Client)
        .call(now, call_msg("/big", ""), CallOptions::default())
        .unwrap();
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    pair.session(Side::Server)
        .reply(now, c.token, Reply::ok(vec![b'x'; 1000]))
        .unwrap();
    pair.settle();
    let st = expect_done(&mut pair, Side::Client).result.unwrap_err();
    assert_eq!(st.code(), Code::INTERNAL_SERVER_ERROR);
    assert!(st.cause().unwrap().contains("exceeds limit"));
}

#[test]
fn cancel_forgets_a_call() {
    let mut pair = pair_with(&["/a"], &[]);
    let now = pair.now();
    let id = pair
        .session(Side::Client)
        .call(now, call_msg("/a", ""), CallOptions::default())
        .unwrap();
    assert!(pair.session(Side::Client).cancel(id));
    assert!(!pair.session(Side::Client).cancel(id));
    pair.settle();
    let c = expect_call(&mut pair, Side::Server);
    pair.session(Side::Server)
        .reply(now, c.token, Reply::ok(""))
        .unwrap();
    pair.settle();
    assert!(pair.next_event(Side::Client).is_none());
}
