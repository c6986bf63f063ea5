//! Errors of the body codecs.

use std::fmt;

use super::CodecId;

/// Why a body could not be encoded or decoded.
///
/// On the receiving side Go turns a decode failure into status 400 (a framing error for codec
/// 0); on the sending side an encode failure becomes status 104 (or a 500 reply when the
/// reply codec is unusable, §5.5 of the reference).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The message names a codec id this peer has not registered.
    #[error("unsupported codec id: {}", .0 .0)]
    UnknownCodec(CodecId),
    /// The codec id is 0 ("none") but a typed value has to be encoded, or a non-empty body
    /// has to be decoded into a typed value. Go reports `unsupported codec id: 0`; on the
    /// receiving side it treats this as a framing error and closes the connection.
    #[error("unsupported codec id: 0")]
    NoCodec,
    /// The codec cannot carry this kind of value at all (a serde value for protobuf, a
    /// top-level integer for Thrift, a [`Proto`](super::Proto) for JSON, …).
    #[error("{codec} codec: {what}")]
    Unsupported {
        /// Name of the codec.
        codec: String,
        /// What it cannot do.
        what: String,
    },
    /// Encoding a value failed (a map with non-string keys for form, a NaN for plain …).
    #[error("{codec} codec: {message}")]
    Encode {
        /// Name of the codec.
        codec: String,
        /// What went wrong.
        message: String,
    },
    /// The body is malformed or does not match the destination type (including a required
    /// field missing from an empty body, see the empty-body rule in [`super`]).
    #[error("{codec} codec: {message}")]
    Decode {
        /// Name of the codec.
        codec: String,
        /// What went wrong.
        message: String,
    },
}

impl CodecError {
    /// A [`CodecError::Encode`] from any displayable error.
    pub fn encode(codec: &str, message: impl fmt::Display) -> Self {
        CodecError::Encode {
            codec: codec.to_owned(),
            message: message.to_string(),
        }
    }

    /// A [`CodecError::Decode`] from any displayable error.
    pub fn decode(codec: &str, message: impl fmt::Display) -> Self {
        CodecError::Decode {
            codec: codec.to_owned(),
            message: message.to_string(),
        }
    }

    /// A [`CodecError::Unsupported`].
    pub fn unsupported(codec: &str, what: impl fmt::Display) -> Self {
        CodecError::Unsupported {
            codec: codec.to_owned(),
            what: what.to_string(),
        }
    }
}

/// Why a codec could not be registered (Go panics in these cases).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Id 0 means "no codec" and cannot be registered.
    #[error("codec id 0 is reserved for \"no codec\"")]
    ZeroId,
    /// Another codec already has this id.
    #[error("codec id {} is already registered", .0 .0)]
    DuplicateId(CodecId),
    /// Another codec already has this name.
    #[error("codec name {0:?} is already registered")]
    DuplicateName(String),
}
