//! Replays the exchanges captured between a real Go eRPC client and server (the `capture`
//! vectors) through `Session`s: the events match what Go sent, and the bytes our sessions
//! write match what Go wrote.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use erpc_proto::plugin::SessionInfo;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{Auth, CallOptions, Event, HeartbeatPing, Reply, Session, SessionConfig};
use erpc_proto::{CodecId, Message, MessageType, Meta, Status};
use erpc_tests::vectors::named;

fn server(now: Instant) -> Session {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/math/add").unwrap();
    r.add_call("/err/code").unwrap();
    let mut rpc = Router::new(Mapper::Rpc);
    let _ = &mut rpc;
    r.add_call("Hello.Say").unwrap();
    let mut cfg = SessionConfig::acceptor();
    cfg.router = Arc::new(r);
    cfg.heartbeat_pong = true;
    Session::new(cfg, SessionInfo::default(), now)
}

fn feed(s: &mut Session, now: Instant, frame: &[u8]) {
    let mut buf = BytesMut::from(frame);
    s.handle_input(now, &mut buf);
    assert!(buf.is_empty(), "whole frame consumed");
}

fn out(s: &mut Session) -> Vec<u8> {
    s.poll_transmit().map(|b| b.to_vec()).unwrap_or_default()
}

#[test]
fn server_side_of_the_readme_exchange() {
    let now = Instant::now();
    let mut s = server(now);
    for (call, reply, answer) in [
        ("raw_call_math_add", "raw_reply_math_add", Ok("15")),
        (
            "raw_call_err_code",
            "raw_reply_err_code",
            Err(Status::new(1001, "custom error", Some("custom cause"))),
        ),
    ] {
        let v = named(call);
        feed(&mut s, now, &v.frame);
        let Some(Event::Call(c)) = s.poll_event() else {
            panic!("{call}")
        };
        assert_eq!(c.message, v.unpacked_message(), "{call}");
        let r = match answer {
            Ok(body) => Reply::ok(body),
            Err(st) => Reply::error(st),
        };
        s.reply(now, c.token, r).unwrap();
        assert_eq!(
            hex::encode(out(&mut s)),
            hex::encode(&named(reply).frame),
            "{reply}"
        );
    }
    // Unknown route: the core answers 404 by itself, with Go's exact status bytes.
    feed(&mut s, now, &named("raw_call_not_found").frame);
    assert!(s.poll_event().is_none());
    assert_eq!(
        hex::encode(out(&mut s)),
        hex::encode(&named("raw_reply_not_found").frame)
    );
}

#[test]
fn client_side_of_the_readme_exchange() {
    let now = Instant::now();
    let mut c = Session::new(SessionConfig::dialer(), SessionInfo::default(), now);
    let call = named("raw_call_math_add");
    let id = c.call(now, call.message(), CallOptions::default()).unwrap();
    assert_eq!(hex::encode(out(&mut c)), hex::encode(&call.frame));
    feed(&mut c, now, &named("raw_reply_math_add").frame);
    let Some(Event::CallDone(d)) = c.poll_event() else {
        panic!()
    };
    assert_eq!(d.id, id);
    let reply = d.result.unwrap();
    assert_eq!(&reply.body[..], b"15");
    assert_eq!(reply.service_method, "/math/add");
}

