//! Integration tests of `erpc-runtime-async-std`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

#[macro_use]
mod common;
mod concurrency;
mod flow_control;
#[cfg(all(feature = "kcp", feature = "smol"))]
mod kcp;
mod plugins_pool;
mod quic;
mod readme;
mod redial;
mod service_macro;
mod shutdown;
mod signal;
mod tls;
mod unix;
#[cfg(all(feature = "unixpacket", feature = "smol", target_os = "linux"))]
mod unixpacket;
#[cfg(all(feature = "ws", feature = "smol"))]
mod ws;
