//! Form text → serde, with Go's `url.ParseQuery` rules.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::FormError;
use crate::codec::number;

type Result<T> = std::result::Result<T, FormError>;

/// The values of one key, in received order.
type Values<'de> = Vec<Cow<'de, [u8]>>;

/// The keys of a form in first-appearance order, each with all its values.
pub(super) type Form<'de> = Vec<(Cow<'de, [u8]>, Values<'de>)>;

/// Parses a query like Go's `url.ParseQuery`: `&`-separated pairs, empty pairs skipped, a
/// pair containing `;` refused, key and value split at the first `=` and unescaped.
pub(super) fn parse(body: &[u8]) -> Result<Form<'_>> {
    let mut form: Form<'_> = Vec::new();
    let mut index: BTreeMap<Cow<'_, [u8]>, usize> = BTreeMap::new();
    for pair in body.split(|&b| b == b'&') {
        if pair.is_empty() {
            continue;
        }
        if pair.contains(&b';') {
            return Err(FormError("invalid semicolon separator in query".into()));
        }
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        let key = unescape(key)?;
        let value = unescape(value)?;
        match index.get(&key) {
            Some(&i) => form[i].1.push(value),
            None => {
                index.insert(key.clone(), form.len());
                form.push((key, vec![value]));
            }
        }
    }
    Ok(form)
}

/// Go's `QueryUnescape`: `+` is a space, `%XX` a byte; a bad escape is an error.
fn unescape(s: &[u8]) -> Result<Cow<'_, [u8]>> {
    if !s.iter().any(|&b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&b) = s.get(i) {
        match b {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                let hex = |j: usize| s.get(j).and_then(|&c| (c as char).to_digit(16));
                match (hex(i + 1), hex(i + 2)) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi * 16 + lo) as u8);
                        i += 3;
                    }
                    _ => {
                        let bad = &s[i..s.len().min(i + 3)];
                        return Err(FormError(format!(
                            "invalid URL escape {:?}",
                            String::from_utf8_lossy(bad)
                        )));
                    }
                }
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(Cow::Owned(out))
}

fn expected_form(what: &str) -> FormError {
    FormError(format!("a form decodes into a struct or a map, not {what}"))
}

/// What every deserializer here answers alike: an option is present, a newtype is its content,
/// a unit (with `unit_struct`: a unit struct too) or an ignored value reads nothing.
macro_rules! transparent {
    () => {
        fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.visit_some(self)
        }

        fn deserialize_newtype_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            visitor: V,
        ) -> Result<V::Value> {
            visitor.visit_newtype_struct(self)
        }

        fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.visit_unit()
        }

        fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            visitor.visit_unit()
        }
    };
    (unit_struct) => {
        transparent!();

        fn deserialize_unit_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            visitor: V,
        ) -> Result<V::Value> {
            visitor.visit_unit()
        }
    };
}

/// The whole form refuses to be anything but a struct or a map.
macro_rules! refuse {
    ($($method:ident $what:literal)*) => {$(
        fn $method<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
            Err(expected_form($what))
        }
    )*};
}

/// The whole form: a struct or a map.
pub(super) struct FormDeserializer<'de> {
    form: Form<'de>,
}

impl<'de> FormDeserializer<'de> {
    pub(super) fn new(form: Form<'de>) -> Self {
        FormDeserializer { form }
    }
}

impl<'de> de::Deserializer<'de> for FormDeserializer<'de> {
    type Error = FormError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_map(FormAccess {
            entries: self.form.into_iter(),
            values: None,
        })
    }

    transparent!();

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    refuse! {
        deserialize_bool "bool"
        deserialize_i8 "i8"
        deserialize_i16 "i16"
        deserialize_i32 "i32"
        deserialize_i64 "i64"
        deserialize_u8 "u8"
        deserialize_u16 "u16"
        deserialize_u32 "u32"
        deserialize_u64 "u64"
        deserialize_f32 "f32"
        deserialize_f64 "f64"
        deserialize_char "char"
        deserialize_str "a string"
        deserialize_string "a string"
        deserialize_bytes "bytes"
        deserialize_byte_buf "bytes"
        deserialize_seq "a sequence"
        deserialize_identifier "an identifier"
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: V,
    ) -> Result<V::Value> {
        Err(expected_form(name))
    }
    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        Err(expected_form("a tuple"))
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value> {
        Err(expected_form(name))
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value> {
        Err(expected_form(name))
    }
}

struct FormAccess<'de> {
    entries: std::vec::IntoIter<(Cow<'de, [u8]>, Values<'de>)>,
    values: Option<Values<'de>>,
}

impl<'de> de::MapAccess<'de> for FormAccess<'de> {
    type Error = FormError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        match self.entries.next() {
            None => Ok(None),
            Some((key, values)) => {
                self.values = Some(values);
                seed.deserialize(Scalar(key)).map(Some)
            }
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let values = self
            .values
            .take()
            .ok_or_else(|| FormError("form value requested before its key".into()))?;
        seed.deserialize(Field(values))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// All values of one key.
struct Field<'de>(Values<'de>);

