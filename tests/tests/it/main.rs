//! Integration tests of `tests`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod conformance;
mod http_vectors;
mod json_vectors;
mod pb_vectors;
mod quic_cross_runtime;
mod raw_vectors;
mod session_capture;
mod thrift_vectors;
