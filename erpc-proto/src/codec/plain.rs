//! The plain-text codec (`s`, "plain").

use std::fmt;
use std::io::Write as _;

use serde::de::{self, Visitor};
use serde::ser::{self, Impossible};

use super::number::{self, Layout};
use super::{Codec, CodecError, CodecId, DecodeFn};

/// Plain text (`s`, "plain"): scalars as their text, like Go eRPC's plain codec.
///
/// * Encoding: strings and bytes verbatim; `true`/`false`; integers in base 10; floats as the
///   shortest decimal **without exponent** (`3.5`, `1e21` ⇒ `1000000000000000000000`,
///   non-finite values `NaN`, `+Inf`, `-Inf`); `()` and `None` ⇒ empty. Newtype structs and
///   `Some` are transparent. Anything else (structs, sequences, maps, enums) is an error.
/// * Decoding: into strings (must be UTF-8) and bytes verbatim; into bools as Go's
///   `ParseBool` (`1 t T TRUE true True 0 f F FALSE false False`); into integers and floats
///   by parsing the text (base 10, no spaces). Unlike Go, an integer that does not fit the
///   destination is an error rather than truncated. Failures read
///   `plain codec: []byte can not be directly converted to <type> type`.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit codec
pub struct PlainCodec;

impl Codec for PlainCodec {
    fn id(&self) -> CodecId {
        CodecId::PLAIN
    }

    fn name(&self) -> &str {
        "plain"
    }

    fn encode(
        &self,
        value: &dyn erased_serde::Serialize,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        self.encode_serde(value, out)
    }

    fn decode<'de>(
        &self,
        body: &'de [u8],
        visit: &mut DecodeFn<'_, 'de>,
    ) -> Result<(), CodecError> {
        visit(&mut <dyn erased_serde::Deserializer>::erase(
            PlainDeserializer { input: body },
        ))
        .map_err(|e| CodecError::decode("plain", e))
    }
}

impl PlainCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        value
            .serialize(PlainSerializer { out })
            .map_err(|e| CodecError::encode("plain", e))
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        T::deserialize(PlainDeserializer { input: body })
            .map_err(|e| CodecError::decode("plain", e))
    }
}

/// Error of the plain serializer and deserializer (its text becomes the codec error message).
#[derive(Debug)]
struct PlainError(String);

impl PlainError {
    fn unsupported_value(what: &str) -> Self {
        PlainError(format!(
            "{what} can not be directly converted to []byte type"
        ))
    }

    fn unsupported_target(what: &str) -> Self {
        PlainError(format!(
            "[]byte can not be directly converted to {what} type"
        ))
    }
}

impl fmt::Display for PlainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlainError {}

impl ser::Error for PlainError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PlainError(msg.to_string())
    }
}

impl de::Error for PlainError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        PlainError(msg.to_string())
    }
}

struct PlainSerializer<'a> {
    out: &'a mut Vec<u8>,
}

impl PlainSerializer<'_> {
    fn text(self, v: impl fmt::Display) -> Result<(), PlainError> {
        // Writing to a Vec cannot fail.
        write!(self.out, "{v}").map_err(|e| PlainError(e.to_string()))
    }
}

type Unsupported = Impossible<(), PlainError>;

impl ser::Serializer for PlainSerializer<'_> {
    type Ok = ();
    type Error = PlainError;
    type SerializeSeq = Unsupported;
    type SerializeTuple = Unsupported;
    type SerializeTupleStruct = Unsupported;
    type SerializeTupleVariant = Unsupported;
    type SerializeMap = Unsupported;
    type SerializeStruct = Unsupported;
    type SerializeStructVariant = Unsupported;

    fn serialize_bool(self, v: bool) -> Result<(), PlainError> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_i128(self, v: i128) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_u128(self, v: u128) -> Result<(), PlainError> {
        self.text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), PlainError> {
        number::write_f32(self.out, v, Layout::Plain).map_err(|e| PlainError(e.to_string()))
    }
    fn serialize_f64(self, v: f64) -> Result<(), PlainError> {
        number::write_f64(self.out, v, Layout::Plain).map_err(|e| PlainError(e.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<(), PlainError> {
        self.out
            .extend_from_slice(v.encode_utf8(&mut [0; 4]).as_bytes());
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), PlainError> {
        self.out.extend_from_slice(v.as_bytes());
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), PlainError> {
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), PlainError> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + ser::Serialize>(self, value: &T) -> Result<(), PlainError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), PlainError> {
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), PlainError> {
        Err(PlainError::unsupported_value(name))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), PlainError> {
        Err(PlainError::unsupported_value(&format!("{name}::{variant}")))
    }
    fn serialize_newtype_struct<T: ?Sized + ser::Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), PlainError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + ser::Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), PlainError> {
        Err(PlainError::unsupported_value(&format!("{name}::{variant}")))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value("a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value(name))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value(&format!("{name}::{variant}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value("a map"))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value(name))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Unsupported, PlainError> {
        Err(PlainError::unsupported_value(&format!("{name}::{variant}")))
    }
}

