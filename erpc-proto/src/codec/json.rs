//! The JSON codec (`j`, "json"), Go `encoding/json` compatible.

use std::io;

use serde_json::ser::{CharEscape, CompactFormatter, Formatter};

use super::number;
use super::{Codec, CodecError, CodecId, DecodeFn};

/// JSON (`j`, "json"), through serde_json, writing what Go's `encoding/json` writes.
///
/// Encoding matches Go byte for byte for the same field names and order:
///
/// * `<`, `>` and `&` inside strings are written `\u003c`, `\u003e`, `\u0026` (Go's HTML
///   escaping, on by default; see [`escape_html`](JsonCodec::escape_html)); U+2028 and U+2029
///   are always written `\u2028`, `\u2029`; backspace and form feed `\u0008`, `\u000c`
///   (Go 1.19, the reference version).
/// * Floats use Go's format: `1e+21`, `100000000000000000000`, `1.5e-7`.
/// * `()` and `None` are `null` (Go's typed nil pointer).
///
/// Differences to keep in mind when talking to Go:
///
/// * Go names fields after the Go field (`{"A":10,"B":2}`): use `#[serde(rename)]` or
///   `rename_all = "PascalCase"`. Go matches keys case-insensitively on decode; serde matches
///   them exactly (use `alias` if needed). Unknown keys are ignored by both (unless
///   `deny_unknown_fields`).
/// * Go sorts map keys; a `BTreeMap` gives the same order, a `HashMap` does not.
/// * Go writes `[]byte` as a base64 string; a `Vec<u8>` is a JSON array here (Go decodes
///   both), so use a base64 serde helper for fields a Go peer sends as `[]byte`.
/// * Go refuses NaN and infinities; serde_json writes them as `null`.
///
/// Decoding is standard serde_json (nesting limited to 128 levels); trailing data is an
/// error, as in Go.
#[derive(Debug, Clone, Copy)]
pub struct JsonCodec {
    escape_html: bool,
}

impl JsonCodec {
    /// The codec with Go's defaults (HTML escaping on).
    pub const fn new() -> Self {
        JsonCodec { escape_html: true }
    }

    /// Whether `<`, `>` and `&` in strings are escaped (Go's `SetEscapeHTML`; default
    /// `true`, which is what `json.Marshal` does).
    pub const fn escape_html(mut self, on: bool) -> Self {
        self.escape_html = on;
        self
    }
}

impl Default for JsonCodec {
    fn default() -> Self {
        JsonCodec::new()
    }
}

impl Codec for JsonCodec {
    fn id(&self) -> CodecId {
        CodecId::JSON
    }

    fn name(&self) -> &str {
        "json"
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
        let mut de = serde_json::Deserializer::from_slice(body);
        visit(&mut <dyn erased_serde::Deserializer>::erase(&mut de))
            .map_err(|e| CodecError::decode("json", e))?;
        de.end().map_err(|e| CodecError::decode("json", e))
    }
}

impl JsonCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let mut ser = serde_json::Serializer::with_formatter(
            out,
            GoFormatter {
                escape_html: self.escape_html,
            },
        );
        value
            .serialize(&mut ser)
            .map_err(|e| CodecError::encode("json", e))
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let mut de = serde_json::Deserializer::from_slice(body);
        let value = T::deserialize(&mut de).map_err(|e| CodecError::decode("json", e))?;
        de.end().map_err(|e| CodecError::decode("json", e))?;
        Ok(value)
    }
}

/// serde_json's compact output with Go's string escaping and float format.
struct GoFormatter {
    escape_html: bool,
}

