//! Integration tests of `erpc-cli`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod bench;
mod browser;
mod call;
mod common;
mod decode;
// The real-etcd helper of erpc-registry-etcd's tests, shared rather than copied.
#[path = "../../../erpc-registry-etcd/tests/it/etcd.rs"]
#[allow(dead_code)]
mod etcd;
#[cfg(any(feature = "kcp", feature = "ws"))]
mod go_blocking_net;
mod go_interop;
mod go_kcp;
mod go_plugins;
mod go_proxy;
#[cfg(all(feature = "kcp", feature = "ws"))]
mod go_smol;
mod go_ws;
mod metrics;
mod reboot;
mod registry;
mod transports;
mod watch;