struct PlainDeserializer<'de> {
    input: &'de [u8],
}

impl<'de> PlainDeserializer<'de> {
    fn text(&self, target: &str) -> Result<&'de str, PlainError> {
        std::str::from_utf8(self.input).map_err(|_| PlainError::unsupported_target(target))
    }

    fn signed<T: std::str::FromStr>(&self, target: &str) -> Result<T, PlainError> {
        number::parse_signed(self.input).ok_or_else(|| PlainError::unsupported_target(target))
    }

    fn unsigned<T: std::str::FromStr>(&self, target: &str) -> Result<T, PlainError> {
        number::parse_unsigned(self.input).ok_or_else(|| PlainError::unsupported_target(target))
    }
}

macro_rules! parse_signed {
    ($($method:ident $visit:ident $ty:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
            visitor.$visit(self.signed::<$ty>(stringify!($ty))?)
        }
    )*};
}

macro_rules! parse_unsigned {
    ($($method:ident $visit:ident $ty:ty;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
            visitor.$visit(self.unsigned::<$ty>(stringify!($ty))?)
        }
    )*};
}

macro_rules! unsupported {
    ($($method:ident ($($arg:ident: $ty:ty),*) $what:expr;)*) => {$(
        fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* _: V) -> Result<V::Value, PlainError> {
            $(let _ = $arg;)*
            Err(PlainError::unsupported_target($what))
        }
    )*};
}

