//! Shared helpers of the erpc-rs test suite: loading the Go eRPC golden vectors.

pub mod vectors;
