//! Serde → TBinaryProtocol.

use serde::ser::{self, Serialize};

use super::{
    ThriftError, BOOL, BYTE, DOUBLE, EMPTY_ELEMENT, I16, I32, I64, LIST, MAP, STOP, STRING, STRUCT,
};

/// Writes one value (without a type byte) and returns its Thrift type, or `None` when the
/// value is nil (`None`) and nothing was written.
pub(super) struct ValueSerializer<'a> {
    pub(super) out: &'a mut Vec<u8>,
}

type Written = Option<u8>;

fn len_i32(len: usize, what: &str) -> Result<[u8; 4], ThriftError> {
    i32::try_from(len)
        .map(i32::to_be_bytes)
        .map_err(|_| ThriftError(format!("{what} of {len} elements is too long for Thrift")))
}

impl ValueSerializer<'_> {
    fn put(self, ttype: u8, bytes: &[u8]) -> Result<Written, ThriftError> {
        self.out.extend_from_slice(bytes);
        Ok(Some(ttype))
    }

    fn string(self, bytes: &[u8]) -> Result<Written, ThriftError> {
        self.out
            .extend_from_slice(&len_i32(bytes.len(), "a string")?);
        self.put(STRING, bytes)
    }

    /// A union: a struct whose only field is `variant_index + 1`.
    fn union<T: ?Sized + Serialize>(
        self,
        variant_index: u32,
        value: &T,
    ) -> Result<Written, ThriftError> {
        let mut fields = StructSerializer::new(self.out);
        fields.next_id = field_id(variant_index)?;
        ser::SerializeStruct::serialize_field(&mut fields, "", value)?;
        ser::SerializeStruct::end(fields)
    }
}

fn field_id(variant_index: u32) -> Result<i16, ThriftError> {
    i16::try_from(variant_index)
        .ok()
        .and_then(|i| i.checked_add(1))
        .ok_or_else(|| {
            ThriftError(format!(
                "variant index {variant_index} is too large for a Thrift field id"
            ))
        })
}

impl<'a> ser::Serializer for ValueSerializer<'a> {
    type Ok = Written;
    type Error = ThriftError;
    type SerializeSeq = ListSerializer<'a>;
    type SerializeTuple = ListSerializer<'a>;
    type SerializeTupleStruct = ListSerializer<'a>;
    type SerializeTupleVariant = ser::Impossible<Written, ThriftError>;
    type SerializeMap = MapSerializer<'a>;
    type SerializeStruct = StructSerializer<'a>;
    type SerializeStructVariant = StructVariantSerializer<'a>;

