//! The md5 integrity filter: appends the MD5 digest of the data and checks it on unpack.

use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};

use super::{FilterError, TransferFilter, XferId};

/// md5 integrity check: pack appends the 16-byte MD5 of the data; unpack verifies and strips
/// it (error `check failed` in Go).
#[derive(Debug, Clone)]
pub struct Md5Filter {
    id: XferId,
    name: String,
}

impl Md5Filter {
    /// An md5 filter with the given id and name (Go programs conventionally use `m`, `md5`).
    pub fn new(id: XferId, name: impl Into<String>) -> Self {
        Md5Filter {
            id,
            name: name.into(),
        }
    }
}

impl TransferFilter for Md5Filter {
    fn id(&self) -> XferId {
        self.id
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn pack(&self, data: Bytes) -> Result<Bytes, FilterError> {
        let digest = Md5::digest(&data);
        let mut out = BytesMut::with_capacity(data.len() + 16);
        out.extend_from_slice(&data);
        out.extend_from_slice(&digest);
        Ok(out.freeze())
    }

    fn unpack(&self, mut data: Bytes, _max_len: usize) -> Result<Bytes, FilterError> {
        if data.len() < 16 {
            return Err(FilterError::ChecksumMissing);
        }
        let sum = data.split_off(data.len() - 16);
        if Md5::digest(&data)[..] != sum[..] {
            return Err(FilterError::ChecksumMismatch);
        }
        Ok(data)
    }
}
