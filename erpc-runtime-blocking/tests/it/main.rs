//! Integration tests of `erpc-runtime-blocking`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod auth;
#[cfg(feature = "binder")]
mod binder;
mod common;
mod concurrency;
#[cfg(feature = "kcp")]
mod kcp;
mod multiclient;
mod overload;
mod pool;
mod protocols;
mod proxy;
mod readme;
mod redial;
mod serve;
mod service;
mod shutdown;
mod signal;
mod tls;
mod unix;
#[cfg(all(feature = "unixpacket", target_os = "linux"))]
mod unixpacket;
#[cfg(feature = "ws")]
mod ws;
