//! Integration tests of `erpc-proto`, one binary with a module per concern (every extra test
//! binary relinks the dependencies and costs build time).

mod codec_body;
mod codec_proptest;
mod codec_registry;
mod codec_vectors;
mod fuzz_corpus;
mod fuzz_corpus_protos;
mod fuzz_corpus_session;
mod proto_roundtrip;
mod raw_roundtrip;
mod session_auth_heartbeat;
mod session_calls;
mod session_goaway;
mod session_half_close;
mod session_plugins;
mod session_prop;
mod session_ready_plugins;
mod session_router;
mod session_timers;
