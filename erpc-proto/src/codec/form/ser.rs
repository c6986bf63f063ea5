//! Serde → form pairs (sorted and escaped by the caller).

use std::fmt::Display;

use serde::ser::{self, Impossible, Serialize};

use super::FormError;
use crate::codec::number::{self, Layout};

/// `(key, value)` pairs in serialization order.
pub(super) type Pairs = Vec<(String, Vec<u8>)>;

fn not_a_form(what: impl Display) -> FormError {
    FormError(format!(
        "{what} cannot be encoded as a form (use a struct or a map)"
    ))
}

/// The body: a struct or a map.
pub(super) struct TopSerializer<'a> {
    pub(super) pairs: &'a mut Pairs,
}

macro_rules! refuse_scalars {
    ($err:expr; $($method:ident($ty:ty) $what:literal;)*) => {$(
        fn $method(self, _: $ty) -> Result<Self::Ok, FormError> {
            Err($err($what))
        }
    )*};
}

impl<'a> ser::Serializer for TopSerializer<'a> {
    type Ok = ();
    type Error = FormError;
    type SerializeSeq = Impossible<(), FormError>;
    type SerializeTuple = Impossible<(), FormError>;
    type SerializeTupleStruct = Impossible<(), FormError>;
    type SerializeTupleVariant = Impossible<(), FormError>;
    type SerializeMap = MapPairs<'a>;
    type SerializeStruct = MapPairs<'a>;
    type SerializeStructVariant = Impossible<(), FormError>;

    refuse_scalars! { not_a_form;
        serialize_bool(bool) "bool";
        serialize_i8(i8) "i8";
        serialize_i16(i16) "i16";
        serialize_i32(i32) "i32";
        serialize_i64(i64) "i64";
        serialize_u8(u8) "u8";
        serialize_u16(u16) "u16";
        serialize_u32(u32) "u32";
        serialize_u64(u64) "u64";
        serialize_f32(f32) "f32";
        serialize_f64(f64) "f64";
        serialize_char(char) "char";
        serialize_str(&str) "a string";
        serialize_bytes(&[u8]) "bytes";
    }

