//! Body codecs: how a typed value becomes a message body and back.

use std::fmt;

/// The one-byte id of a body codec as written on the wire (0 = none).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct CodecId(pub u8);

impl CodecId {
    /// `0`: no codec.
    pub const NONE: CodecId = CodecId(0);
    /// `j`: JSON.
    pub const JSON: CodecId = CodecId(b'j');
    /// `p`: protobuf.
    pub const PROTOBUF: CodecId = CodecId(b'p');
    /// `t`: Thrift (TBinaryProtocol struct).
    pub const THRIFT: CodecId = CodecId(b't');
    /// `x`: XML.
    pub const XML: CodecId = CodecId(b'x');
    /// `f`: URL-encoded form.
    pub const FORM: CodecId = CodecId(b'f');
    /// `s`: plain text.
    pub const PLAIN: CodecId = CodecId(b's');
}

impl fmt::Debug for CodecId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_ascii_graphic() {
            write!(f, "CodecId({:?})", self.0 as char)
        } else {
            write!(f, "CodecId({})", self.0)
        }
    }
}
