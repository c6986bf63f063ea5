//! Test support, behind the `testing` feature: things tests, benches and fuzzers of erpc-rs
//! (and of programs built on it) share.
//!
//! * [`BenchmarkMessage`]: the protobuf message of Go eRPC's benchmark (`examples/bench`),
//!   byte for byte.
//! * [`Pair`]: two sessions wired back to back with a virtual clock, latency and chunking.

mod bench_message;
mod harness;

pub use bench_message::{BenchmarkMessage, SENTENCE};
pub use harness::{Chunking, Pair, Side};
