//! The form codec (`f`, "form"): `application/x-www-form-urlencoded`.

mod de;
mod ser;

use std::fmt;

use super::{Codec, CodecError, CodecId, DecodeFn};

/// URL-encoded form (`f`, "form"), as Go eRPC's form codec reads and writes it.
///
/// Encoding takes a struct or a map (through `Some` and newtype structs; `()`/`None` ⇒ an
/// empty body): one `key=value` pair per field or entry, keys being the serde field names
/// (use `#[serde(rename)]` for Go's `form` tags). Like Go's `url.Values.Encode`, pairs are
/// **sorted by key** (byte order, so `B` before `a`), escaped as Go's `QueryEscape` does
/// (space as `+`, upper-case hex, only `A-Z a-z 0-9 - _ . ~` unescaped). A sequence field
/// gives one pair per element in **natural order**: `{a: [1, 2, 3], B: "x y"}` ⇒
/// `B=x+y&a=1&a=2&a=3`. (Go senders write slices in *reverse* order, a Go bug; Go receivers
/// take values in received order, so natural order is what a Go receiver should get.)
/// `None` fields are left out; nested structs and maps are an error (Go flattens untagged
/// nested structs; use `#[serde(flatten)]` with string fields if you need that).
///
/// Decoding parses the query like Go's `url.ParseQuery` (`&` separators, `+` as space, a bad
/// `%` escape or a `;` is an error) into a struct or a map: a sequence field takes every value
/// of its key in received order, any other field the first one. As in Go an empty value
/// means `0`/`false`; integers and floats are parsed in base 10 and must fit the field (Go
/// truncates); unlike Go, an unparsable bool is an error rather than `false`. A map of
/// `String` to `String` takes the first value of each key, a map to `Vec<String>` all values.
///
/// # Why not serde_urlencoded
///
/// The codec is hand-written because `serde_urlencoded` (and the `form_urlencoded` it builds
/// on) differs from Go's `url.Values` wherever it matters on the wire: it writes fields in
/// declaration order (Go sorts by key), has no sequence fields (Go's repeated keys
/// `a=1&a=2`), escapes `~` and leaves `*` bare (Go's `QueryEscape` does the opposite), reads
/// a bad `%` escape or a `;` as literal text (Go rejects both), and refuses an empty value
/// for a number (Go reads `0`). Each of these would change frames or decoded values between
/// a Go peer and this one.
#[derive(Debug, Clone, Copy, Default)]
#[allow(clippy::exhaustive_structs)] // a unit codec
pub struct FormCodec;

impl Codec for FormCodec {
    fn id(&self) -> CodecId {
        CodecId::FORM
    }

    fn name(&self) -> &str {
        "form"
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
        let form = de::parse(body).map_err(|e| CodecError::decode("form", e))?;
        visit(&mut <dyn erased_serde::Deserializer>::erase(
            de::FormDeserializer::new(form),
        ))
        .map_err(|e| CodecError::decode("form", e))
    }
}

impl FormCodec {
    /// [`Codec::encode`] without type erasure.
    pub(crate) fn encode_serde<T: ?Sized + serde::Serialize>(
        &self,
        value: &T,
        out: &mut Vec<u8>,
    ) -> Result<(), CodecError> {
        let mut pairs = Vec::new();
        value
            .serialize(ser::TopSerializer { pairs: &mut pairs })
            .map_err(|e| CodecError::encode("form", e))?;
        // Stable: the values of one key keep their order.
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(b'&');
            }
            query_escape(key.as_bytes(), out);
            out.push(b'=');
            query_escape(value, out);
        }
        Ok(())
    }

    /// [`Codec::decode`] without type erasure.
    pub(crate) fn decode_serde<'de, T: serde::Deserialize<'de>>(
        &self,
        body: &'de [u8],
    ) -> Result<T, CodecError> {
        let form = de::parse(body).map_err(|e| CodecError::decode("form", e))?;
        T::deserialize(de::FormDeserializer::new(form)).map_err(|e| CodecError::decode("form", e))
    }
}

/// Go's `url.QueryEscape`.
fn query_escape(bytes: &[u8], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => {
                out.extend_from_slice(&[b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xF)]])
            }
        }
    }
}

/// Error of the form serializer and deserializer.
#[derive(Debug)]
struct FormError(String);

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormError {}

impl serde::ser::Error for FormError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FormError(msg.to_string())
    }
}

