//! Typed bodies for handlers and callers: [`EncodeBody`], [`DecodeBody`], [`Raw`], [`Proto`].

use std::fmt;
use std::ops::{Deref, DerefMut};

use bytes::Bytes;

use super::zero::ZeroDeserializer;
use super::{CodecError, CodecId, CodecRegistry};

/// A value that can become a message body under a given codec id.
///
/// Implemented by every `serde::Serialize` type (encoded by the codec the id names, as Go
/// does), by [`Raw`] (sent verbatim whatever the id) and by [`Proto`] (protobuf only).
pub trait EncodeBody {
    /// Encodes `self` with codec `codec` of `codecs`.
    ///
    /// Errors: [`CodecError::NoCodec`] for id 0, [`CodecError::UnknownCodec`] for an
    /// unregistered id, or what the codec reports.
    fn encode_body(&self, codec: CodecId, codecs: &CodecRegistry) -> Result<Bytes, CodecError>;

    /// The codec this value must be carried by, if only one can (protobuf for [`Proto`]):
    /// a call or push that names no codec uses it instead of the session's default.
    fn preferred_codec(&self) -> Option<CodecId> {
        None
    }
}

/// A value that can be read from a message body written with a given codec id.
///
/// Implemented by every `serde::de::DeserializeOwned` type, by [`Raw`] and by [`Proto`].
/// An **empty body is never decoded**, whatever the codec id: the result is the type's Go
/// zero value (see the empty-body rule in the [module docs](super)).
pub trait DecodeBody: Sized {
    /// Decodes a body written with codec `codec`.
    ///
    /// Errors (non-empty body only): [`CodecError::NoCodec`] for id 0,
    /// [`CodecError::UnknownCodec`] for an unregistered id, or what the codec reports.
    fn decode_body(codec: CodecId, body: Bytes, codecs: &CodecRegistry)
        -> Result<Self, CodecError>;
}

impl<T: serde::Serialize + ?Sized> EncodeBody for T {
    fn encode_body(&self, codec: CodecId, codecs: &CodecRegistry) -> Result<Bytes, CodecError> {
        codecs.encode_serde(codec, self)
    }
}

impl<T: serde::de::DeserializeOwned> DecodeBody for T {
    fn decode_body(
        codec: CodecId,
        body: Bytes,
        codecs: &CodecRegistry,
    ) -> Result<Self, CodecError> {
        if body.is_empty() {
            return ZeroDeserializer::value::<T>().map_err(|e| {
                CodecError::decode(&codecs.label(codec), format_args!("empty body: {e}"))
            });
        }
        codecs.decode_serde(codec, &body)
    }
}

/// Raw body bytes that bypass the codec in both directions (Go's `[]byte` body, §5.4 of the
/// reference): encoding returns the bytes verbatim and decoding returns the body verbatim,
/// whatever the codec id says (even 0 or an unregistered id). The message still carries its
/// codec id, so the other side may decode the bytes with it.
///
/// `Raw` deliberately does not implement serde's traits (so that it is not a serde value).
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::exhaustive_structs)] // a newtype over the bytes, by design
pub struct Raw(pub Bytes);

impl Raw {
    /// Empty raw bytes.
    pub const fn new() -> Self {
        Raw(Bytes::new())
    }

    /// Raw bytes from a static slice, without copying.
    pub const fn from_static(bytes: &'static [u8]) -> Self {
        Raw(Bytes::from_static(bytes))
    }

    /// The bytes.
    pub fn into_inner(self) -> Bytes {
        self.0
    }
}

impl EncodeBody for Raw {
    fn encode_body(&self, _: CodecId, _: &CodecRegistry) -> Result<Bytes, CodecError> {
        Ok(self.0.clone())
    }
}

impl DecodeBody for Raw {
    fn decode_body(_: CodecId, body: Bytes, _: &CodecRegistry) -> Result<Self, CodecError> {
        Ok(Raw(body))
    }
}

impl fmt::Debug for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Raw").field(&self.0).finish()
    }
}

impl Deref for Raw {
    type Target = Bytes;

    fn deref(&self) -> &Bytes {
        &self.0
    }
}

impl DerefMut for Raw {
    fn deref_mut(&mut self) -> &mut Bytes {
        &mut self.0
    }
}

