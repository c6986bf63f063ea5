//! Go eRPC's ready-made plugins that are pure message transforms, wire-compatible with Go:
//!
//! | Plugin | Go package | What |
//! |---|---|---|
//! | [`IgnoreCase`] | `plugin/ignorecase` | case-insensitive service-method routing |
//! | [`Secure`] (feature `secure`) | `plugin/secure` | AES-ECB body encryption (weak: interop only, see its docs) |
//!
//! Register them like any [`Plugin`](crate::plugin::Plugin) (globally, or on a group of
//! routes). The overloader, which keeps state across connections, is in erpc-peer.

mod ignorecase;
#[cfg(feature = "secure")]
pub mod secure;

pub use ignorecase::IgnoreCase;
#[cfg(feature = "secure")]
pub use secure::Secure;
