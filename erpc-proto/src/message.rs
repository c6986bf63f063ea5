//! The eRPC message model.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;

use crate::{CodecId, Meta, Status, XferPipe};

/// The type of a message: one byte on the wire.
///
/// Kept as the raw byte so that a decoder can report what a peer actually sent; only the
/// five associated constants are valid, and a session closes the connection on any other
/// (as Go does).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
#[allow(clippy::exhaustive_structs)] // a newtype over the wire byte
pub struct MessageType(pub u8);

impl MessageType {
    /// `1`: a request that gets exactly one REPLY.
    pub const CALL: MessageType = MessageType(1);
    /// `2`: the answer to a CALL, matched by seq.
    pub const REPLY: MessageType = MessageType(2);
    /// `3`: a one-way message, never answered.
    pub const PUSH: MessageType = MessageType(3);
    /// `4`: authorization request, only before the session is established.
    pub const AUTH_CALL: MessageType = MessageType(4);
    /// `5`: authorization answer, only before the session is established.
    pub const AUTH_REPLY: MessageType = MessageType(5);

    /// The name Go uses in logs: `CALL`, `REPLY`, `PUSH`, `AUTH_CALL`, `AUTH_REPLY`, else
    /// `Undefined`.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "CALL",
            2 => "REPLY",
            3 => "PUSH",
            4 => "AUTH_CALL",
            5 => "AUTH_REPLY",
            _ => "Undefined",
        }
    }

    /// Whether this is one of the five defined types.
    pub fn is_defined(self) -> bool {
        (1..=5).contains(&self.0)
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", self.0, self.name())
    }
}

/// A service method (route key) such as `/math/add` or `Hello.Say`, possibly with a
/// `?query`. Always valid UTF-8; shares the memory of the frame it was decoded from.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceMethod(Bytes);

impl ServiceMethod {
    /// The empty service method (as in a REPLY on the wire).
    pub const fn empty() -> Self {
        ServiceMethod(Bytes::new())
    }

    /// A service method from a static string, without copying.
    pub const fn from_static(s: &'static str) -> Self {
        ServiceMethod(Bytes::from_static(s.as_bytes()))
    }

    /// Checks that `bytes` are UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(ServiceMethod(bytes))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Invariant: the bytes were checked to be UTF-8 on construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The part before a `?`.
    pub fn path(&self) -> &str {
        let s = self.as_str();
        s.split_once('?').map_or(s, |(p, _)| p)
    }

    /// The part after the first `?`, if any.
    pub fn query(&self) -> Option<&str> {
        self.as_str().split_once('?').map(|(_, q)| q)
    }
}

impl Deref for ServiceMethod {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ServiceMethod {
    fn from(s: &str) -> Self {
        ServiceMethod(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<String> for ServiceMethod {
    fn from(s: String) -> Self {
        ServiceMethod(Bytes::from(s))
    }
}

impl PartialEq<str> for ServiceMethod {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for ServiceMethod {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for ServiceMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ServiceMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One eRPC message, the unit every protocol frames.
///
/// `body` holds the body **encoded** by the codec named in `body_codec` (or raw bytes, which
/// eRPC sends verbatim whatever the codec byte says); the [`codec`](crate::codec) module turns
/// typed values into bodies and back. `xfer_pipe` lists the transfer filters the protocol
/// applies when it writes the frame (outer-most first).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
#[non_exhaustive]
pub struct Message {
    /// Per-session sequence number; a REPLY carries its CALL's.
    pub seq: i32,
    /// Message type.
    pub mtype: MessageType,
    /// Route key; empty in a REPLY on the wire.
    pub service_method: ServiceMethod,
    /// Result status; meaningful in REPLY and AUTH_REPLY.
    pub status: Status,
    /// Metadata.
    pub meta: Meta,
    /// Codec of the body (0 = none).
    pub body_codec: CodecId,
    /// The encoded body.
    pub body: Bytes,
    /// Transfer filters to apply on the wire, outer-most first.
    pub xfer_pipe: XferPipe,
}

impl Message {
    /// A message of the given type, seq and service method, with an OK status, no meta, no
    /// codec, empty body and no filters.
    pub fn new(mtype: MessageType, seq: i32, service_method: impl Into<ServiceMethod>) -> Self {
        Message {
            seq,
            mtype,
            service_method: service_method.into(),
            ..Message::default()
        }
    }
}