impl<'de> Field<'de> {
    /// Go: a non-slice field takes the first value.
    fn first(self) -> Scalar<'de> {
        Scalar(self.0.into_iter().next().unwrap_or_default())
    }
}

macro_rules! first_value {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            self.first().$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Field<'de> {
    type Error = FormError;

    /// One value is a string, several a sequence of strings.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0.len() == 1 {
            self.first().deserialize_any(visitor)
        } else {
            self.deserialize_seq(visitor)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_seq(de::value::SeqDeserializer::new(
            self.0.into_iter().map(Scalar),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: usize,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_seq(visitor)
    }

    transparent!(unit_struct);

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        self.first().deserialize_enum(name, variants, visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(FormError("nested maps are not supported in a form".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value> {
        Err(FormError(format!(
            "nested struct {name} is not supported in a form"
        )))
    }

    first_value! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_str deserialize_string
        deserialize_bytes deserialize_byte_buf deserialize_identifier
    }
}

/// One key or value.
struct Scalar<'de>(Cow<'de, [u8]>);

impl<'de> IntoDeserializer<'de, FormError> for Scalar<'de> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl Scalar<'_> {
    fn parse_error(&self, target: &str) -> FormError {
        FormError(format!(
            "cannot parse {:?} as {target}",
            String::from_utf8_lossy(&self.0)
        ))
    }

    fn str(&self) -> Result<&str> {
        std::str::from_utf8(&self.0).map_err(|_| FormError("form value is not UTF-8".into()))
    }
}

macro_rules! parse_number {
    ($($method:ident $visit:ident $ty:ty, $parse:path;)*) => {$(
        /// Go: an empty value is zero.
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
            if self.0.is_empty() {
                return visitor.$visit(<$ty>::default());
            }
            let v: $ty = $parse(&self.0).ok_or_else(|| self.parse_error(stringify!($ty)))?;
            visitor.$visit(v)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Scalar<'de> {
    type Error = FormError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            Cow::Borrowed(b) => match std::str::from_utf8(b) {
                Ok(s) => visitor.visit_borrowed_str(s),
                Err(_) => visitor.visit_borrowed_bytes(b),
            },
            Cow::Owned(b) => match String::from_utf8(b) {
                Ok(s) => visitor.visit_string(s),
                Err(e) => visitor.visit_byte_buf(e.into_bytes()),
            },
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.str()?;
        self.deserialize_any(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_any(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.0 {
            Cow::Borrowed(b) => visitor.visit_borrowed_bytes(b),
            Cow::Owned(b) => visitor.visit_byte_buf(b),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    /// Go: an empty value is `false`. Unlike Go, which ignores bool parse errors, a value
    /// that is not one of `ParseBool`'s spellings is an error.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.0.is_empty() {
            return visitor.visit_bool(false);
        }
        let v = number::parse_bool(&self.0).ok_or_else(|| self.parse_error("bool"))?;
        visitor.visit_bool(v)
    }

    parse_number! {
        deserialize_i8 visit_i8 i8, number::parse_signed;
        deserialize_i16 visit_i16 i16, number::parse_signed;
        deserialize_i32 visit_i32 i32, number::parse_signed;
        deserialize_i64 visit_i64 i64, number::parse_signed;
        deserialize_i128 visit_i128 i128, number::parse_signed;
        deserialize_u8 visit_u8 u8, number::parse_unsigned;
        deserialize_u16 visit_u16 u16, number::parse_unsigned;
        deserialize_u32 visit_u32 u32, number::parse_unsigned;
        deserialize_u64 visit_u64 u64, number::parse_unsigned;
        deserialize_u128 visit_u128 u128, number::parse_unsigned;
        deserialize_f32 visit_f32 f32, number::parse_signed;
        deserialize_f64 visit_f64 f64, number::parse_signed;
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        let mut chars = self.str()?.chars();
        match (chars.next(), chars.next()) {
            (Some(c), None) => visitor.visit_char(c),
            _ => Err(self.parse_error("char")),
        }
    }

    transparent!(unit_struct);

    /// A unit variant by name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        let name: de::value::StrDeserializer<'_, FormError> = self.str()?.into_deserializer();
        visitor.visit_enum(name)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(FormError("a form value cannot be a nested sequence".into()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        Err(FormError("a form value cannot be a tuple".into()))
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value> {
        Err(FormError(format!("a form value cannot be {name}")))
    }

    fn deserialize_map<V: Visitor<'de>>(self, _: V) -> Result<V::Value> {
        Err(FormError("a form value cannot be a map".into()))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value> {
        Err(FormError(format!("a form value cannot be struct {name}")))
    }
}
