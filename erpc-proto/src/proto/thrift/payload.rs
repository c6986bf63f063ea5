//! The Thrift payload after the THeader: a message header (TBinaryProtocol strict or
//! non-strict, or TCompactProtocol), then the body.

use bytes::Bytes;

use super::header::malformed;
use crate::DecodeError;

/// Thrift message types.
pub(super) const T_CALL: u8 = 1;
pub(super) const T_REPLY: u8 = 2;
pub(super) const T_EXCEPTION: u8 = 3;
pub(super) const T_ONEWAY: u8 = 4;

/// `VERSION_1` of TBinaryProtocol's strict message header.
pub(super) const VERSION_1: u32 = 0x8001_0000;
const VERSION_MASK: u32 = 0xffff_0000;
/// First byte of a TCompactProtocol message.
pub(super) const COMPACT_ID: u8 = 0x82;

/// Thrift's default recursion limit for skipping nested values.
const MAX_DEPTH: usize = 64;

/// A bounds-checked cursor over a payload.
pub(super) struct Cursor {
    pub(super) buf: Bytes,
    pub(super) pos: usize,
}

fn eof(what: &str) -> DecodeError {
    malformed(format_args!("{what} runs past the end of the frame"))
}

impl Cursor {
    pub(super) fn new(buf: Bytes) -> Self {
        Cursor { buf, pos: 0 }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize, what: &str) -> Result<Bytes, DecodeError> {
        if n > self.left() {
            return Err(eof(what));
        }
        let b = self.buf.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    fn skip(&mut self, n: usize, what: &str) -> Result<(), DecodeError> {
        if n > self.left() {
            return Err(eof(what));
        }
        self.pos += n;
        Ok(())
    }

    fn u8(&mut self, what: &str) -> Result<u8, DecodeError> {
        let b = *self.buf.get(self.pos).ok_or_else(|| eof(what))?;
        self.pos += 1;
        Ok(b)
    }

    fn i32(&mut self, what: &str) -> Result<i32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i16(&mut self, what: &str) -> Result<i16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(i16::from_be_bytes([b[0], b[1]]))
    }

    /// Compact `readVarint32` (no length bound, as Go; high bits dropped).
    fn varint32(&mut self, what: &str) -> Result<u32, DecodeError> {
        let mut v = 0u64;
        let mut shift = 0u32;
        loop {
            let b = self.u8(what)?;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            if b < 0x80 {
                return Ok(v as u32);
            }
            shift = shift.saturating_add(7);
        }
    }

    /// A length-prefixed byte string: i32 length (binary) or varint (compact); a negative
    /// length or one past the end is an error.
    pub(super) fn binary(&mut self, compact: bool, what: &str) -> Result<Bytes, DecodeError> {
        let len = if compact {
            self.varint32(what)? as i32
        } else {
            self.i32(what)?
        };
        if len < 0 {
            return Err(malformed(format_args!("negative length of {what}")));
        }
        self.take(len as usize, what)
    }
}

/// A Thrift message header.
pub(super) struct MessageBegin {
    pub(super) name: Bytes,
    pub(super) mtype: u8,
    pub(super) seq: i32,
}

/// `ReadMessageBegin` of TBinaryProtocol (strict and old non-strict headers, as Go's
/// THeader transport accepts both) or TCompactProtocol.
pub(super) fn read_message_begin(
    c: &mut Cursor,
    compact: bool,
) -> Result<MessageBegin, DecodeError> {
    if compact {
        let id = c.u8("message header")?;
        if id != COMPACT_ID {
            return Err(malformed(format_args!(
                "expected protocol id {COMPACT_ID:#x} but got {id:#x}"
            )));
        }
        let vt = c.u8("message header")?;
        if vt & 0x1f != 1 {
            return Err(malformed(format_args!(
                "expected compact version 1 but got {}",
                vt & 0x1f
            )));
        }
        let seq = c.varint32("message seq id")? as i32;
        let name = c.binary(true, "message name")?;
        return Ok(MessageBegin {
            name,
            mtype: (vt >> 5) & 0x07,
            seq,
        });
    }
    let size = c.i32("message header")?;
    if size < 0 {
        if size as u32 & VERSION_MASK != VERSION_1 {
            return Err(malformed("bad version in ReadMessageBegin"));
        }
        let name = c.binary(false, "message name")?;
        let seq = c.i32("message seq id")?;
        return Ok(MessageBegin {
            name,
            mtype: size as u8,
            seq,
        });
    }
    let name = c.take(size as usize, "message name")?;
    let mtype = c.u8("message type")?;
    let seq = c.i32("message seq id")?;
    Ok(MessageBegin { name, mtype, seq })
}

/// Skips one TBinaryProtocol struct (fields up to the STOP byte) and returns its bytes.
pub(super) fn binary_struct(c: &mut Cursor) -> Result<Bytes, DecodeError> {
    let start = c.pos;
    skip(c, 12, MAX_DEPTH)?;
    Ok(c.buf.slice(start..c.pos))
}

/// Checks that `body` is exactly one TBinaryProtocol struct.
pub(super) fn is_binary_struct(body: &Bytes) -> bool {
    let mut c = Cursor::new(body.clone());
    skip(&mut c, 12, MAX_DEPTH).is_ok() && c.left() == 0
}

