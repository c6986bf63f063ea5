//! Integration tests of `erpc-cli`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod bench;
mod call;
mod common;
mod decode;
mod go_interop;
mod go_kcp;
mod go_plugins;
mod go_proxy;
mod go_ws;
mod metrics;
mod transports;
mod watch;