impl<'de> de::Deserializer<'de> for PlainDeserializer<'de> {
    type Error = PlainError;

    /// Self-describing callers (untagged enums, `serde_json::Value`) get the text as a string
    /// when it is UTF-8, else as bytes.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        match std::str::from_utf8(self.input) {
            Ok(s) => visitor.visit_borrowed_str(s),
            Err(_) => visitor.visit_borrowed_bytes(self.input),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_bool(
            number::parse_bool(self.input).ok_or_else(|| PlainError::unsupported_target("bool"))?,
        )
    }

    parse_signed! {
        deserialize_i8 visit_i8 i8;
        deserialize_i16 visit_i16 i16;
        deserialize_i32 visit_i32 i32;
        deserialize_i64 visit_i64 i64;
        deserialize_i128 visit_i128 i128;
    }

    parse_unsigned! {
        deserialize_u8 visit_u8 u8;
        deserialize_u16 visit_u16 u16;
        deserialize_u32 visit_u32 u32;
        deserialize_u64 visit_u64 u64;
        deserialize_u128 visit_u128 u128;
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_f32(self.signed::<f32>("f32")?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_f64(self.signed::<f64>("f64")?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        let mut chars = self.text("char")?.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(PlainError::unsupported_target("char")),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_str(self.text("string")?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_bytes(self.input)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_borrowed_bytes(self.input)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        if self.input.is_empty() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, PlainError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, PlainError> {
        visitor.visit_unit()
    }

    unsupported! {
        deserialize_unit() "unit";
        deserialize_unit_struct(name: &'static str) name;
        deserialize_seq() "a sequence";
        deserialize_tuple(len: usize) "a tuple";
        deserialize_tuple_struct(name: &'static str, len: usize) name;
        deserialize_map() "a map";
        deserialize_struct(name: &'static str, fields: &'static [&'static str]) name;
        deserialize_enum(name: &'static str, variants: &'static [&'static str]) name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codec() -> &'static dyn Codec {
        &PlainCodec
    }

    fn enc<T: serde::Serialize + ?Sized>(v: &T) -> Result<String, CodecError> {
        codec()
            .encode_value(v)
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Name(String);

    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct Args {
        a: i32,
    }

    #[test]
    fn encodes_scalars() {
        assert_eq!(
            enc("hello from /push/status").unwrap(),
            "hello from /push/status"
        );
        assert_eq!(enc(&true).unwrap(), "true");
        assert_eq!(enc(&-42i64).unwrap(), "-42");
        assert_eq!(enc(&u64::MAX).unwrap(), "18446744073709551615");
        assert_eq!(enc(&1e21).unwrap(), "1000000000000000000000");
        assert_eq!(enc(&3.5f32).unwrap(), "3.5");
        assert_eq!(enc(&1e-7).unwrap(), "0.0000001");
        assert_eq!(enc(&f64::NAN).unwrap(), "NaN");
        assert_eq!(enc(&'é').unwrap(), "é");
        assert_eq!(enc(&Name("x".into())).unwrap(), "x");
        assert_eq!(enc(&Some(5)).unwrap(), "5");
        assert_eq!(enc(&None::<i32>).unwrap(), "");
        assert_eq!(enc(&()).unwrap(), "");
    }

    #[test]
    fn refuses_compound_values() {
        let err = enc(&Args { a: 1 }).unwrap_err();
        assert_eq!(
            err.to_string(),
            "plain codec: Args can not be directly converted to []byte type"
        );
        assert!(enc(&vec![1, 2]).is_err());
        assert!(enc(&std::collections::BTreeMap::<i32, i32>::new()).is_err());
    }

    #[test]
    fn decodes_scalars() {
        assert_eq!(codec().decode_value::<String>(b"15").unwrap(), "15");
        assert_eq!(codec().decode_value::<&str>(b"15").unwrap(), "15");
        assert_eq!(codec().decode_value::<i32>(b"15").unwrap(), 15);
        assert_eq!(codec().decode_value::<i8>(b"-128").unwrap(), -128);
        assert_eq!(codec().decode_value::<i64>(b"+7").unwrap(), 7);
        assert_eq!(
            codec()
                .decode_value::<u64>(b"18446744073709551615")
                .unwrap(),
            u64::MAX
        );
        assert_eq!(
            codec()
                .decode_value::<f64>(b"1000000000000000000000")
                .unwrap(),
            1e21
        );
        assert_eq!(codec().decode_value::<f64>(b"1e21").unwrap(), 1e21);
        assert!(codec().decode_value::<f64>(b"NaN").unwrap().is_nan());
        assert!(codec().decode_value::<bool>(b"T").unwrap());
        assert!(!codec().decode_value::<bool>(b"0").unwrap());
        assert_eq!(codec().decode_value::<char>("é".as_bytes()).unwrap(), 'é');
        assert_eq!(
            codec().decode_value::<Name>(b"n").unwrap(),
            Name("n".into())
        );
        assert_eq!(codec().decode_value::<Option<u8>>(b"9").unwrap(), Some(9));
        assert_eq!(
            codec().decode_value::<serde_json::Value>(b"x").unwrap(),
            serde_json::json!("x")
        );
    }

    #[test]
    fn decode_errors_read_like_go() {
        let err = codec().decode_value::<i32>(b"x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "plain codec: []byte can not be directly converted to i32 type"
        );
        let err = codec().decode_value::<u8>(b"256").unwrap_err();
        assert_eq!(
            err.to_string(),
            "plain codec: []byte can not be directly converted to u8 type"
        );
        assert!(codec().decode_value::<u8>(b"+1").is_err());
        assert!(codec().decode_value::<i32>(b" 1").is_err());
        assert!(codec().decode_value::<bool>(b"yes").is_err());
        assert!(codec().decode_value::<String>(b"\xff").is_err());
        let err = codec().decode_value::<Args>(b"a=1").unwrap_err();
        assert_eq!(
            err.to_string(),
            "plain codec: []byte can not be directly converted to Args type"
        );
        assert!(codec().decode_value::<Vec<u8>>(b"ab").is_err());
        assert!(codec().decode_value::<()>(b"ab").is_err());
        codec().decode_value::<de::IgnoredAny>(b"ab").unwrap();
    }
}
