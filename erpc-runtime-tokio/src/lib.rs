//! erpc-rs on tokio: sockets, timers and handler execution around the sans-IO
//! [`erpc_proto`] core.
//!
//! This crate is being built; today it re-exports the core so that applications can depend
//! on the runtime crate alone. The `Peer` type lands with the session state machine.

pub use erpc_proto as proto;
