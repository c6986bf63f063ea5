//! The gzip filter (flate2), with decompression bounded by the message size limit.

use std::io::{Read, Write};

use bytes::Bytes;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

use super::{FilterError, TransferFilter, XferId};

/// gzip compression: pack writes one RFC 1952 member (even for empty input), unpack accepts
/// concatenated members and passes empty input through, as Go does.
///
/// Byte-identical output to Go's `compress/gzip` is not required (any valid gzip
/// interoperates); the header matches Go's (no name, mtime 0, OS 255).
#[derive(Debug, Clone)]
pub struct GzipFilter {
    id: XferId,
    name: String,
    level: Compression,
}

impl GzipFilter {
    /// A gzip filter with the given id, name and level. Go accepts levels −2 (Huffman only)
    /// to 9; flate2 has no Huffman-only mode, so −2 and −1 (default) map to level 6 and 0..=9
    /// map to themselves. Other levels are an error.
    pub fn new(id: XferId, name: impl Into<String>, level: i32) -> Result<Self, FilterError> {
        let level = match level {
            -2 | -1 => Compression::default(),
            0..=9 => Compression::new(level as u32),
            _ => return Err(FilterError::Other(format!("invalid gzip level {level}"))),
        };
        Ok(GzipFilter {
            id,
            name: name.into(),
            level,
        })
    }
}

impl TransferFilter for GzipFilter {
    fn id(&self) -> XferId {
        self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn pack(&self, data: Bytes) -> Result<Bytes, FilterError> {
        let out = Vec::with_capacity(data.len() / 2 + 32);
        let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
            .operating_system(255)
            .mtime(0)
            .write(out, self.level);
        enc.write_all(&data).map_err(FilterError::Corrupt)?;
        Ok(Bytes::from(enc.finish().map_err(FilterError::Corrupt)?))
    }

    fn unpack(&self, data: Bytes, max_len: usize) -> Result<Bytes, FilterError> {
        if data.is_empty() {
            return Ok(data);
        }
        let mut out = Vec::with_capacity(data.len().saturating_mul(3).min(max_len).min(1 << 20));
        // Read one byte past the limit to tell "exactly max_len" from "more".
        let limit = (max_len as u64).saturating_add(1);
        MultiGzDecoder::new(&data[..])
            .take(limit)
            .read_to_end(&mut out)
            .map_err(FilterError::Corrupt)?;
        if out.len() > max_len {
            return Err(FilterError::TooLarge { limit: max_len });
        }
        Ok(Bytes::from(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_like_go_and_roundtrip() {
        let f = GzipFilter::new(b'g', "gzip", 5).unwrap();
        let packed = f.pack(Bytes::from_static(b"hello hello hello")).unwrap();
        assert_eq!(&packed[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff][..]);
        assert_eq!(
            f.unpack(packed.clone(), 100).unwrap(),
            &b"hello hello hello"[..]
        );
        assert!(matches!(
            f.unpack(packed, 5),
            Err(FilterError::TooLarge { limit: 5 })
        ));
        assert!(f.pack(Bytes::new()).unwrap().len() > 10);
        assert!(f.unpack(Bytes::new(), 0).unwrap().is_empty());
        assert!(matches!(
            f.unpack(Bytes::from_static(b"\x1f\x8bnot gzip"), 100),
            Err(FilterError::Corrupt(_))
        ));
        assert!(GzipFilter::new(b'g', "gzip", 10).is_err());
    }

    #[test]
    fn bomb_is_bounded() {
        let f = GzipFilter::new(b'g', "gzip", 9).unwrap();
        let big = Bytes::from(vec![0u8; 10 << 20]);
        let packed = f.pack(big).unwrap();
        assert!(packed.len() < 100_000);
        assert!(matches!(
            f.unpack(packed, 1 << 20),
            Err(FilterError::TooLarge { .. })
        ));
    }
}
