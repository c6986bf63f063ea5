//! Integration tests of `erpc-runtime-tokio`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod auth;
mod binder;
mod common;
mod concurrency;
mod config;
mod early;
mod flow_control;
mod go_wire;
mod handler_panics;
mod handler_tasks;
mod hostile;
#[cfg(feature = "kcp")]
mod kcp;
mod limits;
mod metrics;
mod multiclient;
mod networks;
mod protocols;
mod proxy;
#[cfg(feature = "quic")]
mod quic;
mod readme;
#[cfg(all(unix, feature = "reboot"))]
mod reboot;
mod redial;
mod serve_conn;
mod server_killed;
mod service_macro;
mod shutdown;
mod sub_route;
mod symmetry;
mod tls;
mod tower;
mod trace_context;
mod unix;
#[cfg(all(feature = "unixpacket", target_os = "linux"))]
mod unixpacket;
#[cfg(feature = "ws")]
mod ws;
