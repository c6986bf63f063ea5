//! erpc-rs on plain std threads and sockets, for programs without an async runtime, around the
//! sans-IO [`erpc_proto`] core.
//!
//! This crate is being built; today it re-exports the core so that applications can depend
//! on the runtime crate alone.

pub use erpc_proto as proto;
