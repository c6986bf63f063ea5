//! Framing cost of every wire protocol on the frame of Go eRPC's benchmark: a CALL of
//! `Hello.Say` with the 581-byte protobuf `BenchmarkMessage` (codec `p`), seq varying.
//!
//! Run with `cargo bench -p erpc-proto --bench protos --features testing`.
//!
//! For each of `raw` (baseline), `json`, `pb`, `thrift` (binary variant) and `http`:
//!
//! * `<proto>/encode`: one frame appended to a reused buffer;
//! * `<proto>/decode`: one frame split off a buffer holding many (as an adapter's read buffer
//!   does), the message dropped.
// Benchmarks measure time: the crate-wide ban on clocks is for the sans-IO library code.
#![allow(clippy::disallowed_methods, missing_docs)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use erpc_proto::proto::{HttpProto, JsonProto, PbProto, Protocol, RawProto, ThriftProto};
use erpc_proto::testing::BenchmarkMessage;
use erpc_proto::{Message, WireConfig};
use prost::Message as _;

fn call(seq: i32, body: Bytes) -> Message {
    BenchmarkMessage::call(seq, body)
}

/// Frames decoded per timed batch.
const BATCH: u64 = 1024;

fn protos(c: &mut Criterion) {
    let cfg = WireConfig::default();
    let body = Bytes::from(BenchmarkMessage::filled().encode_to_vec());
    assert_eq!(body.len(), 581);
    let http = HttpProto::new();
    let all: [(&str, &dyn Protocol); 5] = [
        ("raw", &RawProto),
        ("json", &JsonProto),
        ("pb", &PbProto),
        ("thrift", &ThriftProto::BINARY),
        ("http", &http),
    ];
    for (name, p) in all {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(1));

        g.bench_function("encode", |b| {
            let mut msg = call(1, body.clone());
            let mut out = BytesMut::with_capacity(4096);
            b.iter(|| {
                msg.seq = msg.seq.wrapping_add(1);
                out.clear();
                p.encode(black_box(&msg), &cfg, &mut out).unwrap();
                black_box(&out);
            })
        });

        let mut stream = BytesMut::new();
        for seq in 1..=BATCH as i32 {
            p.encode(&call(seq, body.clone()), &cfg, &mut stream)
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
                        black_box(p.decode(black_box(&mut buf), &cfg).unwrap().unwrap());
                    }
                    total += start.elapsed();
                    left -= n;
                }
                total
            })
        });
        g.finish();
    }
}

criterion_group!(benches, protos);
criterion_main!(benches);