impl AsRef<[u8]> for Raw {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl From<Bytes> for Raw {
    fn from(b: Bytes) -> Self {
        Raw(b)
    }
}

impl From<Vec<u8>> for Raw {
    fn from(v: Vec<u8>) -> Self {
        Raw(Bytes::from(v))
    }
}

impl From<&'static [u8]> for Raw {
    fn from(s: &'static [u8]) -> Self {
        Raw(Bytes::from_static(s))
    }
}

impl<const N: usize> From<&'static [u8; N]> for Raw {
    fn from(s: &'static [u8; N]) -> Self {
        Raw(Bytes::from_static(s))
    }
}

impl From<&'static str> for Raw {
    fn from(s: &'static str) -> Self {
        Raw(Bytes::from_static(s.as_bytes()))
    }
}

impl From<String> for Raw {
    fn from(s: String) -> Self {
        Raw(Bytes::from(s))
    }
}

impl From<Raw> for Bytes {
    fn from(r: Raw) -> Self {
        r.0
    }
}

impl PartialEq<[u8]> for Raw {
    fn eq(&self, other: &[u8]) -> bool {
        self.0 == other
    }
}

impl PartialEq<&[u8]> for Raw {
    fn eq(&self, other: &&[u8]) -> bool {
        self.0 == *other
    }
}

/// A protobuf message (any [`prost::Message`]) as a body. Only the protobuf codec (`p`) can
/// carry it: any other id is a [`CodecError::Unsupported`] error, id 0 is
/// [`CodecError::NoCodec`] and an unregistered `p` is [`CodecError::UnknownCodec`]. The
/// message is encoded and decoded by prost directly.
///
/// An empty body decodes to `T::default()` (Go's empty message), which is also what the
/// default message encodes to.
///
/// ```
/// use erpc_proto::codec::{CodecId, CodecRegistry, DecodeBody, EncodeBody, Proto};
///
/// #[derive(Clone, PartialEq, prost::Message)]
/// struct Hello {
///     #[prost(string, tag = "1")]
///     name: String,
/// }
///
/// let codecs = CodecRegistry::default();
/// let body = Proto(Hello { name: "erpc".into() }).encode_body(CodecId::PROTOBUF, &codecs).unwrap();
/// assert_eq!(body, &b"\x0a\x04erpc"[..]);
/// let Proto(back) = Proto::<Hello>::decode_body(CodecId::PROTOBUF, body, &codecs).unwrap();
/// assert_eq!(back.name, "erpc");
/// ```
#[cfg(feature = "protobuf")]
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash, Debug)]
#[allow(clippy::exhaustive_structs)] // a newtype over the message, by design
pub struct Proto<T>(pub T);

#[cfg(feature = "protobuf")]
impl<T> Proto<T> {
    /// The message.
    pub fn into_inner(self) -> T {
        self.0
    }
}

#[cfg(feature = "protobuf")]
impl<T> Deref for Proto<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(feature = "protobuf")]
impl<T> DerefMut for Proto<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

#[cfg(feature = "protobuf")]
impl<T> From<T> for Proto<T> {
    fn from(msg: T) -> Self {
        Proto(msg)
    }
}

/// Checks that `codec` is the registered protobuf codec.
#[cfg(feature = "protobuf")]
fn check_protobuf(codec: CodecId, codecs: &CodecRegistry) -> Result<(), CodecError> {
    let resolved = codecs.resolve(codec)?;
    if codec != CodecId::PROTOBUF {
        return Err(CodecError::unsupported(
            resolved.name(),
            "a protobuf message (Proto<T>) can only be carried by the protobuf codec",
        ));
    }
    Ok(())
}

#[cfg(feature = "protobuf")]
impl<T: prost::Message> EncodeBody for Proto<T> {
    fn encode_body(&self, codec: CodecId, codecs: &CodecRegistry) -> Result<Bytes, CodecError> {
        check_protobuf(codec, codecs)?;
        Ok(Bytes::from(self.0.encode_to_vec()))
    }

    fn preferred_codec(&self) -> Option<CodecId> {
        Some(CodecId::PROTOBUF)
    }
}

#[cfg(feature = "protobuf")]
impl<T: prost::Message + Default> DecodeBody for Proto<T> {
    fn decode_body(
        codec: CodecId,
        body: Bytes,
        codecs: &CodecRegistry,
    ) -> Result<Self, CodecError> {
        if body.is_empty() {
            return Ok(Proto(T::default()));
        }
        check_protobuf(codec, codecs)?;
        T::decode(body)
            .map(Proto)
            .map_err(|e| CodecError::decode("protobuf", e))
    }
}
