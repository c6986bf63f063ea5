//! Go eRPC's ready-made plugins, wire-compatible with Go:
//!
//! | Plugin | Go package | Where |
//! |---|---|---|
//! | [`Overloader`] | `plugin/overloader` | here: connection and QPS limits shared by every session of a peer |
//! | [`IgnoreCase`] | `plugin/ignorecase` | [`erpc_proto::plugins`] (a pure message transform) |
//! | `Secure` (erpc-proto feature `secure`) | `plugin/secure` | [`erpc_proto::plugins`]; weak, for interop only |
//!
//! Register them with [`PeerBuilder::plugin`](crate::PeerBuilder::plugin). Go's order is
//! ignorecase first, so that the overloader counts routes by their lower-cased name.

mod overloader;

pub use erpc_proto::plugins::*;
pub use overloader::{HandlerLimit, LimitConfig, LimitConfigError, Overloader};