/// Skips a TBinaryProtocol value of type `ttype`, as Thrift's `Skip`.
fn skip(c: &mut Cursor, ttype: u8, depth: usize) -> Result<(), DecodeError> {
    if depth == 0 {
        return Err(malformed("struct nesting exceeds the depth limit"));
    }
    match ttype {
        2 | 3 => c.skip(1, "struct field"),
        6 => c.skip(2, "struct field"),
        8 => c.skip(4, "struct field"),
        4 | 10 => c.skip(8, "struct field"),
        11 => c.binary(false, "struct field").map(drop),
        12 => loop {
            let ftype = c.u8("struct field")?;
            if ftype == 0 {
                return Ok(());
            }
            c.skip(2, "struct field id")?;
            skip(c, ftype, depth - 1)?;
        },
        13 => {
            let kt = c.u8("map header")?;
            let vt = c.u8("map header")?;
            let n = count(c, 2)?;
            for _ in 0..n {
                skip(c, kt, depth - 1)?;
                skip(c, vt, depth - 1)?;
            }
            Ok(())
        }
        14 | 15 => {
            let et = c.u8("list header")?;
            let n = count(c, 1)?;
            for _ in 0..n {
                skip(c, et, depth - 1)?;
            }
            Ok(())
        }
        t => Err(malformed(format_args!("unknown data type {t}"))),
    }
}

/// A container size: non-negative and small enough for the bytes left (each element takes at
/// least `min_elem` bytes).
fn count(c: &mut Cursor, min_elem: usize) -> Result<usize, DecodeError> {
    let n = c.i32("container size")?;
    if n < 0 {
        return Err(malformed("negative container size"));
    }
    let n = n as usize;
    if n.saturating_mul(min_elem) > c.left() {
        return Err(eof("container"));
    }
    Ok(n)
}

/// Reads a `TApplicationException` (binary protocol) and returns its message and type.
pub(super) fn application_exception(c: &mut Cursor) -> Result<(String, i32), DecodeError> {
    let mut message = String::new();
    let mut kind = 0;
    loop {
        let ftype = c.u8("exception")?;
        if ftype == 0 {
            return Ok((message, kind));
        }
        let id = c.i16("exception")?;
        match (id, ftype) {
            (1, 11) => {
                message =
                    String::from_utf8_lossy(&c.binary(false, "exception message")?).into_owned()
            }
            (2, 8) => kind = c.i32("exception type")?,
            _ => skip(c, ftype, MAX_DEPTH)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(b: &'static [u8]) -> Cursor {
        Cursor::new(Bytes::from_static(b))
    }

    #[test]
    fn message_headers() {
        let m = read_message_begin(
            &mut cur(b"\x80\x01\x00\x04\x00\x00\x00\x02/a\xff\xff\xff\xfe"),
            false,
        )
        .unwrap();
        assert_eq!((&m.name[..], m.mtype, m.seq), (&b"/a"[..], T_ONEWAY, -2));
        // Bits 8-15 of the version word are ignored, as in Go.
        let m = read_message_begin(
            &mut cur(b"\x80\x01\x7f\x02\x00\x00\x00\x00\x00\x00\x00\x07"),
            false,
        )
        .unwrap();
        assert_eq!((m.mtype, m.seq), (T_REPLY, 7));
        // Non-strict: name length first, then a type byte.
        let m =
            read_message_begin(&mut cur(b"\x00\x00\x00\x02/a\x01\x00\x00\x00\x05"), false).unwrap();
        assert_eq!((&m.name[..], m.mtype, m.seq), (&b"/a"[..], T_CALL, 5));
        // Compact: 0x82, version|type<<5, varint seq, varint name.
        let m = read_message_begin(&mut cur(b"\x82\x21\x05\x02/a"), true).unwrap();
        assert_eq!((&m.name[..], m.mtype, m.seq), (&b"/a"[..], T_CALL, 5));
        assert!(read_message_begin(&mut cur(b"\x80\x02\x00\x01"), false).is_err());
        assert!(read_message_begin(&mut cur(b"\x80\x01\x00\x01\xff\xff\xff\xff"), false).is_err());
        assert!(read_message_begin(&mut cur(b"\x00\x00\x01\x00/a"), false).is_err());
        assert!(read_message_begin(&mut cur(b"\x83\x21"), true).is_err());
        assert!(read_message_begin(&mut cur(b"\x82\x22\x05\x02/a"), true).is_err());
    }

    #[test]
    fn structs() {
        // {1: i32 7, 2: list<string> ["a"], 3: map<byte,struct{}> {1: {}}, 4: bool} STOP
        let s: &[u8] =
            b"\x08\x00\x01\x00\x00\x00\x07\x0f\x00\x02\x0b\x00\x00\x00\x01\x00\x00\x00\x01a\
            \x0d\x00\x03\x03\x0c\x00\x00\x00\x01\x01\x00\x02\x00\x04\x01\x00";
        assert!(is_binary_struct(&Bytes::from_static(s)));
        assert!(is_binary_struct(&Bytes::from_static(b"\x00")));
        assert!(!is_binary_struct(&Bytes::from_static(b"")));
        assert!(!is_binary_struct(&Bytes::from_static(b"\x00\x00")));
        assert!(!is_binary_struct(&Bytes::from_static(
            b"\x0f\x00\x01\x02\x7f\xff\xff\xff\x00"
        )));
        assert!(!is_binary_struct(&Bytes::from_static(
            b"\x0f\x00\x01\x02\xff\xff\xff\xff\x00"
        )));
        assert!(!is_binary_struct(&Bytes::from_static(b"\x01\x00\x01\x00")));
        // Deep nesting is bounded.
        let mut deep = Vec::new();
        for _ in 0..100 {
            deep.extend_from_slice(b"\x0c\x00\x01");
        }
        deep.extend(std::iter::repeat_n(0u8, 101));
        assert!(!is_binary_struct(&Bytes::from(deep)));
        let mut c = cur(b"\x0b\x00\x01\x00\x00\x00\x02hi\x08\x00\x02\x00\x00\x00\x06\x00");
        assert_eq!(application_exception(&mut c).unwrap(), ("hi".to_owned(), 6));
    }
}
