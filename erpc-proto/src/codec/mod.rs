//! Body codecs: how a typed value becomes a message body and back.
//!
//! A message carries its body already encoded, plus the one-byte [`CodecId`] of the codec that
//! encoded it. This module turns values into bodies and back, the way Go eRPC does:
//!
//! * [`Codec`] is one codec (an object-safe trait over serde, through [`erased_serde`]), and
//!   [`CodecRegistry`] the set of codecs a peer understands, by id and by name.
//! * [`EncodeBody`] and [`DecodeBody`] are what handlers and callers use: every serde type
//!   implements them (the codec is chosen by the id in the message, as Go does), [`Raw`]
//!   bypasses the codec in both directions, and [`Proto`] carries a `prost` message.
//! * Built-in codecs, each behind the cargo feature of the same name, with Go's ids and names:
//!
//! | Codec | Id | Name | Type |
//! |---|---|---|---|
//! | JSON | `j` | `json` | [`JsonCodec`] |
//! | Protobuf | `p` | `protobuf` | [`ProtobufCodec`] (values go through [`Proto`]) |
//! | Thrift | `t` | `thrift` | [`ThriftCodec`] |
//! | XML | `x` | `xml` | [`XmlCodec`] |
//! | Form | `f` | `form` | [`FormCodec`] |
//! | Plain | `s` | `plain` | [`PlainCodec`] |
//!
//! # The empty-body rule
//!
//! Go never decodes an empty body: the destination keeps its zero value, whatever the codec
//! id (even 0 or an unknown one). [`DecodeBody`] reproduces this: an empty body decodes to the
//! Go "zero value" of the type — `0`, `false`, `""`, an empty `Vec` or map, `None`, unit, and
//! a struct whose every field takes its zero value (so a Go peer calling with a nil argument
//! reaches a Rust handler as a zero struct, as it would a Go one). Enums have no zero value:
//! when the zero struct cannot be built (an enum field, or a serde `alias` that makes a field
//! appear twice), the struct is built from serde's defaults for missing fields instead
//! (`Option` fields `None`, `#[serde(default)]` fields their default), and if a field has
//! neither, decoding fails with a [`CodecError::Decode`] that says so. Because of this rule a
//! JSON `null` body and an empty body are different things.
//!
//! # Structs and Go
//!
//! Inside a non-empty body, fields follow serde's rules, not Go's: Go leaves a field that is
//! missing from the body at its zero value (and Go senders often omit zero fields with
//! `omitempty`), while serde requires it unless it is an `Option` or has a default. Put
//! `#[serde(default)]` on structs that Go peers send, and name fields as Go does
//! (`#[serde(rename_all = "PascalCase")]` for JSON field names like `{"A":10,"B":2}`). Each
//! codec's page lists the rest of its differences from Go.
//!
//! ```
//! use bytes::Bytes;
//! use erpc_proto::codec::{CodecId, CodecRegistry, DecodeBody, EncodeBody, Raw};
//!
//! # #[cfg(feature = "json")] {
//! #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
//! #[allow(non_snake_case)]
//! struct Args { A: i32, B: i32 }
//!
//! let codecs = CodecRegistry::default();
//! let body = Args { A: 10, B: 2 }.encode_body(CodecId::JSON, &codecs).unwrap();
//! assert_eq!(body, &br#"{"A":10,"B":2}"#[..]);
//!
//! let back = Args::decode_body(CodecId::JSON, body, &codecs).unwrap();
//! assert_eq!(back, Args { A: 10, B: 2 });
//!
//! // An empty body is never decoded: the zero value comes back.
//! assert_eq!(i32::decode_body(CodecId::JSON, Bytes::new(), &codecs).unwrap(), 0);
//!
//! // Raw bytes bypass the codec (the id still travels with the message).
//! let raw = Raw::from(&b"not json"[..]).encode_body(CodecId::JSON, &codecs).unwrap();
//! assert_eq!(raw, &b"not json"[..]);
//! # }
//! ```
//!
//! # Writing a codec
//!
//! Implement [`Codec`] and register it on both peers with [`CodecRegistry::register`]. Encode
//! with `value.serialize(your_serializer)` (`dyn erased_serde::Serialize` implements
//! `serde::Serialize`); decode by wrapping your deserializer in
//! `<dyn erased_serde::Deserializer>::erase` and handing it to the callback. The
//! [`erased_serde`] crate is re-exported here so that your codec uses the same version. The
//! [`Codec`] docs have a complete example.
//!
//! Typed values reach the built-in codecs registered with [`CodecRegistry::register`] (or
//! [`CodecRegistry::default`]) without type erasure, which is several times faster for
//! decoding; custom codecs and codecs added with [`CodecRegistry::register_arc`] go through
//! `erased_serde`.

