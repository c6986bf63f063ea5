//! Arbitrary bytes through the jsonproto decoder under a 1 MiB and the default size limit:
//! never panics, never loops, consumes whole frames only, and every message it accepts
//! survives re-encoding. See `proto_checks.rs`.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "proto_checks.rs"]
mod proto_checks;

fuzz_target!(|data: &[u8]| proto_checks::json(data));