    fn serialize_bool(self, v: bool) -> Result<Written, ThriftError> {
        self.put(BOOL, &[u8::from(v)])
    }
    fn serialize_i8(self, v: i8) -> Result<Written, ThriftError> {
        self.put(BYTE, &v.to_be_bytes())
    }
    fn serialize_i16(self, v: i16) -> Result<Written, ThriftError> {
        self.put(I16, &v.to_be_bytes())
    }
    fn serialize_i32(self, v: i32) -> Result<Written, ThriftError> {
        self.put(I32, &v.to_be_bytes())
    }
    fn serialize_i64(self, v: i64) -> Result<Written, ThriftError> {
        self.put(I64, &v.to_be_bytes())
    }
    fn serialize_u8(self, v: u8) -> Result<Written, ThriftError> {
        self.serialize_i16(i16::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Written, ThriftError> {
        self.serialize_i32(i32::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Written, ThriftError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Written, ThriftError> {
        let v =
            i64::try_from(v).map_err(|_| ThriftError(format!("{v} does not fit a Thrift i64")))?;
        self.serialize_i64(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Written, ThriftError> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Written, ThriftError> {
        self.put(DOUBLE, &v.to_bits().to_be_bytes())
    }
    fn serialize_char(self, v: char) -> Result<Written, ThriftError> {
        self.string(v.encode_utf8(&mut [0; 4]).as_bytes())
    }
    fn serialize_str(self, v: &str) -> Result<Written, ThriftError> {
        self.string(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Written, ThriftError> {
        self.string(v)
    }
    fn serialize_none(self) -> Result<Written, ThriftError> {
        Ok(None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Written, ThriftError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Written, ThriftError> {
        self.put(STRUCT, &[STOP])
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Written, ThriftError> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        variant_index: u32,
        _: &'static str,
    ) -> Result<Written, ThriftError> {
        let v = i32::try_from(variant_index)
            .map_err(|_| ThriftError("enum variant index too large".into()))?;
        self.serialize_i32(v)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Written, ThriftError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        variant_index: u32,
        _: &'static str,
        value: &T,
    ) -> Result<Written, ThriftError> {
        self.union(variant_index, value)
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<ListSerializer<'a>, ThriftError> {
        Ok(ListSerializer::new(self.out))
    }
    fn serialize_tuple(self, _: usize) -> Result<ListSerializer<'a>, ThriftError> {
        Ok(ListSerializer::new(self.out))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<ListSerializer<'a>, ThriftError> {
        Ok(ListSerializer::new(self.out))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, ThriftError> {
        Err(ThriftError(format!(
            "tuple variant {name}::{variant} has no Thrift representation"
        )))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSerializer<'a>, ThriftError> {
        Ok(MapSerializer::new(self.out))
    }
    fn serialize_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<StructSerializer<'a>, ThriftError> {
        Ok(StructSerializer::new(self.out))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        variant_index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<StructVariantSerializer<'a>, ThriftError> {
        // Union header: one STRUCT field with id `index + 1`; the inner struct follows.
        let id = field_id(variant_index)?;
        self.out.push(STRUCT);
        self.out.extend_from_slice(&id.to_be_bytes());
        Ok(StructVariantSerializer(StructSerializer::new(self.out)))
    }
}

/// Fields of a struct, ids assigned by position.
pub(super) struct StructSerializer<'a> {
    out: &'a mut Vec<u8>,
    next_id: i16,
}

impl<'a> StructSerializer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        StructSerializer { out, next_id: 1 }
    }

    fn take_id(&mut self) -> Result<i16, ThriftError> {
        let id = self.next_id;
        self.next_id = id
            .checked_add(1)
            .ok_or_else(|| ThriftError("a struct has more fields than Thrift field ids".into()))?;
        Ok(id)
    }
}

impl ser::SerializeStruct for StructSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        _: &'static str,
        value: &T,
    ) -> Result<(), ThriftError> {
        let id = self.take_id()?;
        let header = self.out.len();
        self.out.extend_from_slice(&[0, 0, 0]);
        match value.serialize(ValueSerializer {
            out: &mut *self.out,
        })? {
            Some(ttype) => {
                let [hi, lo] = id.to_be_bytes();
                self.out[header..header + 3].copy_from_slice(&[ttype, hi, lo]);
            }
            // `None`: an absent optional field.
            None => self.out.truncate(header),
        }
        Ok(())
    }

    fn skip_field(&mut self, _: &'static str) -> Result<(), ThriftError> {
        self.take_id().map(drop)
    }

    fn end(self) -> Result<Written, ThriftError> {
        self.out.push(STOP);
        Ok(Some(STRUCT))
    }
}

/// A struct variant: the struct, then the STOP of the enclosing union.
pub(super) struct StructVariantSerializer<'a>(StructSerializer<'a>);

impl ser::SerializeStructVariant for StructVariantSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), ThriftError> {
        ser::SerializeStruct::serialize_field(&mut self.0, key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), ThriftError> {
        ser::SerializeStruct::skip_field(&mut self.0, key)
    }

    fn end(self) -> Result<Written, ThriftError> {
        let out = self.0.out;
        out.extend_from_slice(&[STOP, STOP]);
        Ok(Some(STRUCT))
    }
}

/// Checks that every element of a collection has the same Thrift type.
fn element_type(slot: &mut Option<u8>, written: Written, what: &str) -> Result<(), ThriftError> {
    let ttype =
        written.ok_or_else(|| ThriftError(format!("a Thrift {what} cannot hold a null (None)")))?;
    match *slot {
        None => *slot = Some(ttype),
        Some(t) if t == ttype => {}
        Some(t) => {
            return Err(ThriftError(format!(
                "a Thrift {what} needs elements of one type, got {} and {}",
                super::type_name(t),
                super::type_name(ttype)
            )))
        }
    }
    Ok(())
}

/// A list: `elem_type: u8, count: i32`, then the elements (header patched at the end).
pub(super) struct ListSerializer<'a> {
    out: &'a mut Vec<u8>,
    header: usize,
    count: usize,
    elem: Option<u8>,
}

impl<'a> ListSerializer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let header = out.len();
        out.extend_from_slice(&[0; 5]);
        ListSerializer {
            out,
            header,
            count: 0,
            elem: None,
        }
    }

    fn element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), ThriftError> {
        let written = value.serialize(ValueSerializer {
            out: &mut *self.out,
        })?;
        element_type(&mut self.elem, written, "list")?;
        self.count += 1;
        Ok(())
    }

    fn finish(self) -> Result<Written, ThriftError> {
        let count = len_i32(self.count, "a list")?;
        self.out[self.header] = self.elem.unwrap_or(EMPTY_ELEMENT);
        self.out[self.header + 1..self.header + 5].copy_from_slice(&count);
        Ok(Some(LIST))
    }
}

impl ser::SerializeSeq for ListSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), ThriftError> {
        self.element(value)
    }

    fn end(self) -> Result<Written, ThriftError> {
        self.finish()
    }
}

impl ser::SerializeTuple for ListSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), ThriftError> {
        self.element(value)
    }

    fn end(self) -> Result<Written, ThriftError> {
        self.finish()
    }
}

impl ser::SerializeTupleStruct for ListSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), ThriftError> {
        self.element(value)
    }

    fn end(self) -> Result<Written, ThriftError> {
        self.finish()
    }
}

/// A map: `key_type: u8, value_type: u8, count: i32`, then the pairs.
pub(super) struct MapSerializer<'a> {
    out: &'a mut Vec<u8>,
    header: usize,
    count: usize,
    key: Option<u8>,
    value: Option<u8>,
}

impl<'a> MapSerializer<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let header = out.len();
        out.extend_from_slice(&[0; 6]);
        MapSerializer {
            out,
            header,
            count: 0,
            key: None,
            value: None,
        }
    }
}

impl ser::SerializeMap for MapSerializer<'_> {
    type Ok = Written;
    type Error = ThriftError;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), ThriftError> {
        let written = key.serialize(ValueSerializer {
            out: &mut *self.out,
        })?;
        element_type(&mut self.key, written, "map key")
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), ThriftError> {
        let written = value.serialize(ValueSerializer {
            out: &mut *self.out,
        })?;
        element_type(&mut self.value, written, "map value")?;
        self.count += 1;
        Ok(())
    }

    fn end(self) -> Result<Written, ThriftError> {
        let count = len_i32(self.count, "a map")?;
        self.out[self.header] = self.key.unwrap_or(EMPTY_ELEMENT);
        self.out[self.header + 1] = self.value.unwrap_or(EMPTY_ELEMENT);
        self.out[self.header + 2..self.header + 6].copy_from_slice(&count);
        Ok(Some(MAP))
    }
}
