//! Wire protocols: how a [`Message`] becomes a frame on a byte stream and back.
//!
//! Every protocol is an incremental, stateless framer: [`Protocol::decode`] takes a buffer that
//! holds any prefix of the stream, splits off one complete frame (bodies stay zero-copy slices
//! of the buffer) and leaves a partial frame in place; [`Protocol::encode`] appends one frame to
//! the caller's buffer and leaves it untouched on error.
//!
//! As in Go eRPC, nothing identifies the protocol on the wire: both ends must be configured
//! with the same one.

mod http;
mod json;
mod pb;
mod raw;
mod thrift;
pub mod ws;

use std::fmt;

use bytes::BytesMut;

pub use http::{HttpProto, DEFAULT_MAX_HEADERS, DEFAULT_MAX_HEADER_LINE, DEFAULT_MAX_HEAD_LEN};
pub use json::JsonProto;
pub use pb::PbProto;
pub use raw::RawProto;
pub use thrift::{ThriftProto, ThriftVariant};
pub use ws::{WsProto, WsSubProto};

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

    /// The length of the frame that starts `src` (all of it, length prefix included), when
    /// the protocol's framing says it before the frame is complete; `None` when it does not
    /// (the default) or `src` is too short to tell. A hint for drivers that size their read
    /// buffer; [`decode`](Protocol::decode) still checks every frame.
    fn frame_len(&self, src: &[u8]) -> Option<usize> {
        let _ = src;
        None
    }

    /// Like [`encode`](Protocol::encode), but the frame may end with `msg.body` as it is: then
    /// everything before the body is appended to `dst` and the body is returned, to be sent
    /// right after (no copy). Protocols whose frames end with the body unchanged do so for
    /// bodies of [`LARGE_BODY`](crate::session::LARGE_BODY) bytes or more; the default
    /// encodes the whole frame into `dst` and returns `None`.
    fn encode_vectored(
        &self,
        msg: &Message,
        cfg: &WireConfig,
        dst: &mut BytesMut,
    ) -> Result<Option<bytes::Bytes>, EncodeError> {
        self.encode(msg, cfg, dst).map(|()| None)
    }
}

/// The protocol with this name, as eRPC and erpc-rs name them: `raw`, `json`, `protobuf` (or
/// `pb`), `thrift` (or `thrift-binary`), `thrift-struct`, `http`.
///
/// ```
/// assert_eq!(erpc_proto::proto::by_name("pb").unwrap().name(), "protobuf");
/// assert!(erpc_proto::proto::by_name("carrier-pigeon").is_none());
/// ```
pub fn by_name(name: &str) -> Option<std::sync::Arc<dyn Protocol>> {
    use std::sync::Arc;
    Some(match name {
        "raw" => Arc::new(RawProto),
        "json" => Arc::new(JsonProto),
        "protobuf" | "pb" => Arc::new(PbProto),
        "thrift" | "thrift-binary" => Arc::new(ThriftProto::BINARY),
        "thrift-struct" => Arc::new(ThriftProto::STRUCT),
        "http" => Arc::new(HttpProto::default()),
        _ => return None,
    })
}
