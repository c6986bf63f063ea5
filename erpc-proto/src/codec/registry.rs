//! The set of codecs a peer understands.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use super::builtin::Builtin;
use super::{Codec, CodecError, CodecId, DecodeBody, EncodeBody, RegisterError};

/// The body codecs a peer understands, by id and by name. Cheap to clone (one `Arc`).
///
/// [`CodecRegistry::default`] holds every built-in codec whose cargo feature is on, with Go's
/// ids and names; both peers must agree on custom ones.
#[derive(Clone)]
pub struct CodecRegistry {
    entries: Arc<[Option<Entry>; 256]>,
}

#[derive(Clone)]
struct Entry {
    codec: Arc<dyn Codec>,
    /// Set when `codec` is a built-in codec type, which typed values then reach without
    /// type erasure.
    builtin: Option<Builtin>,
}

/// A byte buffer for one encoded body; most bodies fit without growing it (serde_json's
/// `to_vec` starts at the same size).
fn body_buffer() -> Vec<u8> {
    Vec::with_capacity(128)
}

impl CodecRegistry {
    /// A registry without any codec.
    pub fn empty() -> Self {
        CodecRegistry {
            entries: Arc::new(std::array::from_fn(|_| None)),
        }
    }

    /// Adds a codec. Its id must not be 0 and its id and name must be new.
    pub fn register<C: Codec>(&mut self, codec: C) -> Result<(), RegisterError> {
        let builtin = Builtin::of(&codec);
        self.insert(Arc::new(codec), builtin)
    }

    /// Adds a shared codec (see [`register`](CodecRegistry::register)).
    pub fn register_arc(&mut self, codec: Arc<dyn Codec>) -> Result<(), RegisterError> {
        self.insert(codec, None)
    }

    fn insert(
        &mut self,
        codec: Arc<dyn Codec>,
        builtin: Option<Builtin>,
    ) -> Result<(), RegisterError> {
        let id = codec.id();
        if id == CodecId::NONE {
            return Err(RegisterError::ZeroId);
        }
        if self.contains(id) {
            return Err(RegisterError::DuplicateId(id));
        }
        if self.by_name(codec.name()).is_some() {
            return Err(RegisterError::DuplicateName(codec.name().to_owned()));
        }
        Arc::make_mut(&mut self.entries)[usize::from(id.0)] = Some(Entry { codec, builtin });
        Ok(())
    }

    /// Builder form of [`register`](CodecRegistry::register).
    pub fn with<C: Codec>(mut self, codec: C) -> Result<Self, RegisterError> {
        self.register(codec)?;
        Ok(self)
    }

    fn entry(&self, id: CodecId) -> Option<&Entry> {
        self.entries[usize::from(id.0)].as_ref()
    }

    /// The codec with this id.
    pub fn codec(&self, id: CodecId) -> Option<&Arc<dyn Codec>> {
        self.entry(id).map(|e| &e.codec)
    }

    /// The codec with this name.
    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn Codec>> {
        self.iter().find(|c| c.name() == name)
    }

    /// Whether a codec with this id is registered.
    pub fn contains(&self, id: CodecId) -> bool {
        self.entry(id).is_some()
    }

