//! erpc-rs on futures-io (async-std and smol): sockets, timers and handler execution around
//! the sans-IO [`erpc_proto`] core.
//!
//! This crate is being built; today it re-exports the core so that applications can depend
//! on the runtime crate alone.

pub use erpc_proto as proto;
