//! Errors of the wire protocols.

use crate::xfer::{FilterError, PipeError, XferId};

/// Why bytes read from a peer are not a valid frame. Every variant is fatal for the
/// connection (eRPC closes it and fails pending calls with status 102).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The length prefix announces a frame larger than the size limit; nothing was read or
    /// allocated for it.
    #[error("size of package exceeds limit: {size} > {limit}")]
    FrameTooLarge {
        /// Announced size.
        size: u64,
        /// Limit in force.
        limit: usize,
    },
    /// The length prefix is smaller than the smallest possible frame (including 0).
    #[error("bad package: frame length {size} is smaller than the {min}-byte header")]
    FrameTooShort {
        /// Announced size.
        size: u64,
        /// Smallest size the protocol allows.
        min: usize,
    },
    /// A length field inside the frame points past its end, or a field is missing.
    #[error("bad package: {field} runs past the end of the frame")]
    Truncated {
        /// The field that does not fit.
        field: &'static str,
    },
    /// The seq text is empty, not base-36 or outside `i32`.
    #[error("bad package: invalid seq {0:?}")]
    BadSeq(String),
    /// The service method is not valid UTF-8.
    #[error("bad package: service method is not valid UTF-8")]
    InvalidServiceMethod,
    /// The status text cannot be read (its unescaped msg or cause is not UTF-8).
    #[error("bad package: invalid status text")]
    BadStatus,
    /// The frame lists a transfer filter this peer has not registered.
    #[error("unsupported transfer filter id: {0}")]
    UnknownFilter(XferId),
    /// A transfer filter rejected the payload: corrupt gzip, md5 mismatch, too large after
    /// decompression.
    #[error("transfer filter {id:?} failed: {source}")]
    Filter {
        /// The failing filter.
        id: XferId,
        /// What it said.
        #[source]
        source: FilterError,
    },
    /// A protocol-specific syntax error (JSON, protobuf, Thrift or HTTP framing).
    #[error("bad package: {0}")]
    Malformed(String),
}

impl From<PipeError> for DecodeError {
    fn from(e: PipeError) -> Self {
        match e {
            PipeError::UnknownFilter(id) => DecodeError::UnknownFilter(id),
            PipeError::Filter { id, source } => DecodeError::Filter { id, source },
        }
    }
}

/// Why a message could not be written. Nothing was written to the output buffer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The frame would exceed the size limit.
    #[error("size of package exceeds limit: {size} > {limit}")]
    FrameTooLarge {
        /// Size of the frame.
        size: u64,
        /// Limit in force.
        limit: usize,
    },
    /// A field is longer than the protocol's length field can express (rawproto: service
    /// method 255 bytes, status and meta 65535 bytes each).
    #[error("{field} is {len} bytes, longer than the {max} this protocol can carry")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// The pipe names a transfer filter that is not registered.
    #[error("unsupported transfer filter id: {0}")]
    UnknownFilter(XferId),
    /// A transfer filter failed.
    #[error("transfer filter {id:?} failed: {source}")]
    Filter {
        /// The failing filter.
        id: XferId,
        /// What it said.
        #[source]
        source: FilterError,
    },
    /// The protocol cannot carry this message (httproto and PUSH, for example).
    #[error("{0}")]
    Unsupported(String),
}

impl From<PipeError> for EncodeError {
    fn from(e: PipeError) -> Self {
        match e {
            PipeError::UnknownFilter(id) => EncodeError::UnknownFilter(id),
            PipeError::Filter { id, source } => EncodeError::Filter { id, source },
        }
    }
}