impl Formatter for GoFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let bytes = fragment.as_bytes();
        // Fast check without early exit, so that it vectorises: most fragments need nothing.
        let html = self.escape_html;
        let suspect = bytes.iter().fold(false, |acc, &b| {
            acc | (b == 0xE2) | (html & ((b == b'<') | (b == b'>') | (b == b'&')))
        });
        if !suspect {
            return writer.write_all(bytes);
        }
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let (escape, len): (&[u8], usize) = match b {
                b'<' if self.escape_html => (b"\\u003c", 1),
                b'>' if self.escape_html => (b"\\u003e", 1),
                b'&' if self.escape_html => (b"\\u0026", 1),
                // U+2028 and U+2029 are E2 80 A8 and E2 80 A9; the loop then passes over
                // their continuation bytes, which match nothing.
                0xE2 if bytes.get(i + 1) == Some(&0x80) => match bytes.get(i + 2) {
                    Some(0xA8) => (b"\\u2028", 3),
                    Some(0xA9) => (b"\\u2029", 3),
                    _ => continue,
                },
                _ => continue,
            };
            writer.write_all(&bytes[start..i])?;
            writer.write_all(escape)?;
            start = i + len;
        }
        writer.write_all(&bytes[start..])
    }

    /// Go 1.19 (the reference version) writes backspace and form feed as `\u0008` and
    /// `\u000c`; serde_json would write `\b` and `\f`.
    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        match char_escape {
            CharEscape::Backspace => writer.write_all(b"\\u0008"),
            CharEscape::FormFeed => writer.write_all(b"\\u000c"),
            other => CompactFormatter.write_char_escape(writer, other),
        }
    }

    fn write_f64<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        number::write_f64(writer, value, number::Layout::Json)
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        number::write_f32(writer, value, number::Layout::Json)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn enc<T: serde::Serialize>(v: &T) -> String {
        let codec: &dyn Codec = &JsonCodec::new();
        String::from_utf8(codec.encode_value(v).unwrap().to_vec()).unwrap()
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    #[allow(non_snake_case)]
    struct Arg {
        A: i32,
        B: i32,
    }

    #[test]
    fn go_shapes() {
        assert_eq!(enc(&Arg { A: 10, B: 2 }), r#"{"A":10,"B":2}"#);
        assert_eq!(enc(&[1, 2, 3, 4, 5]), "[1,2,3,4,5]");
        assert_eq!(enc(&15), "15");
        assert_eq!(enc(&()), "null");
        assert_eq!(enc(&None::<Arg>), "null");
        let m: BTreeMap<&str, i32> = [("b", 2), ("a", 1)].into_iter().collect();
        assert_eq!(enc(&m), r#"{"a":1,"b":2}"#);
    }

    #[test]
    fn html_escaping() {
        assert_eq!(
            enc(&"<a href=\"x\">&</a>"),
            r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#
        );
        assert_eq!(
            enc(&"line\u{2028}sep\u{2029}end"),
            r#""line\u2028sep\u2029end""#
        );
        assert_eq!(enc(&"é\u{20AC}\u{2027}"), "\"é\u{20AC}\u{2027}\"");
        assert_eq!(enc(&"tab\t\"\\\u{1}"), r#""tab\t\"\\\u0001""#);
        // Byte for byte what Go 1.19's json.Marshal writes for the same string.
        assert_eq!(
            enc(&"a<b>&c\u{2028}\u{2029}\u{8}\u{c}\n\r\t\u{1}\u{1f}\u{7f}\"\\/é"),
            "\"a\\u003cb\\u003e\\u0026c\\u2028\\u2029\\u0008\\u000c\\n\\r\\t\\u0001\\u001f\u{7f}\\\"\\\\/é\""
        );
        let codec: &dyn Codec = &JsonCodec::new().escape_html(false);
        assert_eq!(
            &codec.encode_value(&"<&>\u{2028}").unwrap()[..],
            b"\"<&>\\u2028\""
        );
    }

    #[test]
    fn go_floats() {
        assert_eq!(enc(&1e21), "1e+21");
        assert_eq!(enc(&1e20), "100000000000000000000");
        assert_eq!(enc(&[0.5f32, 1e-7]), "[0.5,1e-7]");
    }

    #[test]
    fn decode_rejects_trailing_data() {
        let codec: &dyn Codec = &JsonCodec::new();
        assert_eq!(codec.decode_value::<i32>(b" 15 ").unwrap(), 15);
        assert!(matches!(
            codec.decode_value::<i32>(b"15 x"),
            Err(CodecError::Decode { .. })
        ));
        let decoded: Arg = codec
            .decode_value(br#"{"B":2,"A":10,"C":"ignored"}"#)
            .unwrap();
        assert_eq!(decoded, Arg { A: 10, B: 2 });
        let s: String = codec.decode_value(br#""\u003c\u2028""#).unwrap();
        assert_eq!(s, "<\u{2028}");
    }

    #[test]
    fn decode_depth_is_bounded() {
        let codec: &dyn Codec = &JsonCodec::new();
        let deep = "[".repeat(100_000);
        assert!(codec
            .decode_value::<serde_json::Value>(deep.as_bytes())
            .is_err());
    }
}
