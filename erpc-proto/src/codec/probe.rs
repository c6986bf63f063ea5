//! Finding out what kind of value a `dyn Serialize` is, without encoding it.
//!
//! The probe serializer stops at the first call the value makes, so it costs next to
//! nothing. Codecs use it to name a value in error messages (Go names the type) and to
//! special-case "nil" and empty structs.

// Each codec uses part of it; only with all three is every item used.
#![cfg_attr(
    not(all(feature = "protobuf", feature = "thrift", feature = "xml")),
    allow(dead_code)
)]

use std::fmt;

use serde::ser::{self, Impossible};

/// The outer shape of a serde value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `()` or `None`: Go's nil.
    Nil,
    /// A unit struct.
    UnitStruct(&'static str),
    /// A struct with `len` serialized fields.
    Struct { name: &'static str, len: usize },
    /// A newtype struct (the name only: its content is not probed).
    Newtype(&'static str),
    /// A tuple struct.
    TupleStruct(&'static str),
    /// A variant of an enum.
    Enum {
        name: &'static str,
        variant: &'static str,
    },
    /// A primitive: the Rust name of its type.
    Primitive(&'static str),
    /// A sequence or tuple.
    Seq,
    /// A map.
    Map,
    /// The value failed before saying what it is.
    Unknown,
}

impl Shape {
    /// A human name for error messages, Rust-flavoured.
    pub(crate) fn describe(&self) -> String {
        match self {
            Shape::Nil => "unit".to_owned(),
            Shape::UnitStruct(name) | Shape::Newtype(name) | Shape::TupleStruct(name) => {
                (*name).to_owned()
            }
            Shape::Struct { name, .. } => (*name).to_owned(),
            Shape::Enum { name, variant } => format!("{name}::{variant}"),
            Shape::Primitive(name) => (*name).to_owned(),
            Shape::Seq => "a sequence".to_owned(),
            Shape::Map => "a map".to_owned(),
            Shape::Unknown => "this value".to_owned(),
        }
    }
}

/// The shape of `value`. `Some(x)` is probed as `x`.
pub(crate) fn shape<T: ?Sized + ser::Serialize>(value: &T) -> Shape {
    match value.serialize(Probe) {
        Ok(shape) | Err(Found(shape)) => shape,
    }
}

struct Probe;

/// Carries the shape out of the compound-serializer methods, which cannot return `Ok`.
#[derive(Debug)]
struct Found(Shape);

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probed {:?}", self.0)
    }
}

impl std::error::Error for Found {}

impl ser::Error for Found {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Found(Shape::Unknown)
    }
}

type Never = Impossible<Shape, Found>;

impl ser::Serializer for Probe {
    type Ok = Shape;
    type Error = Found;
    type SerializeSeq = Never;
    type SerializeTuple = Never;
    type SerializeTupleStruct = Never;
    type SerializeTupleVariant = Never;
    type SerializeMap = Never;
    type SerializeStruct = Never;
    type SerializeStructVariant = Never;

    fn serialize_bool(self, _: bool) -> Result<Shape, Found> {
        Ok(Shape::Primitive("bool"))
    }
    fn serialize_i8(self, _: i8) -> Result<Shape, Found> {
        Ok(Shape::Primitive("i8"))
    }
    fn serialize_i16(self, _: i16) -> Result<Shape, Found> {
        Ok(Shape::Primitive("i16"))
    }
    fn serialize_i32(self, _: i32) -> Result<Shape, Found> {
        Ok(Shape::Primitive("i32"))
    }
    fn serialize_i64(self, _: i64) -> Result<Shape, Found> {
        Ok(Shape::Primitive("i64"))
    }
    fn serialize_i128(self, _: i128) -> Result<Shape, Found> {
        Ok(Shape::Primitive("i128"))
    }
    fn serialize_u8(self, _: u8) -> Result<Shape, Found> {
        Ok(Shape::Primitive("u8"))
    }
    fn serialize_u16(self, _: u16) -> Result<Shape, Found> {
        Ok(Shape::Primitive("u16"))
    }
    fn serialize_u32(self, _: u32) -> Result<Shape, Found> {
        Ok(Shape::Primitive("u32"))
    }
    fn serialize_u64(self, _: u64) -> Result<Shape, Found> {
        Ok(Shape::Primitive("u64"))
    }
    fn serialize_u128(self, _: u128) -> Result<Shape, Found> {
        Ok(Shape::Primitive("u128"))
    }
    fn serialize_f32(self, _: f32) -> Result<Shape, Found> {
        Ok(Shape::Primitive("f32"))
    }
    fn serialize_f64(self, _: f64) -> Result<Shape, Found> {
        Ok(Shape::Primitive("f64"))
    }
    fn serialize_char(self, _: char) -> Result<Shape, Found> {
        Ok(Shape::Primitive("char"))
    }
    fn serialize_str(self, _: &str) -> Result<Shape, Found> {
        Ok(Shape::Primitive("string"))
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<Shape, Found> {
        Ok(Shape::Primitive("bytes"))
    }
    fn serialize_none(self) -> Result<Shape, Found> {
        Ok(Shape::Nil)
    }
    fn serialize_some<T: ?Sized + ser::Serialize>(self, value: &T) -> Result<Shape, Found> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Shape, Found> {
        Ok(Shape::Nil)
    }
    fn serialize_unit_struct(self, name: &'static str) -> Result<Shape, Found> {
        Ok(Shape::UnitStruct(name))
    }
    fn serialize_unit_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Shape, Found> {
        Ok(Shape::Enum { name, variant })
    }
    fn serialize_newtype_struct<T: ?Sized + ser::Serialize>(
        self,
        name: &'static str,
        _: &T,
    ) -> Result<Shape, Found> {
        Ok(Shape::Newtype(name))
    }
    fn serialize_newtype_variant<T: ?Sized + ser::Serialize>(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<Shape, Found> {
        Ok(Shape::Enum { name, variant })
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Never, Found> {
        Err(Found(Shape::Seq))
    }
    fn serialize_tuple(self, _: usize) -> Result<Never, Found> {
        Err(Found(Shape::Seq))
    }
    fn serialize_tuple_struct(self, name: &'static str, _: usize) -> Result<Never, Found> {
        Err(Found(Shape::TupleStruct(name)))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Never, Found> {
        Err(Found(Shape::Enum { name, variant }))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Never, Found> {
        Err(Found(Shape::Map))
    }
    fn serialize_struct(self, name: &'static str, len: usize) -> Result<Never, Found> {
        Err(Found(Shape::Struct { name, len }))
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Never, Found> {
        Err(Found(Shape::Enum { name, variant }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Args {
        a: i32,
    }

    #[derive(serde::Serialize)]
    struct Empty {}

    #[test]
    fn shapes() {
        assert_eq!(
            shape(&Args { a: 1 }),
            Shape::Struct {
                name: "Args",
                len: 1
            }
        );
        assert_eq!(
            shape(&Some(Empty {})),
            Shape::Struct {
                name: "Empty",
                len: 0
            }
        );
        assert_eq!(shape(&()), Shape::Nil);
        assert_eq!(shape(&None::<i32>), Shape::Nil);
        assert_eq!(shape(&5u8), Shape::Primitive("u8"));
        assert_eq!(shape(&"x"), Shape::Primitive("string"));
        assert_eq!(shape(&vec![1]), Shape::Seq);
    }
}
