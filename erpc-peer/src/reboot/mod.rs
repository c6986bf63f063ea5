//! Graceful reboot (Linux and other unix systems), as Go eRPC's `Reboot`: a new process of
//! the same program takes over every listener, then this one drains and exits. No call in
//! flight is lost and no connection attempt is refused: the listening sockets never close.
//!
//! * The process being replaced calls [`start_successor`] (the tokio adapter's
//!   `graceful_reboot_on_signal` does on `SIGUSR2`), then closes its peer gracefully.
//! * The new process needs nothing special: a listen whose address matches an inherited
//!   socket takes it instead of binding (for port 0, the port the old process had, read
//!   from `LISTEN_PARENT_ADDRS`), and once every inherited listener is served it tells the
//!   old process so ([`notify_ready`]).
//!
//! On the wire of process hand-over this is Go's format: descriptors from 3, `LISTEN_FDS`,
//! `LISTEN_PARENT_ADDRS` (`{network:{host:[host:port…]}}`), `LISTEN_QUIC_FDS=0`. One step is
//! erpc-rs' own: the old process waits (`ERPC_REBOOT_READY`, at most
//! [`RebootOptions::ready_timeout`]) until the new one serves, and goes on serving when it
//! does not, where Go shuts the old process down whether or not the new one started.
//! Unlike goutil, the old process's parent is never sent a signal.

mod inherit;
mod parent_addrs;
mod successor;

pub use inherit::{notify_ready, LISTEN_FDS, READY_ENV};
pub use parent_addrs::ENV as LISTEN_PARENT_ADDRS;
pub use successor::{start_successor, RebootOptions, Successor};

pub(crate) use inherit::{register, take_tcp, take_unix};