#[test]
fn benchmark_exchange() {
    let now = Instant::now();
    let mut s = server(now);
    let call = named("raw_call_bench_protobuf");
    feed(&mut s, now, &call.frame);
    let Some(Event::Call(c)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(c.message.service_method, "Hello.Say");
    assert_eq!(c.reply_codec, CodecId::PROTOBUF);
    let reply = named("raw_reply_bench_protobuf");
    s.reply(now, c.token, Reply::ok(reply.fields.body.clone()))
        .unwrap();
    assert_eq!(hex::encode(out(&mut s)), hex::encode(&reply.frame));
}

#[test]
fn pushes_from_the_server() {
    let now = Instant::now();
    let mut s = server(now);
    for name in ["raw_push_status_json", "raw_push_status_plain"] {
        let v = named(name);
        s.push(now, v.message()).unwrap();
        assert_eq!(hex::encode(out(&mut s)), hex::encode(&v.frame), "{name}");
    }
    // And the client receives them as Go's client did.
    let mut r = Router::new(Mapper::Http);
    r.add_push("/push/status").unwrap();
    let mut cfg = SessionConfig::dialer();
    cfg.router = Arc::new(r);
    let mut c = Session::new(cfg, SessionInfo::default(), now);
    for name in ["raw_push_status_json", "raw_push_status_plain"] {
        let v = named(name);
        feed(&mut c, now, &v.frame);
        let Some(Event::Push(p)) = c.poll_event() else {
            panic!()
        };
        assert_eq!(p.message, v.unpacked_message());
    }
}

fn bearer(now: Instant) -> Session {
    let mut cfg = SessionConfig::dialer();
    cfg.auth = Auth::Bearer {
        codec: CodecId::PLAIN,
        info: Bytes::from(named("raw_auth_call").fields.body),
        meta: Meta::new(),
    };
    Session::new(cfg, SessionInfo::default(), now)
}

fn checker(now: Instant) -> Session {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/math/add").unwrap();
    let mut cfg = SessionConfig::acceptor();
    cfg.auth = Auth::Checker;
    cfg.router = Arc::new(r);
    Session::new(cfg, SessionInfo::default(), now)
}

#[test]
fn auth_exchange() {
    let now = Instant::now();
    let mut c = bearer(now);
    assert_eq!(
        hex::encode(out(&mut c)),
        hex::encode(&named("raw_auth_call").frame)
    );
    let after = named("raw_call_after_auth");
    c.call(now, after.message(), CallOptions::default())
        .unwrap();
    assert!(c.poll_transmit().is_none(), "held until authenticated");

    let mut s = checker(now);
    feed(&mut s, now, &named("raw_auth_call").frame);
    let Some(Event::AuthRequest(req)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(req, named("raw_auth_call").unpacked_message());
    s.accept_auth(now, Reply::ok("pass").with_codec(CodecId::PLAIN))
        .unwrap();
    assert_eq!(
        hex::encode(out(&mut s)),
        hex::encode(&named("raw_auth_reply_pass").frame)
    );

    feed(&mut c, now, &named("raw_auth_reply_pass").frame);
    assert!(matches!(c.poll_event(), Some(Event::Authenticated(_))));
    assert_eq!(
        hex::encode(out(&mut c)),
        hex::encode(&after.frame),
        "the held call, seq 2"
    );

    feed(&mut s, now, &after.frame);
    assert!(matches!(s.poll_event(), Some(Event::Authenticated(_))));
    let Some(Event::Call(call)) = s.poll_event() else {
        panic!()
    };
    assert_eq!(call.message, after.unpacked_message());
}

#[test]
fn auth_rejection_exchange() {
    let now = Instant::now();
    let mut s = checker(now);
    feed(&mut s, now, &named("raw_auth_call").frame);
    let Some(Event::AuthRequest(_)) = s.poll_event() else {
        panic!()
    };
    let verdict = Reply::error(Status::new(403, "auth fail", Some("auth fail detail")))
        .with_codec(CodecId::PLAIN);
    s.accept_auth(now, verdict).unwrap();
    assert_eq!(
        hex::encode(out(&mut s)),
        hex::encode(&named("raw_auth_reply_reject").frame)
    );
    assert!(s.is_closed());

    let mut c = bearer(now);
    let _ = out(&mut c);
    feed(&mut c, now, &named("raw_auth_reply_reject").frame);
    let Some(Event::Closed(reason)) = c.poll_event() else {
        panic!()
    };
    let st = reason.status();
    assert_eq!(st.code().0, 105, "Go's client reports Dial Failed");
    assert_eq!(st.cause(), Some("auth fail detail"));
}

#[test]
fn heartbeat_exchange() {
    let now = Instant::now();
    let mut s = server(now);
    feed(&mut s, now, &named("raw_heartbeat_ping_call").frame);
    assert!(s.poll_event().is_none(), "the pong is answered by the core");
    assert_eq!(
        hex::encode(out(&mut s)),
        hex::encode(&named("raw_heartbeat_pong_reply").frame)
    );
    feed(&mut s, now, &named("raw_heartbeat_ping_push").frame);
    assert!(s.poll_event().is_none());
    assert!(s.poll_transmit().is_none(), "a PUSH ping is not answered");

    for (name, ping) in [
        (
            "raw_heartbeat_ping_push",
            HeartbeatPing::push(Duration::from_secs(3)),
        ),
        (
            "raw_heartbeat_ping_call",
            HeartbeatPing::call(Duration::from_secs(3)),
        ),
    ] {
        let mut cfg = SessionConfig::dialer();
        cfg.heartbeat_ping = Some(ping);
        let mut c = Session::new(cfg, SessionInfo::default(), now);
        let due = c.poll_timeout().unwrap();
        assert_eq!(due, now + Duration::from_secs(3));
        c.handle_timeout(due);
        assert_eq!(
            hex::encode(out(&mut c)),
            hex::encode(&named(name).frame),
            "{name}"
        );
    }
}

#[test]
fn every_raw_capture_decodes_in_a_session_stream() {
    // All client->server captures as one stream into a server: it never closes on them.
    let now = Instant::now();
    let mut s = server(now);
    let mut stream = BytesMut::new();
    for name in [
        "raw_call_math_add",
        "raw_call_err_code",
        "raw_call_not_found",
        "raw_heartbeat_ping_push",
    ] {
        stream.extend_from_slice(&named(name).frame);
    }
    s.handle_input(now, &mut stream);
    assert!(!s.is_closed());
    let mut calls = 0;
    while let Some(ev) = s.poll_event() {
        if let Event::Call(c) = ev {
            calls += 1;
            assert_eq!(c.message.mtype, MessageType::CALL);
        }
    }
    assert_eq!(calls, 2);
    let _: Message = Message::default();
}
