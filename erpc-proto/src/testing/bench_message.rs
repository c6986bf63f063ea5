//! The message of Go eRPC's benchmark (`examples/bench`, proto2 package `msg`).

/// The 18-character sentence the benchmark puts in every string field: 54 UTF-8 bytes.
pub const SENTENCE: &str = "许多往事在眼前一幕一幕，变的那麼模糊";

/// `BenchmarkMessage` of Go eRPC's `examples/bench` (reference spec §12.1): a proto2 message
/// with 41 fields, written by hand with `prost` rather than generated.
///
/// Field numbers, types, labels and declared defaults are those of the Go schema. Optional
/// scalars are `Option<T>`, so a set field is always emitted, as the Go type (gogofaster,
/// non-pointer optional scalars) always emits it; prost writes fields in field-number order, so
/// [`BenchmarkMessage::filled`] encodes to exactly the bytes Go sends.
///
/// ```
/// use erpc_proto::testing::BenchmarkMessage;
/// use prost::Message as _;
///
/// let call = BenchmarkMessage::filled();
/// assert_eq!(call.encoded_len(), 581);
/// let reply = call.into_reply();
/// assert_eq!(reply.field1, "OK");
/// assert_eq!(reply.encode_to_vec().len(), 527);
/// ```
#[derive(Clone, PartialEq, prost::Message)]
#[allow(clippy::exhaustive_structs)] // Go's benchmark message, field for field
pub struct BenchmarkMessage {
    /// Field 1: required `string`.
    #[prost(string, required, tag = "1")]
    pub field1: String,
    /// Field 9: optional `string`.
    #[prost(string, optional, tag = "9")]
    pub field9: Option<String>,
    /// Field 18: optional `string`.
    #[prost(string, optional, tag = "18")]
    pub field18: Option<String>,
    /// Field 80: optional `bool`, default `false`.
    #[prost(bool, optional, tag = "80", default = "false")]
    pub field80: Option<bool>,
    /// Field 81: optional `bool`, default `true`.
    #[prost(bool, optional, tag = "81", default = "true")]
    pub field81: Option<bool>,
    /// Field 2: required `int32`.
    #[prost(int32, required, tag = "2")]
    pub field2: i32,
    /// Field 3: required `int32`.
    #[prost(int32, required, tag = "3")]
    pub field3: i32,
    /// Field 280: optional `int32`.
    #[prost(int32, optional, tag = "280")]
    pub field280: Option<i32>,
    /// Field 6: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "6", default = "0")]
    pub field6: Option<i32>,
    /// Field 22: optional `int64`.
    #[prost(int64, optional, tag = "22")]
    pub field22: Option<i64>,
    /// Field 4: optional `string`.
    #[prost(string, optional, tag = "4")]
    pub field4: Option<String>,
    /// Field 5: repeated `fixed64`.
    #[prost(fixed64, repeated, packed = "false", tag = "5")]
    pub field5: Vec<u64>,
    /// Field 59: optional `bool`, default `false`.
    #[prost(bool, optional, tag = "59", default = "false")]
    pub field59: Option<bool>,
    /// Field 7: optional `string`.
    #[prost(string, optional, tag = "7")]
    pub field7: Option<String>,
    /// Field 16: optional `int32`.
    #[prost(int32, optional, tag = "16")]
    pub field16: Option<i32>,
    /// Field 130: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "130", default = "0")]
    pub field130: Option<i32>,
    /// Field 12: optional `bool`, default `true`.
    #[prost(bool, optional, tag = "12", default = "true")]
    pub field12: Option<bool>,
    /// Field 17: optional `bool`, default `true`.
    #[prost(bool, optional, tag = "17", default = "true")]
    pub field17: Option<bool>,
    /// Field 13: optional `bool`, default `true`.
    #[prost(bool, optional, tag = "13", default = "true")]
    pub field13: Option<bool>,
    /// Field 14: optional `bool`, default `true`.
    #[prost(bool, optional, tag = "14", default = "true")]
    pub field14: Option<bool>,
    /// Field 104: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "104", default = "0")]
    pub field104: Option<i32>,
    /// Field 100: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "100", default = "0")]
    pub field100: Option<i32>,
    /// Field 101: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "101", default = "0")]
    pub field101: Option<i32>,
    /// Field 102: optional `string`.
    #[prost(string, optional, tag = "102")]
    pub field102: Option<String>,
    /// Field 103: optional `string`.
    #[prost(string, optional, tag = "103")]
    pub field103: Option<String>,
    /// Field 29: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "29", default = "0")]
    pub field29: Option<i32>,
    /// Field 30: optional `bool`, default `false`.
    #[prost(bool, optional, tag = "30", default = "false")]
    pub field30: Option<bool>,
    /// Field 60: optional `int32`, default `-1`.
    #[prost(int32, optional, tag = "60", default = "-1")]
    pub field60: Option<i32>,
    /// Field 271: optional `int32`, default `-1`.
    #[prost(int32, optional, tag = "271", default = "-1")]
    pub field271: Option<i32>,
    /// Field 272: optional `int32`, default `-1`.
    #[prost(int32, optional, tag = "272", default = "-1")]
    pub field272: Option<i32>,
    /// Field 150: optional `int32`.
    #[prost(int32, optional, tag = "150")]
    pub field150: Option<i32>,
    /// Field 23: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "23", default = "0")]
    pub field23: Option<i32>,
    /// Field 24: optional `bool`, default `false`.
    #[prost(bool, optional, tag = "24", default = "false")]
    pub field24: Option<bool>,
    /// Field 25: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "25", default = "0")]
    pub field25: Option<i32>,
    /// Field 78: optional `bool`.
    #[prost(bool, optional, tag = "78")]
    pub field78: Option<bool>,
    /// Field 67: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "67", default = "0")]
    pub field67: Option<i32>,
    /// Field 68: optional `int32`.
    #[prost(int32, optional, tag = "68")]
    pub field68: Option<i32>,
    /// Field 128: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "128", default = "0")]
    pub field128: Option<i32>,
    /// Field 129: optional `string`, default `xxxxxxxxxxxxxxxxxxxxx`.
    #[prost(string, optional, tag = "129", default = "xxxxxxxxxxxxxxxxxxxxx")]
    pub field129: Option<String>,
    /// Field 131: optional `int32`, default `0`.
    #[prost(int32, optional, tag = "131", default = "0")]
    pub field131: Option<i32>,
}