mod body;
mod builtin;
mod error;
#[cfg(feature = "form")]
mod form;
#[cfg(feature = "json")]
mod json;
#[cfg(any(feature = "json", feature = "plain", feature = "form"))]
mod number;
#[cfg(feature = "plain")]
mod plain;
#[cfg(any(feature = "protobuf", feature = "thrift", feature = "xml"))]
mod probe;
#[cfg(feature = "protobuf")]
mod protobuf;
mod registry;
#[cfg(feature = "thrift")]
mod thrift;
#[cfg(feature = "xml")]
mod xml;
mod zero;

use std::fmt;

/// The [`erased_serde`] version the [`Codec`] trait is written against, for custom codecs.
pub use erased_serde;

use bytes::Bytes;

#[cfg(feature = "protobuf")]
pub use body::Proto;
pub use body::{DecodeBody, EncodeBody, Raw};
pub use error::{CodecError, RegisterError};
#[cfg(feature = "form")]
pub use form::FormCodec;
#[cfg(feature = "json")]
pub use json::JsonCodec;
#[cfg(feature = "plain")]
pub use plain::PlainCodec;
#[cfg(feature = "protobuf")]
pub use protobuf::ProtobufCodec;
pub use registry::CodecRegistry;
#[cfg(feature = "thrift-idl")]
pub use thrift::Thrift;
#[cfg(feature = "thrift")]
pub use thrift::ThriftCodec;
#[cfg(feature = "xml")]
pub use xml::XmlCodec;

/// The one-byte id of a body codec as written on the wire (0 = none).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
#[allow(clippy::exhaustive_structs)] // a newtype over the wire byte
pub struct CodecId(pub u8);

impl CodecId {
    /// `0`: no codec.
    pub const NONE: CodecId = CodecId(0);
    /// `j`: JSON.
    pub const JSON: CodecId = CodecId(b'j');
    /// `p`: protobuf.
    pub const PROTOBUF: CodecId = CodecId(b'p');
    /// `t`: Thrift (TBinaryProtocol struct).
    pub const THRIFT: CodecId = CodecId(b't');
    /// `x`: XML.
    pub const XML: CodecId = CodecId(b'x');
    /// `f`: URL-encoded form.
    pub const FORM: CodecId = CodecId(b'f');
    /// `s`: plain text.
    pub const PLAIN: CodecId = CodecId(b's');
}

impl fmt::Debug for CodecId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "CodecId({:?})", self.0 as char)
        } else {
            write!(f, "CodecId({})", self.0)
        }
    }
}

