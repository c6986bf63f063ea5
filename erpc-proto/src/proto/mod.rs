//! Wire protocols: how a [`Message`] becomes a frame on a byte stream and back.
//!
//! Every protocol is an incremental, stateless framer: [`Protocol::decode`] takes a buffer that
//! holds any prefix of the stream, splits off one complete frame (bodies stay zero-copy slices
//! of the buffer) and leaves a partial frame in place; [`Protocol::encode`] appends one frame to
//! the caller's buffer and leaves it untouched on error.
//!
//! As in Go eRPC, nothing identifies the protocol on the wire: both ends must be configured
//! with the same one.

mod raw;

use std::fmt;

use bytes::BytesMut;

pub use raw::RawProto;

use crate::{DecodeError, EncodeError, Message, WireConfig};

/// A wire protocol.
pub trait Protocol: Send + Sync + fmt::Debug + 'static {
    /// The version id Go's `Proto.Version()` returns (raw: 6, json: `j`, …). Never sent.
    fn id(&self) -> u8;

    /// The version name (`raw`, `json`, `protobuf`, …).
    fn name(&self) -> &'static str;

    /// Splits one complete frame off the front of `src` and decodes it.
    ///
    /// Returns `Ok(None)` when `src` does not yet hold a whole frame (nothing is consumed);
    /// call again after more bytes arrived. An error means the stream is unusable: the
    /// connection should be closed. The size limit is checked from the frame's length before
    /// anything is allocated.
    fn decode(&self, src: &mut BytesMut, cfg: &WireConfig) -> Result<Option<Message>, DecodeError>;

    /// Appends the frame of `msg` to `dst`. On error `dst` is left as it was.
    fn encode(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<(), EncodeError>;
}