impl serde::de::Error for FormError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        FormError(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use serde::{Deserialize, Serialize};

    use super::*;

    fn codec() -> &'static dyn Codec {
        &FormCodec
    }

    fn enc<T: Serialize + ?Sized>(v: &T) -> Result<String, CodecError> {
        codec()
            .encode_value(v)
            .map(|b| String::from_utf8(b.to_vec()).unwrap())
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[allow(non_snake_case)]
    struct Go {
        #[serde(rename = "a")]
        A: Vec<i32>,
        B: String,
    }

    #[test]
    fn go_example_in_natural_order() {
        let v = Go {
            A: vec![1, 2, 3],
            B: "x y".into(),
        };
        assert_eq!(enc(&v).unwrap(), "B=x+y&a=1&a=2&a=3");
        assert_eq!(codec().decode_value::<Go>(b"B=x+y&a=1&a=2&a=3").unwrap(), v);
        // What a Go sender writes: values in reverse, taken as received.
        assert_eq!(
            codec().decode_value::<Go>(b"B=x+y&a=3&a=2&a=1").unwrap(),
            Go {
                A: vec![3, 2, 1],
                B: "x y".into()
            }
        );
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq, Default)]
    struct Scalars {
        s: String,
        i: i32,
        u: u8,
        f: f64,
        b: bool,
        c: char,
        o: Option<i64>,
        #[serde(default)]
        d: i16,
    }

    #[test]
    fn scalars_round_trip() {
        let v = Scalars {
            s: "a&b=c/é*".into(),
            i: -7,
            u: 200,
            f: 1e21,
            b: true,
            c: 'x',
            o: None,
            d: 0,
        };
        let text = enc(&v).unwrap();
        assert_eq!(
            text,
            "b=true&c=x&d=0&f=1000000000000000000000&i=-7&s=a%26b%3Dc%2F%C3%A9%2A&u=200"
        );
        assert_eq!(codec().decode_value::<Scalars>(text.as_bytes()).unwrap(), v);
    }

    #[test]
    fn go_decoding_rules() {
        // First value wins; empty means zero; unknown keys ignored; `+` is a space.
        let v: Scalars = codec()
            .decode_value(b"s=one+two&s=three&i=&u=&f=&b=&c=z&o=5&zz=1")
            .unwrap();
        assert_eq!(
            v,
            Scalars {
                s: "one two".into(),
                c: 'z',
                o: Some(5),
                ..Scalars::default()
            }
        );
        let m: BTreeMap<String, Vec<String>> = codec().decode_value(b"k=1&j=2&k=3&e").unwrap();
        assert_eq!(m["k"], ["1", "3"]);
        assert_eq!(m["e"], [""]);
        let m: HashMap<String, String> = codec().decode_value(b"k=1&k=3&&x=%41").unwrap();
        assert_eq!(m["k"], "1");
        assert_eq!(m["x"], "A");
        let m: BTreeMap<String, i32> = codec().decode_value(b"a=1&b=2").unwrap();
        assert_eq!(m.len(), 2);
        let v: serde_json::Value = codec().decode_value(b"a=1&b=2&b=3").unwrap();
        assert_eq!(v, serde_json::json!({"a": "1", "b": ["2", "3"]}));
    }

    #[test]
    fn decode_errors() {
        let err = codec().decode_value::<Scalars>(b"s=%zz").unwrap_err();
        assert_eq!(err.to_string(), r#"form codec: invalid URL escape "%zz""#);
        assert!(codec().decode_value::<Scalars>(b"s=%4").is_err());
        assert!(codec().decode_value::<Scalars>(b"a=1;b=2").is_err());
        assert!(codec().decode_value::<Scalars>(b"u=256").is_err());
        assert!(codec().decode_value::<Scalars>(b"u=+1").is_err());
        assert!(codec().decode_value::<Scalars>(b"b=yes").is_err());
        assert!(codec().decode_value::<Scalars>(b"c=ab").is_err());
        assert!(codec().decode_value::<i32>(b"a=1").is_err());
        assert!(codec().decode_value::<String>(b"s=%FF").is_err());
    }

    #[test]
    fn encode_shapes() {
        let m: BTreeMap<&str, &str> = [("b", "2"), ("a", "1")].into_iter().collect();
        assert_eq!(enc(&m).unwrap(), "a=1&b=2");
        let m: HashMap<i32, Vec<bool>> = [(2, vec![true]), (1, vec![false, true])]
            .into_iter()
            .collect();
        assert_eq!(enc(&m).unwrap(), "1=false&1=true&2=true");
        assert_eq!(enc(&()).unwrap(), "");
        assert_eq!(enc(&None::<Go>).unwrap(), "");
        assert!(enc(&5).is_err());
        assert!(enc(&vec![("a", 1)]).is_err());
        #[derive(Serialize)]
        struct Nested {
            inner: Go,
        }
        let err = enc(&Nested {
            inner: Go {
                A: vec![],
                B: String::new(),
            },
        })
        .unwrap_err();
        assert!(err.to_string().contains("inner"), "{err}");
        #[derive(Serialize)]
        struct Deep {
            v: Vec<Vec<i32>>,
        }
        assert!(enc(&Deep { v: vec![vec![1]] }).is_err());
    }

    #[test]
    fn escaping_like_go() {
        let mut out = Vec::new();
        query_escape("a b+c~d*é\n".as_bytes(), &mut out);
        assert_eq!(out, b"a+b%2Bc~d%2A%C3%A9%0A");
        // Go 1.19: url.Values{"B": {"x y"}, "a": {"1"}, "s": {"a&b=c/é*~-._!'()"}}.Encode()
        let m: BTreeMap<&str, &str> = [("s", "a&b=c/é*~-._!'()"), ("a", "1"), ("B", "x y")]
            .into_iter()
            .collect();
        assert_eq!(
            enc(&m).unwrap(),
            "B=x+y&a=1&s=a%26b%3Dc%2F%C3%A9%2A~-._%21%27%28%29"
        );
    }
}
