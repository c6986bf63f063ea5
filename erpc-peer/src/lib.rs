//! The runtime-agnostic async half of erpc-rs: [`Peer`], [`Session`] handles, handler
//! registration, redial, graceful shutdown, TLS — written once against a small [`Runtime`]
//! trait that `erpc-runtime-tokio` and `erpc-runtime-async-std` implement.
//!
//! Applications use it through a runtime adapter, which re-exports everything here with the
//! runtime filled in. Protocol logic stays in the sans-IO [`erpc_proto`] core; this crate
//! moves bytes, time and handler results between the core and the sockets.
//!
//! # Architecture
//!
//! One future per connection (the *driver*) owns the connection's `erpc_proto` session and
//! its stream. Handles ([`Session`]) send commands over one channel; handlers run as futures
//! inside the driver (no task spawn per message); everything the core queued is written with
//! one write; reads are 64 KiB.

mod config;
mod driver;
mod handler;
mod log;
mod peer;
pub mod runtime;
mod session;
#[cfg(feature = "tls")]
pub mod tls;

pub use config::{format_go_duration, parse_go_duration, PeerConfig};
#[cfg(feature = "macros")]
pub use erpc_macros::service;
pub use handler::{BoxFuture, CallCtx, IntoReply, PushCtx, Response};
pub use peer::{BuildError, Peer, PeerBuilder, Service};
pub use runtime::{Connected, Endpoint, IpFamily, Runtime, SocketOptions, Timer};
pub use session::{CallBuilder, CallReply, Session};

pub use erpc_proto;
pub use erpc_proto::codec::Raw;
pub use erpc_proto::{Code, CodecId, Message, Meta, Status};
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;

/// Paths the `#[service]` macro expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::{PeerBuilder, Runtime, Service};
}
