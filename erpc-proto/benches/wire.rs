//! rawproto framing cost, on the frame of Go eRPC's benchmark: a CALL of `Hello.Say` with the
//! 581-byte protobuf `BenchmarkMessage` (codec `p`), seq varying.
//!
//! Run with `cargo bench -p erpc-proto --bench wire --features testing`.
//!
//! * `raw/encode`: one frame appended to a reused buffer.
//! * `raw/decode`: one frame split off a buffer holding many (as an adapter's read buffer does),
//!   the message dropped.
//! * `raw/encode_decode`: both, one frame at a time through the same buffer.
//! * `protobuf/*`: the body codec work alone, for comparison.
// Benchmarks measure time: the crate-wide ban on clocks is for the sans-IO library code.
#![allow(clippy::disallowed_methods, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::testing::BenchmarkMessage;
use erpc_proto::{CodecId, Message, MessageType, WireConfig};
use prost::Message as _;

fn call(seq: i32, body: Bytes) -> Message {
    BenchmarkMessage::call(seq, body)
}

/// Frames decoded per timed batch in `raw/decode`.
const BATCH: u64 = 1024;

fn raw(c: &mut Criterion) {
    let cfg = WireConfig::default();
    let body = Bytes::from(BenchmarkMessage::filled().encode_to_vec());
    assert_eq!(body.len(), 581);
    let mut g = c.benchmark_group("raw");
    g.throughput(Throughput::Elements(1));

    g.bench_function("encode", |b| {
        let mut msg = call(1, body.clone());
        let mut out = BytesMut::with_capacity(4096);
        b.iter(|| {
            msg.seq = msg.seq.wrapping_add(1);
            out.clear();
            RawProto.encode(black_box(&msg), &cfg, &mut out).unwrap();
            black_box(&out);
        })
    });

    // A read buffer holding BATCH frames with seq 1..=BATCH, refilled outside the timing.
    let mut stream = BytesMut::new();
    for seq in 1..=BATCH as i32 {
        RawProto
            .encode(&call(seq, body.clone()), &cfg, &mut stream)
            .unwrap();
    }
    let stream = stream.freeze();
    g.bench_function("decode", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(BATCH);
                let mut buf = BytesMut::from(&stream[..]);
                let start = Instant::now();
                for _ in 0..n {
                    black_box(RawProto.decode(black_box(&mut buf), &cfg).unwrap().unwrap());
                }
                total += start.elapsed();
                left -= n;
            }
            total
        })
    });

    g.bench_function("encode_decode", |b| {
        let mut msg = call(1, body.clone());
        let mut buf = BytesMut::with_capacity(4096);
        b.iter(|| {
            msg.seq = msg.seq.wrapping_add(1);
            RawProto.encode(black_box(&msg), &cfg, &mut buf).unwrap();
            black_box(RawProto.decode(&mut buf, &cfg).unwrap().unwrap());
        })
    });

    // What an encode costs when the caller also builds the message (service method from a
    // static string, body shared).
    g.bench_function("build_encode_decode", |b| {
        let mut seq = 0i32;
        let mut buf = BytesMut::with_capacity(4096);
        b.iter(|| {
            seq = seq.wrapping_add(1);
            let mut msg = Message::new(
                MessageType::CALL,
                seq,
                erpc_proto::ServiceMethod::from_static("Hello.Say"),
            );
            msg.body_codec = CodecId::PROTOBUF;
            msg.body = body.clone();
            RawProto.encode(&msg, &cfg, &mut buf).unwrap();
            black_box(RawProto.decode(&mut buf, &cfg).unwrap().unwrap());
        })
    });
    g.finish();
}

fn protobuf(c: &mut Criterion) {
    let msg = BenchmarkMessage::filled();
    let body = Bytes::from(msg.encode_to_vec());
    let mut g = c.benchmark_group("protobuf");
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(1024);
        b.iter(|| {
            out.clear();
            black_box(&msg).encode(&mut out).unwrap();
            black_box(&out);
        })
    });
    g.bench_function("decode", |b| {
        b.iter(|| black_box(BenchmarkMessage::decode(black_box(body.clone())).unwrap()))
    });
    g.bench_function("decode_into_reply_encode", |b| {
        let mut out = BytesMut::with_capacity(1024);
        b.iter_batched_ref(
            || body.clone(),
            |body| {
                out.clear();
                let m = BenchmarkMessage::decode(body.clone()).unwrap().into_reply();
                m.encode(&mut out).unwrap();
                black_box(&out);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, raw, protobuf);
criterion_main!(benches);
