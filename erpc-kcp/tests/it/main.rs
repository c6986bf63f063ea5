//! Integration tests of erpc-kcp (one binary, one module per concern).

#![allow(clippy::disallowed_methods)] // tests start a virtual clock at the real one

mod conn;
mod fec;
mod fixtures;
mod hostile;
mod net;
