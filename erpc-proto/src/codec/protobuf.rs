//! The protobuf codec (`p`, "protobuf").

use std::fmt;

use serde::de::{self, Visitor};

use super::probe::{self, Shape};
use super::{Codec, CodecError, CodecId, DecodeFn};

/// Protobuf (`p`, "protobuf").
///
/// Protobuf messages are not serde values: send and receive them as [`Proto<T>`](super::Proto)
/// (any `prost::Message`), which prost encodes directly. Through this `Codec` object only
/// Go's "empty message" cases work — `()`, `None`, a unit struct or a struct without fields
/// encode to zero bytes, and decoding into them accepts any body — and every other serde value
/// fails like Go: `protobuf codec: <type> does not implement proto.Message`.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit codec
pub struct ProtobufCodec;

fn not_a_message(what: impl fmt::Display) -> CodecError {
    CodecError::unsupported(
        "protobuf",
        format_args!("{what} does not implement proto.Message (wrap a prost message in Proto<T>)"),
    )
}

impl Codec for ProtobufCodec {
    fn id(&self) -> CodecId {
        CodecId::PROTOBUF
    }

    fn name(&self) -> &str {
        "protobuf"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        self.encode_serde(value, out)
    }

    fn decode<'de>(&self, _: &'de [u8], visit: &mut DecodeFn<'_, 'de>) -> Result<(), CodecError> {
        let mut target = None;
        let result = visit(&mut <dyn erased_serde::Deserializer>::erase(EmptyMessage {
            target: &mut target,
        }));
        refused(result, target)
    }
}

impl ProtobufCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        _: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match probe::shape(value) {
            Shape::Nil | Shape::UnitStruct(_) | Shape::Struct { len: 0, .. } => Ok(()),
            other => Err(not_a_message(other.describe())),
        }
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        _: &'de [u8],
    ) -> Result<T, CodecError> {
        let mut target = None;
        let result = T::deserialize(EmptyMessage {
            target: &mut target,
        });
        let mut value = None;
        refused(result.map(|v| value = Some(v)), target)?;
        value.ok_or_else(|| CodecError::decode("protobuf", "no value"))
    }
}

/// The codec error for a decode into something that is not an empty message.
fn refused<E: fmt::Display>(
    result: Result<(), E>,
    target: Option<String>,
) -> Result<(), CodecError> {
    match (result, target) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(what)) => Err(not_a_message(what)),
        (Err(e), None) => Err(CodecError::decode("protobuf", e)),
    }
}

/// Accepts only the destinations Go treats as an empty message; records what else was asked.
struct EmptyMessage<'a> {
    target: &'a mut Option<String>,
}

impl EmptyMessage<'_> {
    fn refuse<T>(self, what: impl fmt::Display) -> Result<T, de::value::Error> {
        let what = what.to_string();
        *self.target = Some(what.clone());
        Err(de::Error::custom(format_args!(
            "{what} does not implement proto.Message"
        )))
    }
}

struct NoFields;

impl<'de> de::MapAccess<'de> for NoFields {
    type Error = de::value::Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        _: V,
    ) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("no value"))
    }
}

impl<'de> de::Deserializer<'de> for EmptyMessage<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("this type")
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        if fields.is_empty() {
            visitor.visit_map(NoFields)
        } else {
            self.refuse(name)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.refuse(name)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.refuse(name)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.refuse(name)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("bool")
    }
    fn deserialize_i8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("i8")
    }
    fn deserialize_i16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("i16")
    }
    fn deserialize_i32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("i32")
    }
    fn deserialize_i64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("i64")
    }
    fn deserialize_u8<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("u8")
    }
    fn deserialize_u16<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("u16")
    }
    fn deserialize_u32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("u32")
    }
    fn deserialize_u64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("u64")
    }
    fn deserialize_f32<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("f32")
    }
    fn deserialize_f64<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("f64")
    }
    fn deserialize_char<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("char")
    }
    fn deserialize_str<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("string")
    }
    fn deserialize_string<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("string")
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("bytes")
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("bytes")
    }
    fn deserialize_option<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("Option")
    }
    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("a sequence")
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("a tuple")
    }
    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("a map")
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        self.refuse("an identifier")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Args {
        a: i32,
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Empty {}

    fn codec() -> &'static dyn Codec {
        &ProtobufCodec
    }

    #[test]
    fn serde_values_are_not_messages() {
        let err = codec().encode_value(&Args { a: 1 }).unwrap_err();
        assert!(matches!(err, CodecError::Unsupported { .. }));
        assert!(
            err.to_string()
                .starts_with("protobuf codec: Args does not implement proto.Message"),
            "{err}"
        );
        let err = codec().decode_value::<Args>(b"\x08\x01").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("protobuf codec: Args does not implement proto.Message"),
            "{err}"
        );
        assert!(codec().decode_value::<i32>(b"\x08\x01").is_err());
    }

    #[test]
    fn empty_messages() {
        assert!(codec().encode_value(&()).unwrap().is_empty());
        assert!(codec().encode_value(&Empty {}).unwrap().is_empty());
        assert!(codec().encode_value(&None::<Args>).unwrap().is_empty());
        codec().decode_value::<Empty>(b"\x08\x01").unwrap();
        codec().decode_value::<()>(b"\x08\x01").unwrap();
    }
}
