//! Two sessions driven by an arbitrary script of commands, injected bytes, time and chunking.
//! See `erpc_fuzz::session::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| erpc_fuzz::session::check(data));