impl BenchmarkMessage {
    /// The request the Go benchmark client sends (`msg.PrepareArgs()`): every string field set
    /// to [`SENTENCE`], every bool to `true`, every integer to `100000`, `field5` empty.
    /// Encodes to 581 bytes.
    pub fn filled() -> BenchmarkMessage {
        let s = || SENTENCE.to_owned();
        BenchmarkMessage {
            field1: s(),
            field9: Some(s()),
            field18: Some(s()),
            field80: Some(true),
            field81: Some(true),
            field2: 100_000,
            field3: 100_000,
            field280: Some(100_000),
            field6: Some(100_000),
            field22: Some(100_000),
            field4: Some(s()),
            field5: Vec::new(),
            field59: Some(true),
            field7: Some(s()),
            field16: Some(100_000),
            field130: Some(100_000),
            field12: Some(true),
            field17: Some(true),
            field13: Some(true),
            field14: Some(true),
            field104: Some(100_000),
            field100: Some(100_000),
            field101: Some(100_000),
            field102: Some(s()),
            field103: Some(s()),
            field29: Some(100_000),
            field30: Some(true),
            field60: Some(100_000),
            field271: Some(100_000),
            field272: Some(100_000),
            field150: Some(100_000),
            field23: Some(100_000),
            field24: Some(true),
            field25: Some(100_000),
            field78: Some(true),
            field67: Some(100_000),
            field68: Some(100_000),
            field128: Some(100_000),
            field129: Some(s()),
            field131: Some(100_000),
        }
    }

    /// The CALL frame content of Go's benchmark: `Hello.Say`, codec `p`, `body` (the encoded
    /// message), with this seq.
    pub fn call(seq: i32, body: bytes::Bytes) -> crate::Message {
        let mut msg = crate::Message::new(crate::MessageType::CALL, seq, "Hello.Say");
        msg.body_codec = crate::CodecId::PROTOBUF;
        msg.body = body;
        msg
    }

    /// What the Go benchmark server's `Hello.Say` handler answers: this message with
    /// `field1 = "OK"` and `field2 = 100` (527 bytes for [`BenchmarkMessage::filled`]).
    pub fn into_reply(mut self) -> BenchmarkMessage {
        self.field1 = "OK".to_owned();
        self.field2 = 100;
        self
    }

    /// Whether this is a reply the Go benchmark client counts as OK (`field1 == "OK"`).
    pub fn is_ok_reply(&self) -> bool {
        self.field1 == "OK"
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;

    /// The body at the end of a vector frame (rawproto, no transfer filter: the body runs to
    /// the end of the frame).
    fn vector_body(hex_text: &str, len: usize) -> Vec<u8> {
        let frame = hex::decode(hex_text.trim()).expect("vector hex");
        frame[frame.len() - len..].to_vec()
    }

    #[test]
    fn call_is_byte_identical_to_go() {
        let body = BenchmarkMessage::filled().encode_to_vec();
        assert_eq!(SENTENCE.len(), 54);
        assert_eq!(body.len(), 581);
        let go = vector_body(
            include_str!("../../../tests/vectors/raw_call_bench_protobuf.hex"),
            581,
        );
        assert_eq!(hex::encode(&body), hex::encode(&go));
        assert_eq!(
            BenchmarkMessage::decode(&go[..]).unwrap(),
            BenchmarkMessage::filled()
        );
    }

    #[test]
    fn reply_is_byte_identical_to_go() {
        let body = BenchmarkMessage::filled().into_reply().encode_to_vec();
        assert_eq!(body.len(), 527);
        let go = vector_body(
            include_str!("../../../tests/vectors/raw_reply_bench_protobuf.hex"),
            527,
        );
        assert_eq!(hex::encode(&body), hex::encode(&go));
        let back = BenchmarkMessage::decode(&go[..]).unwrap();
        assert!(back.is_ok_reply());
        assert_eq!(back, BenchmarkMessage::filled().into_reply());
    }

    #[test]
    fn declared_defaults_apply_to_unset_fields() {
        let empty = BenchmarkMessage::default();
        assert!(empty.field81());
        assert!(!empty.field80());
        assert_eq!(empty.field60(), -1);
        assert_eq!(empty.field129(), "xxxxxxxxxxxxxxxxxxxxx");
        assert_eq!(empty.field9, None);
    }
}