/// The callback through which [`Codec::decode`] hands its deserializer to the caller, who
/// deserializes the typed value it wants from it (see [`Codec`]).
pub type DecodeFn<'a, 'de> =
    dyn FnMut(&mut dyn erased_serde::Deserializer<'de>) -> Result<(), erased_serde::Error> + 'a;

/// A body codec: turns serde values into body bytes and back.
///
/// The trait is object-safe so that a [`CodecRegistry`] can hold any mix of codecs, including
/// your own. Values cross the trait boundary through [`erased_serde`]: encoding receives a
/// `&dyn erased_serde::Serialize`, and decoding hands an erased deserializer to a callback
/// that deserializes whatever type the caller wants. Most code never calls these methods
/// directly: it uses [`EncodeBody`]/[`DecodeBody`], or the typed helpers
/// [`encode_value`](#method.encode_value) and [`decode_value`](#method.decode_value) on
/// `dyn Codec`.
///
/// Decoders run on bytes from the network: they must not panic and must bound recursion
/// depth and allocation by the input length.
///
/// # Example: a custom codec
///
/// ```
/// # #[cfg(feature = "json")] {
/// use erpc_proto::codec::erased_serde;
/// use erpc_proto::codec::{Codec, CodecError, CodecId, CodecRegistry, DecodeFn};
/// use erpc_proto::codec::{DecodeBody, EncodeBody};
///
/// /// Pretty-printed JSON under id `J`.
/// #[derive(Debug)]
/// struct PrettyJson;
///
/// impl Codec for PrettyJson {
///     fn id(&self) -> CodecId { CodecId(b'J') }
///     fn name(&self) -> &str { "pretty-json" }
///     fn encode(
///         &self,
///         value: &dyn erased_serde::Serialize,
///         out: &mut Vec<u8>,
///     ) -> Result<(), CodecError> {
///         serde_json::to_writer_pretty(out, value).map_err(|e| CodecError::encode(self.name(), e))
///     }
///     fn decode<'de>(&self, body: &'de [u8], visit: &mut DecodeFn<'_, 'de>) -> Result<(), CodecError> {
///         let mut de = serde_json::Deserializer::from_slice(body);
///         visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de))
///             .map_err(|e| CodecError::decode(self.name(), e))?;
///         de.end().map_err(|e| CodecError::decode(self.name(), e))
///     }
/// }
///
/// let mut codecs = CodecRegistry::default();
/// codecs.register(PrettyJson).unwrap();
/// let body = vec![1, 2].encode_body(CodecId(b'J'), &codecs).unwrap();
/// assert_eq!(body, &b"[\n  1,\n  2\n]"[..]);
/// assert_eq!(Vec::<i32>::decode_body(CodecId(b'J'), body, &codecs).unwrap(), [1, 2]);
/// # }
/// ```
pub trait Codec: Send + Sync + fmt::Debug + 'static {
    /// The id written on the wire. Never 0.
    fn id(&self) -> CodecId;

    /// A unique name (Go's `PeerConfig.DefaultBodyCodec` names codecs).
    fn name(&self) -> &str;

    /// Appends the encoding of `value` to `out`.
    ///
    /// On error `out` may hold a partial encoding; the caller discards it.
    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError>;

    /// Decodes `body`: builds a deserializer over it and calls `visit` with it exactly once
    /// (the callback deserializes the caller's type and keeps it). Returns an error if `visit`
    /// fails, or if the body is malformed or has trailing data.
    ///
    /// `body` is never empty when called by [`DecodeBody`] (Go never decodes an empty body).
    fn decode<'de>(&self, body: &'de [u8], visit: &mut DecodeFn<'_, 'de>)
        -> Result<(), CodecError>;
}

impl dyn Codec {
    /// Encodes a typed value into a new body.
    pub fn encode_value<T: serde::Serialize + ?Sized>(
        &self,
        value: &T,
    ) -> Result<Bytes, CodecError> {
        let mut out = Vec::with_capacity(64);
        self.encode(&value, &mut out)?;
        Ok(Bytes::from(out))
    }

    /// Decodes a typed value from a (non-empty) body. Unlike [`DecodeBody`], this does not
    /// apply the empty-body rule: the codec sees the empty input.
    pub fn decode_value<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let mut value = None;
        self.decode(body, &mut |de| {
            value = Some(erased_serde::deserialize::<T>(de)?);
            Ok(())
        })?;
        value.ok_or_else(|| CodecError::decode(self.name(), "the codec did not run the decoder"))
    }
}
