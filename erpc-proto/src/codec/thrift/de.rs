//! TBinaryProtocol → serde. Every read is bounds-checked; nesting is limited to
//! [`MAX_DEPTH`]; collection sizes are checked against the remaining input before anything is
//! allocated.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{
    type_name, ThriftError, BOOL, BYTE, DOUBLE, I16, I32, I64, LIST, MAP, MAX_DEPTH, SET, STOP,
    STRING, STRUCT,
};

type Result<T> = std::result::Result<T, ThriftError>;

/// A cursor over the body.
pub(super) struct Reader<'de> {
    input: &'de [u8],
    depth: usize,
}

impl<'de> Reader<'de> {
    pub(super) fn new(input: &'de [u8]) -> Self {
        Reader { input, depth: 0 }
    }

    /// Checks that the whole body was consumed.
    pub(super) fn finish(&self) -> Result<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(ThriftError(format!(
                "{} trailing bytes after the struct",
                self.input.len()
            )))
        }
    }

    fn take(&mut self, n: usize) -> Result<&'de [u8]> {
        if n > self.input.len() {
            return Err(ThriftError(format!(
                "unexpected end of input: need {n} bytes, {} left",
                self.input.len()
            )));
        }
        let (head, tail) = self.input.split_at(n);
        self.input = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn i16(&mut self) -> Result<i16> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn f64(&mut self) -> Result<f64> {
        Ok(f64::from_bits(u64::from_be_bytes(self.array()?)))
    }

    fn binary(&mut self) -> Result<&'de [u8]> {
        let len = self.i32()?;
        let len = usize::try_from(len)
            .map_err(|_| ThriftError(format!("negative string length {len}")))?;
        self.take(len)
    }

    /// A collection size: non-negative, and at most what the remaining input can hold at
    /// `min_bytes` per element (every Thrift value takes at least one byte).
    fn size(&mut self, min_bytes: usize) -> Result<usize> {
        let n = self.i32()?;
        let n =
            usize::try_from(n).map_err(|_| ThriftError(format!("negative collection size {n}")))?;
        if n.saturating_mul(min_bytes) > self.input.len() {
            return Err(ThriftError(format!(
                "collection of {n} elements does not fit in the {} bytes left",
                self.input.len()
            )));
        }
        Ok(n)
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(ThriftError(format!(
                "nesting deeper than {MAX_DEPTH} levels"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Skips a value of type `ttype` (Thrift's `Skip`).
    fn skip(&mut self, ttype: u8) -> Result<()> {
        match ttype {
            BOOL | BYTE => self.take(1).map(drop),
            I16 => self.take(2).map(drop),
            I32 => self.take(4).map(drop),
            I64 | DOUBLE => self.take(8).map(drop),
            STRING => self.binary().map(drop),
            STRUCT => {
                self.enter()?;
                loop {
                    let t = self.u8()?;
                    if t == STOP {
                        break;
                    }
                    self.i16()?;
                    self.skip(t)?;
                }
                self.leave();
                Ok(())
            }
            MAP => {
                self.enter()?;
                let (kt, vt) = (self.u8()?, self.u8()?);
                for _ in 0..self.size(2)? {
                    self.skip(kt)?;
                    self.skip(vt)?;
                }
                self.leave();
                Ok(())
            }
            LIST | SET => {
                self.enter()?;
                let et = self.u8()?;
                for _ in 0..self.size(1)? {
                    self.skip(et)?;
                }
                self.leave();
                Ok(())
            }
            other => Err(invalid_type(other)),
        }
    }
}

fn invalid_type(t: u8) -> ThriftError {
    ThriftError(format!("invalid Thrift type {t}"))
}

/// One value of a known wire type.
pub(super) struct ValueDeserializer<'a, 'de> {
    r: &'a mut Reader<'de>,
    ttype: u8,
}

impl<'a, 'de> ValueDeserializer<'a, 'de> {
    pub(super) fn new(r: &'a mut Reader<'de>, ttype: u8) -> Self {
        ValueDeserializer { r, ttype }
    }

    fn mismatch(&self, expected: &str) -> ThriftError {
        ThriftError(format!(
            "expected {expected}, found Thrift {}",
            type_name(self.ttype)
        ))
    }

    fn visit_struct<V: Visitor<'de>>(
        self,
        fields: Option<&'static [&'static str]>,
        visitor: V,
    ) -> Result<V::Value> {
        self.r.enter()?;
        let mut access = StructAccess {
            r: &mut *self.r,
            fields,
            pending: None,
            done: false,
        };
        let value = visitor.visit_map(&mut access)?;
        access.drain()?;
        self.r.leave();
        Ok(value)
    }
}

impl<'de> de::Deserializer<'de> for ValueDeserializer<'_, 'de> {
    type Error = ThriftError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        match self.ttype {
            BOOL => visitor.visit_bool(self.r.u8()? == 1),
            BYTE => visitor.visit_i8(i8::from_be_bytes(self.r.array()?)),
            I16 => visitor.visit_i16(self.r.i16()?),
            I32 => visitor.visit_i32(self.r.i32()?),
            I64 => visitor.visit_i64(self.r.i64()?),
            DOUBLE => visitor.visit_f64(self.r.f64()?),
            STRING => {
                let bytes = self.r.binary()?;
                match std::str::from_utf8(bytes) {
                    Ok(s) => visitor.visit_borrowed_str(s),
                    Err(_) => visitor.visit_borrowed_bytes(bytes),
                }
            }
            STRUCT => self.visit_struct(None, visitor),
            MAP => {
                self.r.enter()?;
                let (kt, vt) = (self.r.u8()?, self.r.u8()?);
                let left = self.r.size(2)?;
                let mut access = MapAccess {
                    r: &mut *self.r,
                    kt,
                    vt,
                    left,
                    value_pending: false,
                };
                let value = visitor.visit_map(&mut access)?;
                access.drain()?;
                self.r.leave();
                Ok(value)
            }
            LIST | SET => {
                self.r.enter()?;
                let et = self.r.u8()?;
                let left = self.r.size(1)?;
                let mut access = SeqAccess {
                    r: &mut *self.r,
                    et,
                    left,
                };
                let value = visitor.visit_seq(&mut access)?;
                access.drain()?;
                self.r.leave();
                Ok(value)
            }
            other => Err(invalid_type(other)),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.ttype != STRING {
            return Err(self.mismatch("a string"));
        }
        let bytes = self.r.binary()?;
        let s = std::str::from_utf8(bytes)
            .map_err(|e| ThriftError(format!("string is not UTF-8: {e}")))?;
        visitor.visit_borrowed_str(s)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        if self.ttype == STRING {
            visitor.visit_borrowed_bytes(self.r.binary()?)
        } else {
            self.deserialize_any(visitor)
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.deserialize_bytes(visitor)
    }

    /// A value that is present is `Some`; absent fields become `None` through serde.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        visitor.visit_some(self)
    }

    /// Go's nil: whatever value is there is skipped.
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.r.skip(self.ttype)?;
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        if self.ttype != STRUCT {
            return Err(self.mismatch("a struct"));
        }
        self.visit_struct(Some(fields), visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        match self.ttype {
            I32 => {
                let v = self.r.i32()?;
                let index = u32::try_from(v)
                    .map_err(|_| ThriftError(format!("negative enum value {v}")))?;
                visitor.visit_enum(UnitVariant { index })
            }
            STRUCT => {
                self.r.enter()?;
                let ttype = self.r.u8()?;
                if ttype == STOP {
                    return Err(ThriftError("a union without a field".into()));
                }
                let id = self.r.i16()?;
                let index = id
                    .checked_sub(1)
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| ThriftError(format!("invalid union field id {id}")))?;
                let value = visitor.visit_enum(UnionVariant {
                    r: &mut *self.r,
                    ttype,
                    index,
                })?;
                // Skip any further fields of the union.
                StructAccess {
                    r: &mut *self.r,
                    fields: Some(&[]),
                    pending: None,
                    done: false,
                }
                .drain()?;
                self.r.leave();
                Ok(value)
            }
            _ => Err(self.mismatch("an enum (I32 or a union STRUCT)")),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value> {
        self.r.skip(self.ttype)?;
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        seq tuple tuple_struct map identifier
    }
}

/// The fields of a struct. With `fields` (a serde struct), wire ids `1..=fields.len()` become
/// positional field indices and other ids are skipped; without (`deserialize_any`), the keys
/// are the raw `i16` field ids.
struct StructAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    fields: Option<&'static [&'static str]>,
    /// Wire type of the field whose key was returned but whose value was not read yet.
    pending: Option<u8>,
    /// Whether the STOP byte was read.
    done: bool,
}

impl<'de> StructAccess<'_, 'de> {
    /// Skips what the visitor left unread, through the STOP byte.
    fn drain(&mut self) -> Result<()> {
        if let Some(t) = self.pending.take() {
            self.r.skip(t)?;
        }
        while !self.done {
            let t = self.r.u8()?;
            if t == STOP {
                self.done = true;
            } else {
                self.r.i16()?;
                self.r.skip(t)?;
            }
        }
        Ok(())
    }
}

