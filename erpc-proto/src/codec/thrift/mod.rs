//! The Thrift codec (`t`, "thrift"): serde structs as TBinaryProtocol structs.

mod de;
#[cfg(feature = "thrift-idl")]
mod idl;
mod ser;

#[cfg(feature = "thrift-idl")]
pub use idl::Thrift;

use std::fmt;

use super::probe;
use super::{Codec, CodecError, CodecId, DecodeFn};

/// Thrift (`t`, "thrift"): a serde struct as a TBinaryProtocol (non-strict) struct, the body
/// Go's thrift codec writes and reads.
///
/// A struct is its fields — each `type: u8, id: i16 BE, value` — followed by the STOP byte
/// `00`; `()`, `None` and empty structs are the single byte `00`. Anything but a struct at
/// the top level is an error, as in Go.
///
/// **Field ids are positional**: the fields of a struct get ids 1, 2, 3… in declaration
/// order, on the way out and on the way in (fields skipped with `#[serde(skip)]` take no id;
/// fields skipped with `skip_serializing_if` keep theirs). This matches a Thrift IDL that
/// numbers its fields 1, 2, 3… in order; there is no way to give other ids. A field skipped
/// in only one direction (`skip_serializing` or `skip_deserializing` alone) shifts the ids of
/// the fields after it, and `#[serde(flatten)]` is not supported. Renames and aliases are
/// fine: names never reach the wire.
///
/// Types, as Go's Thrift library writes them:
///
/// | Rust | Thrift |
/// |---|---|
/// | `bool` | BOOL (2) |
/// | `i8` | BYTE (3) |
/// | `i16`, `u8` | I16 (6) |
/// | `i32`, `u16` | I32 (8) |
/// | `i64`, `u32`, `u64` (≤ `i64::MAX`) | I64 (10) |
/// | `f64`, `f32` | DOUBLE (4) |
/// | `String`, `&str`, `char`, bytes (`serde_bytes`) | STRING (11) |
/// | struct, `()`, unit struct | STRUCT (12) |
/// | map | MAP (13) |
/// | `Vec`, slice, tuple | LIST (15) (SET is read as a list too) |
/// | `Option` | the inner value; `None` omits the field |
/// | unit enum variant | I32 (the variant index), like a Thrift enum |
/// | newtype or struct enum variant | STRUCT with the one field `index + 1` (a Thrift union) |
///
/// A `Vec<u8>` is a LIST of I16; use `serde_bytes` for Thrift `binary`. List and map
/// elements must all have the same Thrift type and cannot be `None`. An empty list or map is
/// written with element type I32 (Go's readers ignore the element type of an empty
/// collection).
///
/// Decoding matches wire field ids to positions, skips unknown fields (bounds-checked, nesting
/// limited to 64 levels), and refuses trailing bytes. A field whose wire type does not match
/// the Rust type is an error (Go's generated code would skip it).
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit codec
pub struct ThriftCodec;

impl Codec for ThriftCodec {
    fn id(&self) -> CodecId {
        CodecId::THRIFT
    }

    fn name(&self) -> &str {
        "thrift"
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
        let mut reader = de::Reader::new(body);
        visit(&mut <dyn erased_serde::Deserializer>::erase(
            de::ValueDeserializer::new(&mut reader, STRUCT),
        ))
        .map_err(|e| CodecError::decode("thrift", e))?;
        reader.finish().map_err(|e| CodecError::decode("thrift", e))
    }
}

impl ThriftCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        match value.serialize(ser::ValueSerializer { out: &mut *out }) {
            Ok(None) => {
                out.push(STOP);
                Ok(())
            }
            Ok(Some(STRUCT)) => Ok(()),
            Ok(Some(_)) => Err(CodecError::unsupported(
                "thrift",
                format_args!("{} is not a Thrift struct", probe::shape(value).describe()),
            )),
            Err(e) => Err(CodecError::encode("thrift", e)),
        }
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let mut reader = de::Reader::new(body);
        let value = T::deserialize(de::ValueDeserializer::new(&mut reader, STRUCT))
            .map_err(|e| CodecError::decode("thrift", e))?;
        reader
            .finish()
            .map_err(|e| CodecError::decode("thrift", e))?;
        Ok(value)
    }
}

// Thrift type ids (TType).
const STOP: u8 = 0;
const BOOL: u8 = 2;
const BYTE: u8 = 3;
const DOUBLE: u8 = 4;
const I16: u8 = 6;
const I32: u8 = 8;
const I64: u8 = 10;
const STRING: u8 = 11;
const STRUCT: u8 = 12;
const MAP: u8 = 13;
const SET: u8 = 14;
const LIST: u8 = 15;

/// Element type written for empty lists and maps.
const EMPTY_ELEMENT: u8 = I32;

/// Deepest nesting of structs, lists and maps a decoder accepts.
const MAX_DEPTH: usize = 64;

fn type_name(t: u8) -> &'static str {
    match t {
        STOP => "STOP",
        BOOL => "BOOL",
        BYTE => "BYTE",
        DOUBLE => "DOUBLE",
        I16 => "I16",
        I32 => "I32",
        I64 => "I64",
        STRING => "STRING",
        STRUCT => "STRUCT",
        MAP => "MAP",
        SET => "SET",
        LIST => "LIST",
        _ => "unknown type",
    }
}

/// Error of the Thrift serializer and deserializer.
#[derive(Debug)]
struct ThriftError(String);

impl fmt::Display for ThriftError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ThriftError {}

impl serde::ser::Error for ThriftError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ThriftError(msg.to_string())
    }
}

impl serde::de::Error for ThriftError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ThriftError(msg.to_string())
    }
}

#[cfg(test)]
mod tests;
