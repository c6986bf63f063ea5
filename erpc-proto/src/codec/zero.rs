//! Go's "zero value" as a serde deserializer, for the empty-body rule.
//!
//! Go never decodes an empty body, so the destination keeps its zero value. A Rust
//! destination is built by deserializing it from this deserializer, which yields the zero
//! value of whatever shape is asked for.

use serde::de::value::Error;
use serde::de::{self, IntoDeserializer, Visitor};

/// Deserializes the Go zero value of any type: numbers 0, `false`, `""`, empty sequences and
/// maps, `None`, unit, and structs whose every field has its zero value (or, in the fallback
/// mode, structs with no field present, so that serde defaults apply).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZeroDeserializer {
    /// Whether structs list all their fields (with zero values) or none.
    fields: bool,
}

impl ZeroDeserializer {
    /// The zero value of `T`, like Go: every struct field zero. When that fails (an enum
    /// field has no zero value, aliases make serde see a field twice), the value is built
    /// from serde's defaults for missing fields instead; if that fails too, the first error
    /// is returned.
    pub(crate) fn value<T: de::DeserializeOwned>() -> Result<T, Error> {
        T::deserialize(ZeroDeserializer { fields: true })
            .or_else(|first| T::deserialize(ZeroDeserializer { fields: false }).map_err(|_| first))
    }
}

/// Every field of a struct, each with its zero value.
struct ZeroFields {
    fields: std::slice::Iter<'static, &'static str>,
}

impl<'de> de::MapAccess<'de> for ZeroFields {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Error> {
        match self.fields.next() {
            Some(&name) => seed.deserialize(name.into_deserializer()).map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        seed.deserialize(ZeroDeserializer { fields: true })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.fields.len())
    }
}

struct Empty;

impl<'de> de::SeqAccess<'de> for Empty {
    type Error = Error;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        _: T,
    ) -> Result<Option<T::Value>, Error> {
        Ok(None)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }
}

impl<'de> de::MapAccess<'de> for Empty {
    type Error = Error;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        _: K,
    ) -> Result<Option<K::Value>, Error> {
        Ok(None)
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(&mut self, _: V) -> Result<V::Value, Error> {
        Err(de::Error::custom("no value in an empty body"))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(0)
    }
}

impl<'de> de::Deserializer<'de> for ZeroDeserializer {
    type Error = Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_bool(false)
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i8(0)
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i16(0)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i32(0)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i64(0)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_i128(0)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u8(0)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u16(0)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u32(0)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u64(0)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_u128(0)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f32(0.0)
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_f64(0.0)
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_char('\0')
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_bytes(&[])
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_bytes(&[])
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_none()
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Empty)
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_seq(Empty)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        visitor.visit_seq(Empty)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_map(Empty)
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if self.fields {
            visitor.visit_map(ZeroFields {
                fields: fields.iter(),
            })
        } else {
            visitor.visit_map(Empty)
        }
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Error> {
        Err(de::Error::custom(format_args!(
            "an empty body has no zero value for enum {name}"
        )))
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_borrowed_str("")
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        visitor.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct WithDefaults {
        #[serde(default)]
        a: i32,
        b: Option<String>,
        #[serde(default)]
        c: Vec<u8>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Required {
        a: i32,
        inner: WithDefaults,
        name: String,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    enum Kind {
        A,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct NeedsKind {
        kind: Kind,
    }

    fn five() -> i32 {
        5
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Defaulted {
        #[serde(default = "five")]
        n: i32,
        kind: Option<Kind>,
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Aliased {
        #[serde(default = "five")]
        n: i32,
        #[serde(alias = "other")]
        aliased: Option<i32>,
    }

    #[test]
    fn zero_values() {
        assert_eq!(ZeroDeserializer::value::<i32>().unwrap(), 0);
        assert_eq!(ZeroDeserializer::value::<f64>().unwrap(), 0.0);
        assert!(!ZeroDeserializer::value::<bool>().unwrap());
        assert_eq!(ZeroDeserializer::value::<String>().unwrap(), "");
        assert_eq!(
            ZeroDeserializer::value::<Vec<String>>().unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(ZeroDeserializer::value::<Option<u8>>().unwrap(), None);
        assert!(ZeroDeserializer::value::<BTreeMap<String, i32>>()
            .unwrap()
            .is_empty());
        ZeroDeserializer::value::<()>().unwrap();
        assert_eq!(
            ZeroDeserializer::value::<WithDefaults>().unwrap(),
            WithDefaults {
                a: 0,
                b: None,
                c: vec![]
            }
        );
        // Go's zero struct: every field zero, nested structs too.
        assert_eq!(
            ZeroDeserializer::value::<Required>().unwrap(),
            Required {
                a: 0,
                inner: WithDefaults {
                    a: 0,
                    b: None,
                    c: vec![]
                },
                name: String::new()
            }
        );
        // An enum has no zero value.
        let err = ZeroDeserializer::value::<NeedsKind>().unwrap_err();
        assert!(
            err.to_string().contains("no zero value for enum Kind"),
            "{err}"
        );
        // Zero wins over serde defaults when it works…
        assert_eq!(
            ZeroDeserializer::value::<Defaulted>().unwrap(),
            Defaulted { n: 0, kind: None }
        );
        // …and serde defaults are the fallback (an alias makes serde see a field twice).
        assert_eq!(
            ZeroDeserializer::value::<Aliased>().unwrap(),
            Aliased {
                n: 5,
                aliased: None
            }
        );
    }
}
