//! The XML codec (`x`, "xml").

use quick_xml::events::Event;
use quick_xml::se::Serializer;

use super::probe::{self, Shape};
use super::{Codec, CodecError, CodecId, DecodeFn};

/// Deepest element nesting a body may have.
const MAX_DEPTH: usize = 128;

/// XML (`x`, "xml"), through quick-xml's serde support, shaped like Go's `encoding/xml`.
///
/// A struct becomes an element named after the type with one child element per field
/// (`<Args><A>10</A><B>2</B></Args>`), without an XML declaration; empty elements are written
/// as `<A></A>` like Go. A newtype or unit struct is an element named after the type, a
/// primitive an element named after the Go type (`<int32>10</int32>`, `<string>…</string>`),
/// and `()`/`None` (Go's nil) zero bytes. Use `#[serde(rename = "…")]` on the type for Go's
/// `XMLName`, and quick-xml's `@name` and `$text` conventions for attributes and text.
///
/// Decoding ignores the root element's name (as Go does unless the struct has an
/// `XMLName`); the body must be UTF-8 and elements may nest at most 128 levels.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit codec
pub struct XmlCodec;

/// Go's name for a primitive type (the root element Go writes for it).
fn go_type_name(rust: &str) -> &str {
    match rust {
        "i8" => "int8",
        "i16" => "int16",
        "i32" | "char" => "int32",
        "i64" => "int64",
        "i128" => "int128",
        "u8" => "uint8",
        "u16" => "uint16",
        "u32" => "uint32",
        "u64" => "uint64",
        "u128" => "uint128",
        "f32" => "float32",
        "f64" => "float64",
        other => other,
    }
}

impl Codec for XmlCodec {
    fn id(&self) -> CodecId {
        CodecId::XML
    }

    fn name(&self) -> &str {
        "xml"
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
        let text = std::str::from_utf8(body).map_err(|e| CodecError::decode("xml", e))?;
        check_depth(text)?;
        let mut de = quick_xml::de::Deserializer::from_str(text);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de))
            .map_err(|e| CodecError::decode("xml", e))
    }
}

impl XmlCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let root = match probe::shape(value) {
            Shape::Nil => return Ok(()),
            Shape::Primitive(name) => Some(go_type_name(name)),
            Shape::Newtype(name) | Shape::UnitStruct(name) | Shape::TupleStruct(name) => Some(name),
            _ => None,
        };
        let mut text = String::new();
        let mut ser = match root {
            Some(root) => Serializer::with_root(&mut text, Some(root))
                .map_err(|e| CodecError::encode("xml", e))?,
            None => Serializer::new(&mut text),
        };
        ser.expand_empty_elements(true);
        value
            .serialize(ser)
            .map_err(|e| CodecError::encode("xml", e))?;
        if out.is_empty() {
            *out = text.into_bytes();
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        Ok(())
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let text = std::str::from_utf8(body).map_err(|e| CodecError::decode("xml", e))?;
        check_depth(text)?;
        let mut de = quick_xml::de::Deserializer::from_str(text);
        T::deserialize(&mut de).map_err(|e| CodecError::decode("xml", e))
    }
}

/// Refuses documents nested deeper than [`MAX_DEPTH`] (quick-xml's deserializer recurses).
fn check_depth(text: &str) -> Result<(), CodecError> {
    let mut reader = quick_xml::Reader::from_str(text);
    let mut depth = 0usize;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(CodecError::decode(
                        "xml",
                        format_args!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
            }
            Ok(Event::End(_)) => depth = depth.saturating_sub(1),
            Ok(Event::Eof) => return Ok(()),
            Ok(_) => {}
            Err(e) => return Err(CodecError::decode("xml", e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    use super::*;

    fn codec() -> &'static dyn Codec {
        &XmlCodec
    }

    fn enc<T: Serialize + ?Sized>(v: &T) -> String {
        String::from_utf8(codec().encode_value(v).unwrap().to_vec()).unwrap()
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[allow(non_snake_case)]
    struct Args {
        A: i32,
        B: i32,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Person {
        name: String,
        note: String,
        tags: Vec<String>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Name(String);

    #[test]
    fn elements_are_named_like_go() {
        assert_eq!(enc(&Args { A: 10, B: 2 }), "<Args><A>10</A><B>2</B></Args>");
        assert_eq!(enc(&10i32), "<int32>10</int32>");
        assert_eq!(enc(&"a<b"), "<string>a&lt;b</string>");
        assert_eq!(enc(&Name("n".into())), "<Name>n</Name>");
        // Checked against Go 1.19 encoding/xml, like the cases above.
        assert_eq!(enc(&3.5), "<float64>3.5</float64>");
        assert_eq!(enc(&true), "<bool>true</bool>");
        assert_eq!(enc(&()), "");
        assert_eq!(enc(&None::<Args>), "");
        let p = Person {
            name: "x".into(),
            note: String::new(),
            tags: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            enc(&p),
            "<Person><name>x</name><note></note><tags>a</tags><tags>b</tags></Person>"
        );
    }

    #[test]
    fn round_trips() {
        let body = codec().encode_value(&Args { A: 10, B: 2 }).unwrap();
        assert_eq!(
            codec().decode_value::<Args>(&body).unwrap(),
            Args { A: 10, B: 2 }
        );
        let p = Person {
            name: "x & y".into(),
            note: "<n>".into(),
            tags: vec!["a".into(), "b".into()],
        };
        let body = codec().encode_value(&p).unwrap();
        assert_eq!(codec().decode_value::<Person>(&body).unwrap(), p);
        assert_eq!(
            codec().decode_value::<i32>(b"<int32>10</int32>").unwrap(),
            10
        );
        // Go ignores the root name.
        assert_eq!(
            codec()
                .decode_value::<Args>(b"<Other><B>2</B><A>10</A></Other>")
                .unwrap(),
            Args { A: 10, B: 2 }
        );
    }

    #[test]
    fn hostile_input() {
        assert!(codec().decode_value::<Args>(b"\xff").is_err());
        assert!(codec().decode_value::<Args>(b"<Args><A>1</A>").is_err());
        let deep = "<a>".repeat(10_000) + &"</a>".repeat(10_000);
        let err = codec()
            .decode_value::<serde::de::IgnoredAny>(deep.as_bytes())
            .unwrap_err();
        assert!(err.to_string().contains("nested deeper"), "{err}");
    }
}
