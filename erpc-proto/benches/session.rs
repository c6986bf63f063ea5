//! The full path of a call through two sessions in memory: the CALL encoded, decoded, routed,
//! the REPLY encoded, decoded and matched to its call. Go eRPC's benchmark message (581 bytes
//! of protobuf, codec `p`, `Hello.Say`); the handler answers with the pre-encoded 527-byte
//! reply, so protobuf work is excluded unless the name says `with_protobuf`.
//!
//! Run with `cargo bench -p erpc-proto --bench session --features testing`.
//!
//! * `pair/sequential`: one call at a time (call, deliver, reply, deliver).
//! * `pair/batch_100`: 100 calls in flight, delivered with one read each way, as a driver
//!   under load sees them.
//! * `pair/batch_100_with_deadlines`: the same with a deadline on every call (the default
//!   60 s call timeout) and a handler budget (context age) on every incoming call: the cost
//!   of the session's timers.
// Benchmarks measure time: the crate-wide ban on clocks is for the sans-IO library code.
#![allow(clippy::disallowed_methods, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use erpc_proto::plugin::SessionInfo;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{CallOptions, Event, Reply, Session, SessionConfig};
use erpc_proto::testing::BenchmarkMessage;
use erpc_proto::{CodecId, Message, MessageType};
use prost::Message as _;

struct Bench {
    client: Session,
    server: Session,
    cbuf: BytesMut,
    sbuf: BytesMut,
    now: Instant,
    call_body: Bytes,
    reply_body: Bytes,
    opts: CallOptions,
}

impl Bench {
    fn new() -> Bench {
        Bench::with_deadlines(false)
    }

    /// `deadlines`: every call has the default 60 s deadline and every incoming call a 60 s
    /// context age.
    fn with_deadlines(deadlines: bool) -> Bench {
        let now = Instant::now();
        let mut r = Router::new(Mapper::Rpc);
        r.add_call("Hello.Say").unwrap();
        let mut s = SessionConfig::acceptor();
        s.router = Arc::new(r);
        if deadlines {
            s.context_age = Some(std::time::Duration::from_secs(60));
        }
        let mut c = SessionConfig::dialer();
        c.default_body_codec = CodecId::PROTOBUF;
        let call = BenchmarkMessage::filled();
        let mut reply = call.clone();
        reply.field1 = "OK".into();
        reply.field2 = 100;
        Bench {
            client: Session::new(c, SessionInfo::default(), now),
            server: Session::new(s, SessionInfo::default(), now),
            cbuf: BytesMut::with_capacity(1 << 16),
            sbuf: BytesMut::with_capacity(1 << 16),
            now,
            call_body: Bytes::from(call.encode_to_vec()),
            reply_body: Bytes::from(reply.encode_to_vec()),
            opts: if deadlines {
                CallOptions::default()
            } else {
                CallOptions::no_timeout()
            },
        }
    }

    /// `n` calls in flight, then everything delivered and answered. `protobuf`: the handler
    /// decodes the request and encodes its reply.
    fn round(&mut self, n: usize, protobuf: bool) {
        let now = self.now;
        for _ in 0..n {
            let mut m = Message::new(MessageType::CALL, 0, "Hello.Say");
            m.body = self.call_body.clone();
            self.client.call(now, m, self.opts).unwrap();
        }
        self.client.poll_transmit_into(&mut self.sbuf);
        self.server.handle_input(now, &mut self.sbuf);
        while let Some(ev) = self.server.poll_event() {
            let Event::Call(c) = ev else { unreachable!() };
            let body = if protobuf {
                let mut req = BenchmarkMessage::decode(c.message.body.clone()).unwrap();
                req.field1 = "OK".into();
                req.field2 = 100;
                Bytes::from(req.encode_to_vec())
            } else {
                self.reply_body.clone()
            };
            self.server.reply(now, c.token, Reply::ok(body)).unwrap();
        }
        self.server.poll_transmit_into(&mut self.cbuf);
        self.client.handle_input(now, &mut self.cbuf);
        let mut done = 0;
        while let Some(ev) = self.client.poll_event() {
            let Event::CallDone(d) = ev else {
                unreachable!()
            };
            assert!(d.result.is_ok());
            done += 1;
        }
        assert_eq!(done, n);
    }
}

fn pair(c: &mut Criterion) {
    let mut g = c.benchmark_group("pair");
    g.throughput(Throughput::Elements(1));
    let mut b = Bench::new();
    g.bench_function("sequential", |bn| bn.iter(|| b.round(1, false)));
    g.throughput(Throughput::Elements(100));
    let mut b = Bench::new();
    g.bench_function("batch_100", |bn| bn.iter(|| b.round(100, false)));
    let mut b = Bench::with_deadlines(true);
    g.bench_function("batch_100_with_deadlines", |bn| {
        bn.iter(|| b.round(100, false))
    });
    let mut b = Bench::new();
    g.bench_function("batch_100_with_protobuf", |bn| {
        bn.iter(|| b.round(100, true))
    });
    g.finish();
}

criterion_group!(benches, pair);
criterion_main!(benches);
