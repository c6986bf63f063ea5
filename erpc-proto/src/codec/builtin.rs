//! The built-in codecs without type erasure.
//!
//! Going through `dyn Codec` costs an `erased_serde` round trip per value (2× on JSON
//! encoding, 4–5× on decoding in our measurements). When a registry entry holds one of the
//! built-in codec types, [`CodecRegistry`](super::CodecRegistry) records it here and the typed
//! entry points ([`EncodeBody`](super::EncodeBody), [`DecodeBody`](super::DecodeBody)) call
//! its generic code directly. Behaviour is identical either way.

use std::any::Any;

use super::{Codec, CodecError};

/// A built-in codec, recognised by its concrete type.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Builtin {
    #[cfg(feature = "json")]
    Json(super::JsonCodec),
    #[cfg(feature = "protobuf")]
    Protobuf(super::ProtobufCodec),
    #[cfg(feature = "thrift")]
    Thrift(super::ThriftCodec),
    #[cfg(feature = "xml")]
    Xml(super::XmlCodec),
    #[cfg(feature = "form")]
    Form(super::FormCodec),
    #[cfg(feature = "plain")]
    Plain(super::PlainCodec),
}

impl Builtin {
    /// The built-in codec `codec` is, if it is one.
    #[allow(unused_variables)]
    pub(crate) fn of<C: Codec>(codec: &C) -> Option<Builtin> {
        let any: &dyn Any = codec;
        #[cfg(feature = "json")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Json(*c));
        }
        #[cfg(feature = "protobuf")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Protobuf(*c));
        }
        #[cfg(feature = "thrift")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Thrift(*c));
        }
        #[cfg(feature = "xml")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Xml(*c));
        }
        #[cfg(feature = "form")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Form(*c));
        }
        #[cfg(feature = "plain")]
        if let Some(c) = any.downcast_ref() {
            return Some(Builtin::Plain(*c));
        }
        None
    }

    /// [`Codec::encode`], monomorphised.
    #[allow(unused_variables, clippy::ptr_arg)]
    pub(crate) fn encode<T: ?Sized + serde::Serialize>(
        self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match self {
            #[cfg(feature = "json")]
            Builtin::Json(c) => c.encode_serde(value, out),
            #[cfg(feature = "protobuf")]
            Builtin::Protobuf(c) => c.encode_serde(value, out),
            #[cfg(feature = "thrift")]
            Builtin::Thrift(c) => c.encode_serde(value, out),
            #[cfg(feature = "xml")]
            Builtin::Xml(c) => c.encode_serde(value, out),
            #[cfg(feature = "form")]
            Builtin::Form(c) => c.encode_serde(value, out),
            #[cfg(feature = "plain")]
            Builtin::Plain(c) => c.encode_serde(value, out),
        }
    }

    /// [`Codec::decode`], monomorphised.
    #[allow(unused_variables)]
    pub(crate) fn decode<'de, T: serde::Deserialize<'de>>(
        self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        match self {
            #[cfg(feature = "json")]
            Builtin::Json(c) => c.decode_serde(body),
            #[cfg(feature = "protobuf")]
            Builtin::Protobuf(c) => c.decode_serde(body),
            #[cfg(feature = "thrift")]
            Builtin::Thrift(c) => c.decode_serde(body),
            #[cfg(feature = "xml")]
            Builtin::Xml(c) => c.decode_serde(body),
            #[cfg(feature = "form")]
            Builtin::Form(c) => c.decode_serde(body),
            #[cfg(feature = "plain")]
            Builtin::Plain(c) => c.decode_serde(body),
        }
    }
}
