//! Shared helpers of the erpc-rs test suite: loading the Go eRPC golden vectors, and the
//! checks every wire protocol passes against them.

pub mod proto_vectors;
pub mod vectors;
