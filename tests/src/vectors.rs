//! Go eRPC golden vectors: frames written by the real Go eRPC v6, with a JSON description each.
//!
//! The files live in `tests/vectors/` (see its `README.md` for how they were made and what every
//! JSON field means). This module loads them into plain Rust values, for every protocol alike
//! (`raw`, `json`, `pb`, `http`, `thrift`), so that each protocol's tests can check:
//!
//! * the decoder: decoding [`Vector::frame`] gives [`Vector::unpacked_message`] (what Go's own
//!   `Unpack()` reads back, which differs from the packed fields only for http);
//! * the encoder: encoding [`Vector::message`] gives [`Vector::frame`] byte for byte, except
//!   when [`Vector::has_gzip`] (decode and compare instead) and for the order of thrift info
//!   headers.
//!
//! ```
//! use erpc_tests::vectors;
//!
//! let v = vectors::named("raw_call_math_add");
//! assert_eq!(v.proto, "raw");
//! assert_eq!(v.frame.len(), 58);
//! assert_eq!(v.message().service_method, "/math/add");
//! assert!(vectors::by_proto("raw").iter().all(|v| v.proto == "raw"));
//! ```
//!
//! Every loader panics with a precise message when a file is missing or malformed: the vectors
//! are part of the repository, so that is a broken checkout, not a test failure to recover from.

use std::fmt;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use erpc_proto::{CodecId, Message, MessageType, Meta, Status, XferPipe};
use serde::Deserialize;

/// The directory holding the vector files (`tests/vectors/`).
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors")
}

/// The status of a vector message, as written in the JSON (`null` there means OK and is
/// represented as `None` by the fields that hold a `VectorStatus`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct VectorStatus {
    /// Status code.
    pub code: i32,
    /// Message (may be empty).
    pub msg: String,
    /// Cause: `None` when absent, `Some("")` when present but empty (they encode differently).
    pub cause: Option<String>,
}

impl VectorStatus {
    /// The corresponding [`Status`].
    pub fn to_status(&self) -> Status {
        Status::new(self.code, self.msg.clone(), self.cause.clone())
    }
}

/// The message fields of a vector: either what was packed (top level of the JSON, see
/// [`Vector::fields`]) or what Go's `Unpack()` read back ([`Vector::go_unpacked`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fields {
    /// Sequence number.
    pub seq: i32,
    /// Message type byte (1 CALL, 2 REPLY, 3 PUSH, 4 AUTH_CALL, 5 AUTH_REPLY).
    pub mtype: u8,
    /// Service method, possibly with a `?query`.
    pub service_method: String,
    /// `None` for an OK status (code 0, no msg, no cause).
    pub status: Option<VectorStatus>,
    /// Meta pairs in order; repeated keys are allowed.
    pub meta: Vec<(String, String)>,
    /// Body codec id (0 = none).
    pub body_codec: u8,
    /// Body bytes before the transfer filters run.
    pub body: Vec<u8>,
    /// Transfer-filter ids, outer-most first.
    pub xfer: Vec<u8>,
}

impl Fields {
    /// The [`Message`] these fields describe.
    pub fn message(&self) -> Message {
        let mut msg = Message::new(
            MessageType(self.mtype),
            self.seq,
            self.service_method.as_str(),
        );
        msg.status = self
            .status
            .as_ref()
            .map_or(Status::OK, VectorStatus::to_status);
        msg.meta = self
            .meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Meta>();
        msg.body_codec = CodecId(self.body_codec);
        msg.body = Bytes::copy_from_slice(&self.body);
        msg.xfer_pipe = XferPipe::from_ids(&self.xfer);
        msg
    }
}

/// One golden vector: a frame and what it contains.
#[derive(Clone, PartialEq, Eq)]
pub struct Vector {
    /// Vector name, also the file stem (`raw_call_math_add`).
    pub name: String,
    /// Protocol: `raw`, `json`, `pb`, `http` or `thrift` (thrift-binary).
    pub proto: String,
    /// What Go's `Proto.Version()` returns (raw 6, json `j`, …); never on the wire.
    pub proto_id: u8,
    /// `pack` (written by `Proto.Pack()` into memory) or `capture` (recorded on a loopback
    /// connection between a Go client and a Go server).
    pub source: String,
    /// For captures: `client->server` or `server->client`.
    pub direction: Option<String>,
    /// The packed message fields (what Go wrote).
    pub fields: Fields,
    /// What Go's `Unpack()` reads back from [`Vector::frame`].
    pub go_unpacked: Fields,
    /// The status text this protocol writes: the query form for raw/json/pb/thrift, the JSON
    /// body of a `299` reply for http, otherwise `None`.
    pub status_wire: Option<String>,
    /// The meta query text for raw/json/pb/thrift; `None` for http.
    pub meta_wire: Option<String>,
    /// The whole frame as it appears on the stream (length prefix included).
    pub frame: Vec<u8>,
    /// Remarks from the generator.
    pub note: Option<String>,
}

impl std::ops::Deref for Vector {
    type Target = Fields;

    /// The packed fields, so that `v.seq`, `v.meta`, … read like the top level of the JSON.
    fn deref(&self) -> &Fields {
        &self.fields
    }
}

impl fmt::Debug for Vector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vector")
            .field("name", &self.name)
            .field("proto", &self.proto)
            .field("source", &self.source)
            .field("direction", &self.direction)
            .field("fields", &self.fields)
            .field("go_unpacked", &self.go_unpacked)
            .field("frame", &hex::encode(&self.frame))
            .field("note", &self.note)
            .finish_non_exhaustive()
    }
}

