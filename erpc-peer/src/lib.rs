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

mod builder;
mod call;
mod config;
mod conn;
mod context;
mod driver;
mod handler;
mod lifecycle;
mod log;
mod peer;
pub mod runtime;
mod session;
mod setup;
mod state;
#[cfg(feature = "tls")]
pub mod tls;

pub use builder::{BuildError, PeerBuilder, Service, SubRoute};
pub use call::{CallBuilder, CallReply, SessionHandle};
pub use config::{format_go_duration, limits, parse_go_duration, PeerConfig};
pub use conn::stats::{PeerStats, SessionStats};
pub use context::{CallCtx, PushCtx};
#[cfg(feature = "macros")]
pub use erpc_macros::service;
pub use handler::{BoxFuture, IntoReply, Response};
pub use peer::Peer;
pub use runtime::{Connected, Endpoint, IpFamily, Runtime, SocketOptions, Timer};
pub use session::{CallFuture, Session};

pub use erpc_proto;
pub use erpc_proto::codec::Raw;
pub use erpc_proto::{Code, CodecId, Message, Meta, Status};
#[cfg(feature = "tls")]
pub use futures_rustls::rustls;

/// What the runtime adapters that do not run on [`Peer`] (erpc-runtime-blocking) share with
/// it, so that the mapping of the configuration, the per-connection session setup, the run
/// logs and the handling of handler arguments and panics exist once; not a public API.
#[doc(hidden)]
pub mod adapter {
    pub use crate::call::{decode_reply, encode_push};
    pub use crate::handler::{call_args, log_push_panic, panic_reply, push_args};
    pub use crate::log::LogConfig;
    pub use crate::setup::{
        endpoint, listen_addr, post_new_peer, redial_interval, session_core, session_core_at,
        BuilderCore, PeerParts,
    };
}

/// Paths the `#[service]` macro expands to; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::{PeerBuilder, Runtime, Service};
}
