//! Shared helpers of the erpc-rs test suite: loading the Go eRPC golden vectors, and the
//! checks every wire protocol passes against them.

// An internal test-support crate: its records mirror the vector files and are built by the
// tests with struct literals.
#![allow(clippy::exhaustive_structs)]

pub mod proto_vectors;
pub mod vectors;