impl Vector {
    /// The message Go packed into this frame (the top-level JSON fields).
    pub fn message(&self) -> Message {
        self.fields.message()
    }

    /// The message Go's `Unpack()` reads back from this frame (the `go_unpacked` fields).
    pub fn unpacked_message(&self) -> Message {
        self.go_unpacked.message()
    }

    /// The frame as a buffer ready to be decoded.
    pub fn frame_buf(&self) -> BytesMut {
        BytesMut::from(&self.frame[..])
    }

    /// Whether the packed pipe contains gzip (`g`): then another deflate encoder may write
    /// different, equally valid bytes, so compare by decoding rather than byte for byte.
    pub fn has_gzip(&self) -> bool {
        self.fields.xfer.contains(&b'g')
    }

    /// Loads the vector `name` from [`dir`].
    ///
    /// # Panics
    ///
    /// When a file is missing or malformed.
    pub fn load(name: &str) -> Vector {
        let dir = dir();
        let json_path = dir.join(format!("{name}.json"));
        let hex_path = dir.join(format!("{name}.hex"));
        let json = read(&json_path);
        let raw: RawVector =
            serde_json::from_str(&json).unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let hex_text = read(&hex_path);
        let hex_text: String = hex_text.chars().filter(|c| !c.is_whitespace()).collect();
        let frame =
            hex::decode(&hex_text).unwrap_or_else(|e| panic!("{}: {e}", hex_path.display()));
        let v = raw.into_vector(frame);
        assert_eq!(
            v.name,
            name,
            "{}: name does not match the file",
            json_path.display()
        );
        v
    }
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The names of every vector, sorted (from `index.json`).
pub fn names() -> Vec<String> {
    let path = dir().join("index.json");
    serde_json::from_str(&read(&path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every vector, sorted by name.
pub fn all() -> Vec<Vector> {
    names().iter().map(|n| Vector::load(n)).collect()
}

/// Every vector of one protocol (`raw`, `json`, `pb`, `http`, `thrift`), sorted by name.
///
/// # Panics
///
/// When there is no vector of that protocol (a typo, most likely).
pub fn by_proto(proto: &str) -> Vec<Vector> {
    let v: Vec<Vector> = all().into_iter().filter(|v| v.proto == proto).collect();
    assert!(!v.is_empty(), "no vector has proto {proto:?}");
    v
}

/// The vector with this name.
///
/// # Panics
///
/// When it does not exist.
pub fn named(name: &str) -> Vector {
    Vector::load(name)
}

// ---- JSON shapes -------------------------------------------------------------------------

#[derive(Deserialize)]
struct RawCodec {
    id: u8,
}

#[derive(Deserialize)]
struct RawFields {
    seq: i32,
    mtype: u8,
    service_method: String,
    status: Option<VectorStatus>,
    meta: Vec<(String, String)>,
    body_codec: RawCodec,
    body_utf8: Option<String>,
    body_hex: Option<String>,
    body_len: usize,
    xfer: Vec<u8>,
}

impl RawFields {
    fn into_fields(self, name: &str) -> Fields {
        let body = match (self.body_utf8, self.body_hex) {
            (Some(s), None) => s.into_bytes(),
            (None, Some(h)) => hex::decode(&h).unwrap_or_else(|e| panic!("{name}: body_hex: {e}")),
            (a, b) => panic!(
                "{name}: exactly one of body_utf8 and body_hex expected (utf8: {}, hex: {})",
                a.is_some(),
                b.is_some()
            ),
        };
        assert_eq!(body.len(), self.body_len, "{name}: body_len");
        Fields {
            seq: self.seq,
            mtype: self.mtype,
            service_method: self.service_method,
            status: self.status,
            meta: self.meta,
            body_codec: self.body_codec.id,
            body,
            xfer: self.xfer,
        }
    }
}

#[derive(Deserialize)]
struct RawVector {
    name: String,
    proto: String,
    proto_id: u8,
    source: String,
    direction: Option<String>,
    #[serde(flatten)]
    fields: RawFields,
    go_unpacked: RawFields,
    status_wire: Option<String>,
    meta_wire: Option<String>,
    frame_len: usize,
    note: Option<String>,
}

impl RawVector {
    fn into_vector(self, frame: Vec<u8>) -> Vector {
        let name = self.name;
        assert_eq!(frame.len(), self.frame_len, "{name}: frame_len");
        Vector {
            fields: self.fields.into_fields(&name),
            go_unpacked: self.go_unpacked.into_fields(&name),
            proto: self.proto,
            proto_id: self.proto_id,
            source: self.source,
            direction: self.direction,
            status_wire: self.status_wire,
            meta_wire: self.meta_wire,
            frame,
            note: self.note,
            name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_every_vector() {
        let all = all();
        assert_eq!(all.len(), 107);
        for p in ["raw", "json", "pb", "http", "thrift"] {
            assert!(!by_proto(p).is_empty());
        }
        let v = named("raw_reply_status_no_cause");
        assert!(v.status.as_ref().is_some_and(|s| s.cause.is_none()));
        let v = named("raw_reply_not_found");
        assert_eq!(v.status.as_ref().and_then(|s| s.cause.as_deref()), Some(""));
        let v = named("raw_call_bench_protobuf");
        assert_eq!(v.body.len(), 581);
        assert_eq!(v.message().body_codec, CodecId::PROTOBUF);
    }
}
