//! The sans-IO core of erpc-rs: a wire-compatible implementation of
//! [eRPC](https://github.com/henrylee2cn/erpc) (Go, v6) that does no I/O.
//!
//! Bytes go in, bytes come out, and time is passed in. Nothing in this crate reads a clock,
//! touches a socket or spawns a thread (a `clippy.toml` next to the crate enforces it), so the
//! same code runs under tokio, async-std, smol, plain threads or a hand-written event loop, and
//! can be fuzzed and tested deterministically.
//!
//! # Layers
//!
//! * [`Message`]: one eRPC message (seq, type, service method, [`Status`], [`Meta`], body codec,
//!   body, transfer pipe), exactly as Go eRPC models it.
//! * [`proto`]: wire protocols that turn messages into frames and back; [`proto::RawProto`] is
//!   eRPC's default. Decoders are incremental: they take any prefix of a byte stream and leave a
//!   partial frame in place.
//! * [`xfer`]: transfer filters (gzip, md5, your own) applied to a frame's payload.
//! * [`codec`]: body codecs (json, protobuf, thrift, xml, form, plain, your own).
//!
//! * [`session::Session`]: the state machine of one connection (the same type on both
//!   sides): call/reply matching, pushes, deadlines, closing, auth, heartbeat, routing through
//!   a [`router::Router`] and [`plugin`] hooks.
//! * [`testing`] (feature `testing`): two sessions wired back to back with a virtual clock.
//!
//! # Embedding the core in your own event loop
//!
//! A driver owns the socket and a read buffer and does four things, in any order, as often as
//! it likes:
//!
//! 1. after a read, [`Session::handle_input`](session::Session::handle_input) with the buffer
//!    (whole frames are split off; a partial frame stays), or
//!    [`handle_eof`](session::Session::handle_eof) when the peer closed;
//! 2. drain [`poll_event`](session::Session::poll_event): run handlers for incoming calls and
//!    pushes and answer with [`reply`](session::Session::reply); complete callers on
//!    `CallDone`; close the socket after `Closed`;
//! 3. write what [`poll_transmit`](session::Session::poll_transmit) returns (everything
//!    queued, in one write);
//! 4. sleep until the socket is readable or [`poll_timeout`](session::Session::poll_timeout),
//!    then call [`handle_timeout`](session::Session::handle_timeout).
//!
//! `examples/event_loop.rs` does exactly this over non-blocking std sockets with no async
//! runtime (`cargo run -p erpc-proto --example event_loop`); the `erpc-peer` crate does it
//! as a future for tokio, async-std and smol.
//!
//! # Example: a frame byte for byte
//!
//! ```
//! use bytes::BytesMut;
//! use erpc_proto::{Message, MessageType, CodecId, WireConfig};
//! use erpc_proto::proto::{Protocol, RawProto};
//!
//! let mut msg = Message::new(MessageType::CALL, 1, "/math/add");
//! msg.meta.add("author", "henrylee2cn");
//! msg.body_codec = CodecId::JSON;
//! msg.body = bytes::Bytes::from_static(b"[1,2,3,4,5]");
//!
//! let cfg = WireConfig::default();
//! let mut wire = BytesMut::new();
//! RawProto.encode(&msg, &cfg, &mut wire).unwrap();
//! assert_eq!(wire.len(), 58); // the README call of Go eRPC, byte for byte
//!
//! let back = RawProto.decode(&mut wire, &cfg).unwrap().unwrap();
//! assert_eq!(back, msg);
//! assert!(wire.is_empty());
//! ```
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod codec;
mod error;
pub mod go_text;
mod message;
pub mod meta;
pub mod plugin;
pub mod plugins;
pub mod proto;
mod query;
pub mod router;
mod seq;
pub mod session;
pub mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod wire;
pub mod xfer;

#[cfg(feature = "protobuf")]
pub use codec::Proto;
pub use codec::{Codec, CodecError, CodecId, CodecRegistry, DecodeBody, EncodeBody, Raw};
pub use error::{DecodeError, EncodeError};
pub use message::{Message, MessageType, ServiceMethod};
pub use meta::Meta;
pub use seq::{format_seq, parse_seq};
pub use status::{Code, Status};
pub use wire::{WireConfig, DEFAULT_MAX_MESSAGE_SIZE};
pub use xfer::{XferId, XferPipe};