    /// The registered codecs, by increasing id.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Codec>> + '_ {
        self.entries.iter().flatten().map(|e| &e.codec)
    }

    /// The codec that must encode or decode a typed value under `id`: id 0 is
    /// [`CodecError::NoCodec`], an unregistered id [`CodecError::UnknownCodec`].
    pub fn resolve(&self, id: CodecId) -> Result<&Arc<dyn Codec>, CodecError> {
        self.resolve_entry(id).map(|e| &e.codec)
    }

    fn resolve_entry(&self, id: CodecId) -> Result<&Entry, CodecError> {
        if id == CodecId::NONE {
            return Err(CodecError::NoCodec);
        }
        self.entry(id).ok_or(CodecError::UnknownCodec(id))
    }

    /// Encodes a body with the codec `id`: shorthand for
    /// [`value.encode_body(id, self)`](EncodeBody::encode_body).
    pub fn encode<T: EncodeBody + ?Sized>(
        &self,
        id: CodecId,
        value: &T,
    ) -> Result<Bytes, CodecError> {
        value.encode_body(id, self)
    }

    /// Decodes a body written with the codec `id`: shorthand for
    /// [`T::decode_body(id, body, self)`](DecodeBody::decode_body).
    pub fn decode<T: DecodeBody>(&self, id: CodecId, body: Bytes) -> Result<T, CodecError> {
        T::decode_body(id, body, self)
    }

    /// Encodes a serde value with codec `id` (the [`EncodeBody`] blanket implementation).
    pub(crate) fn encode_serde<T: serde::Serialize + ?Sized>(
        &self,
        id: CodecId,
        value: &T,
    ) -> Result<Bytes, CodecError> {
        let entry = self.resolve_entry(id)?;
        let mut out = body_buffer();
        match entry.builtin {
            Some(builtin) => builtin.encode(value, &mut out)?,
            None => entry.codec.encode(&value, &mut out)?,
        }
        if out.len() < out.capacity() / 2 {
            // A small body gives back the rest of its buffer (which would otherwise stay
            // allocated until the frame is written, with the `Bytes` header a shorter `Vec`
            // needs on top).
            out.shrink_to_fit();
        }
        Ok(Bytes::from(out))
    }

    /// Decodes a non-empty body with codec `id` (the [`DecodeBody`] blanket implementation).
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        id: CodecId,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let entry = self.resolve_entry(id)?;
        match entry.builtin {
            Some(builtin) => builtin.decode(body),
            None => entry.codec.decode_value(body),
        }
    }

    /// The name of codec `id` for messages: its registered name, `none` for 0, else the id.
    pub(crate) fn label(&self, id: CodecId) -> String {
        match self.codec(id) {
            Some(c) => c.name().to_owned(),
            None if id == CodecId::NONE => "none".to_owned(),
            None => format!("{id:?}"),
        }
    }
}

impl Default for CodecRegistry {
    /// Every built-in codec whose feature is on: json `j`, protobuf `p`, thrift `t`, xml `x`,
    /// form `f`, plain `s`.
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut reg = CodecRegistry::empty();
        // The built-in ids and names are distinct, so registration cannot fail.
        #[cfg(feature = "json")]
        let _ = reg.register(super::JsonCodec::new());
        #[cfg(feature = "protobuf")]
        let _ = reg.register(super::ProtobufCodec);
        #[cfg(feature = "thrift")]
        let _ = reg.register(super::ThriftCodec);
        #[cfg(feature = "xml")]
        let _ = reg.register(super::XmlCodec);
        #[cfg(feature = "form")]
        let _ = reg.register(super::FormCodec);
        #[cfg(feature = "plain")]
        let _ = reg.register(super::PlainCodec);
        reg
    }
}

impl fmt::Debug for CodecRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|c| (c.id(), c.name().to_owned())))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_codecs_skip_type_erasure() {
        let reg = CodecRegistry::default();
        for codec in reg.iter() {
            let entry = reg.entry(codec.id()).unwrap();
            assert!(entry.builtin.is_some(), "{}", codec.name());
        }
        // A shared codec cannot be recognised; it works through `dyn Codec`.
        #[cfg(feature = "json")]
        {
            let mut shared = CodecRegistry::empty();
            shared
                .register_arc(Arc::new(super::super::JsonCodec::new()))
                .unwrap();
            assert!(shared.entry(CodecId::JSON).unwrap().builtin.is_none());
            assert_eq!(
                shared.encode_serde(CodecId::JSON, &[1, 2]).unwrap(),
                reg.encode_serde(CodecId::JSON, &[1, 2]).unwrap()
            );
        }
    }
}