    fn serialize_none(self) -> Result<(), FormError> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), FormError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), FormError> {
        Ok(())
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<(), FormError> {
        Err(not_a_form(name))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), FormError> {
        Err(not_a_form(format_args!("{name}::{variant}")))
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), FormError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), FormError> {
        Err(not_a_form(format_args!("{name}::{variant}")))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq, FormError> {
        Err(not_a_form("a sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, FormError> {
        Err(not_a_form("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, FormError> {
        Err(not_a_form(name))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, FormError> {
        Err(not_a_form(format_args!("{name}::{variant}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapPairs<'a>, FormError> {
        Ok(MapPairs {
            pairs: self.pairs,
            key: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapPairs<'a>, FormError> {
        Ok(MapPairs {
            pairs: self.pairs,
            key: None,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, FormError> {
        Err(not_a_form(format_args!("{name}::{variant}")))
    }
}

/// The entries of the top-level struct or map.
pub(super) struct MapPairs<'a> {
    pairs: &'a mut Pairs,
    key: Option<String>,
}

impl ser::SerializeStruct for MapPairs<'_> {
    type Ok = ();
    type Error = FormError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), FormError> {
        value.serialize(FieldSerializer {
            key,
            pairs: self.pairs,
        })
    }

    fn end(self) -> Result<(), FormError> {
        Ok(())
    }
}

impl ser::SerializeMap for MapPairs<'_> {
    type Ok = ();
    type Error = FormError;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), FormError> {
        let key = key
            .serialize(ScalarSerializer)?
            .ok_or_else(|| FormError("a form key cannot be null".into()))?;
        let key =
            String::from_utf8(key).map_err(|_| FormError("a form key must be UTF-8".into()))?;
        self.key = Some(key);
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| FormError("map value without a key".into()))?;
        value.serialize(FieldSerializer {
            key: &key,
            pairs: self.pairs,
        })
    }

    fn end(self) -> Result<(), FormError> {
        Ok(())
    }
}

/// One field: a scalar (one pair), `None` (no pair) or a sequence of scalars (one pair each).
struct FieldSerializer<'a, 'k> {
    key: &'k str,
    pairs: &'a mut Pairs,
}

impl FieldSerializer<'_, '_> {
    fn scalar<T: ?Sized + Serialize>(self, value: &T) -> Result<(), FormError> {
        if let Some(text) = value
            .serialize(ScalarSerializer)
            .map_err(|e| self.context(e))?
        {
            self.pairs.push((self.key.to_owned(), text));
        }
        Ok(())
    }

    fn context(&self, e: FormError) -> FormError {
        FormError(format!("field `{}`: {e}", self.key))
    }

    fn nested(self, what: impl Display) -> FormError {
        FormError(format!(
            "field `{}`: {what} cannot be a form value (nested values are not supported)",
            self.key
        ))
    }
}

macro_rules! scalar_fields {
    ($($method:ident($ty:ty);)*) => {$(
        fn $method(self, v: $ty) -> Result<(), FormError> {
            self.scalar(&v)
        }
    )*};
}

impl<'a, 'k> ser::Serializer for FieldSerializer<'a, 'k> {
    type Ok = ();
    type Error = FormError;
    type SerializeSeq = SeqValues<'a, 'k>;
    type SerializeTuple = SeqValues<'a, 'k>;
    type SerializeTupleStruct = SeqValues<'a, 'k>;
    type SerializeTupleVariant = Impossible<(), FormError>;
    type SerializeMap = Impossible<(), FormError>;
    type SerializeStruct = Impossible<(), FormError>;
    type SerializeStructVariant = Impossible<(), FormError>;

    scalar_fields! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_i128(i128);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_u128(u128);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), FormError> {
        self.pairs.push((self.key.to_owned(), v.to_vec()));
        Ok(())
    }
    fn serialize_none(self) -> Result<(), FormError> {
        Ok(())
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<(), FormError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), FormError> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), FormError> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), FormError> {
        self.scalar(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), FormError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), FormError> {
        Err(self.nested(format_args!("{name}::{variant}")))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<SeqValues<'a, 'k>, FormError> {
        Ok(SeqValues {
            key: self.key,
            pairs: self.pairs,
        })
    }
    fn serialize_tuple(self, _: usize) -> Result<SeqValues<'a, 'k>, FormError> {
        Ok(SeqValues {
            key: self.key,
            pairs: self.pairs,
        })
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<SeqValues<'a, 'k>, FormError> {
        Ok(SeqValues {
            key: self.key,
            pairs: self.pairs,
        })
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, FormError> {
        Err(self.nested(format_args!("{name}::{variant}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, FormError> {
        Err(self.nested("a map"))
    }
    fn serialize_struct(
        self,
        name: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStruct, FormError> {
        Err(self.nested(name))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, FormError> {
        Err(self.nested(format_args!("{name}::{variant}")))
    }
}

/// The elements of a sequence field, one pair each, in natural order.
struct SeqValues<'a, 'k> {
    key: &'k str,
    pairs: &'a mut Pairs,
}

impl SeqValues<'_, '_> {
    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormError> {
        FieldSerializer {
            key: self.key,
            pairs: &mut *self.pairs,
        }
        .scalar(value)
    }
}

impl ser::SerializeSeq for SeqValues<'_, '_> {
    type Ok = ();
    type Error = FormError;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormError> {
        self.element(value)
    }

    fn end(self) -> Result<(), FormError> {
        Ok(())
    }
}

impl ser::SerializeTuple for SeqValues<'_, '_> {
    type Ok = ();
    type Error = FormError;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormError> {
        self.element(value)
    }

    fn end(self) -> Result<(), FormError> {
        Ok(())
    }
}

impl ser::SerializeTupleStruct for SeqValues<'_, '_> {
    type Ok = ();
    type Error = FormError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), FormError> {
        self.element(value)
    }

    fn end(self) -> Result<(), FormError> {
        Ok(())
    }
}

/// A scalar as its text; `None` for nil. Compound values are errors.
struct ScalarSerializer;

fn text(v: impl Display) -> Result<Option<Vec<u8>>, FormError> {
    Ok(Some(v.to_string().into_bytes()))
}

fn not_scalar(what: impl Display) -> FormError {
    FormError(format!("{what} is not a scalar form value"))
}

type NoCompound = Impossible<Option<Vec<u8>>, FormError>;

impl ser::Serializer for ScalarSerializer {
    type Ok = Option<Vec<u8>>;
    type Error = FormError;
    type SerializeSeq = NoCompound;
    type SerializeTuple = NoCompound;
    type SerializeTupleStruct = NoCompound;
    type SerializeTupleVariant = NoCompound;
    type SerializeMap = NoCompound;
    type SerializeStruct = NoCompound;
    type SerializeStructVariant = NoCompound;

    fn serialize_bool(self, v: bool) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Self::Ok, FormError> {
        let mut out = Vec::new();
        number::write_f32(&mut out, v, Layout::Plain).map_err(|e| FormError(e.to_string()))?;
        Ok(Some(out))
    }
    fn serialize_f64(self, v: f64) -> Result<Self::Ok, FormError> {
        let mut out = Vec::new();
        number::write_f64(&mut out, v, Layout::Plain).map_err(|e| FormError(e.to_string()))?;
        Ok(Some(out))
    }
    fn serialize_char(self, v: char) -> Result<Self::Ok, FormError> {
        text(v)
    }
    fn serialize_str(self, v: &str) -> Result<Self::Ok, FormError> {
        Ok(Some(v.as_bytes().to_vec()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Self::Ok, FormError> {
        Ok(Some(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Self::Ok, FormError> {
        Ok(None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Self::Ok, FormError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Self::Ok, FormError> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Self::Ok, FormError> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Self::Ok, FormError> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Self::Ok, FormError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<Self::Ok, FormError> {
        Err(not_scalar(format_args!("{name}::{variant}")))
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<NoCompound, FormError> {
        Err(not_scalar("a nested sequence"))
    }
    fn serialize_tuple(self, _: usize) -> Result<NoCompound, FormError> {
        Err(not_scalar("a nested tuple"))
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<NoCompound, FormError> {
        Err(not_scalar(name))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<NoCompound, FormError> {
        Err(not_scalar(format_args!("{name}::{variant}")))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<NoCompound, FormError> {
        Err(not_scalar("a map"))
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<NoCompound, FormError> {
        Err(not_scalar(name))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<NoCompound, FormError> {
        Err(not_scalar(format_args!("{name}::{variant}")))
    }
}
