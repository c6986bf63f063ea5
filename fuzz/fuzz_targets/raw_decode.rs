//! Arbitrary bytes through `RawProto::decode`, under a 1 MiB and the default size limit: never
//! panics, never loops, and every message it accepts re-encodes to a frame that decodes to the
//! same message. See `erpc_fuzz::raw_decode::check`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| erpc_fuzz::raw_decode::check(data));