impl<'de> de::MapAccess<'de> for StructAccess<'_, 'de> {
    type Error = ThriftError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if let Some(t) = self.pending.take() {
            self.r.skip(t)?;
        }
        if self.done {
            return Ok(None);
        }
        loop {
            let ttype = self.r.u8()?;
            if ttype == STOP {
                self.done = true;
                return Ok(None);
            }
            let id = self.r.i16()?;
            let key = match self.fields {
                None => seed.deserialize(id.into_deserializer())?,
                Some(fields) => match usize::try_from(id)
                    .ok()
                    .filter(|&i| (1..=fields.len()).contains(&i))
                {
                    Some(position) => {
                        seed.deserialize(((position - 1) as u64).into_deserializer())?
                    }
                    None => {
                        self.r.skip(ttype)?;
                        continue;
                    }
                },
            };
            self.pending = Some(ttype);
            return Ok(Some(key));
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        let ttype = self
            .pending
            .take()
            .ok_or_else(|| ThriftError("struct value requested before its key".into()))?;
        seed.deserialize(ValueDeserializer {
            r: &mut *self.r,
            ttype,
        })
    }
}

struct MapAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    kt: u8,
    vt: u8,
    left: usize,
    value_pending: bool,
}

impl MapAccess<'_, '_> {
    fn drain(&mut self) -> Result<()> {
        if self.value_pending {
            self.value_pending = false;
            self.r.skip(self.vt)?;
        }
        while self.left > 0 {
            self.left -= 1;
            self.r.skip(self.kt)?;
            self.r.skip(self.vt)?;
        }
        Ok(())
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, 'de> {
    type Error = ThriftError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>> {
        if self.value_pending {
            self.value_pending = false;
            self.r.skip(self.vt)?;
        }
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        let key = seed.deserialize(ValueDeserializer {
            r: &mut *self.r,
            ttype: self.kt,
        })?;
        self.value_pending = true;
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value> {
        if !self.value_pending {
            return Err(ThriftError("map value requested before its key".into()));
        }
        self.value_pending = false;
        seed.deserialize(ValueDeserializer {
            r: &mut *self.r,
            ttype: self.vt,
        })
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

struct SeqAccess<'a, 'de> {
    r: &'a mut Reader<'de>,
    et: u8,
    left: usize,
}

impl SeqAccess<'_, '_> {
    fn drain(&mut self) -> Result<()> {
        while self.left > 0 {
            self.left -= 1;
            self.r.skip(self.et)?;
        }
        Ok(())
    }
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, 'de> {
    type Error = ThriftError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(ValueDeserializer {
            r: &mut *self.r,
            ttype: self.et,
        })
        .map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// A Thrift enum (I32): a unit variant by index.
struct UnitVariant {
    index: u32,
}

impl<'de> de::EnumAccess<'de> for UnitVariant {
    type Error = ThriftError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self)> {
        let v = seed.deserialize(self.index.into_deserializer())?;
        Ok((v, self))
    }
}

impl<'de> de::VariantAccess<'de> for UnitVariant {
    type Error = ThriftError;

    fn unit_variant(self) -> Result<()> {
        Ok(())
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, _: T) -> Result<T::Value> {
        Err(ThriftError(
            "expected a union (STRUCT) for a newtype variant, found I32".into(),
        ))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value> {
        Err(ThriftError(
            "expected a union (STRUCT) for a tuple variant, found I32".into(),
        ))
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], _: V) -> Result<V::Value> {
        Err(ThriftError(
            "expected a union (STRUCT) for a struct variant, found I32".into(),
        ))
    }
}

/// A Thrift union: the variant is the field id minus one, its value the field value.
struct UnionVariant<'a, 'de> {
    r: &'a mut Reader<'de>,
    ttype: u8,
    index: u32,
}

impl<'a, 'de> de::EnumAccess<'de> for UnionVariant<'a, 'de> {
    type Error = ThriftError;
    type Variant = ValueDeserializer<'a, 'de>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant)> {
        let v = seed.deserialize(self.index.into_deserializer())?;
        Ok((
            v,
            ValueDeserializer {
                r: self.r,
                ttype: self.ttype,
            },
        ))
    }
}

impl<'de> de::VariantAccess<'de> for ValueDeserializer<'_, 'de> {
    type Error = ThriftError;

    fn unit_variant(self) -> Result<()> {
        self.r.skip(self.ttype)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value> {
        seed.deserialize(self)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, visitor: V) -> Result<V::Value> {
        de::Deserializer::deserialize_seq(self, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value> {
        de::Deserializer::deserialize_struct(self, "", fields, visitor)
    }
}
