//! Transfer filters: reversible byte transformations applied to a frame's payload (eRPC's
//! "xfer pipe"), such as gzip compression and an md5 integrity check.
//!
//! A message lists filter ids outer-most first. Packing applies the **last** id first;
//! unpacking undoes the **first** id first — for the pipe `[g, m]` the wire carries
//! `gzip(data ‖ md5(data))`.
//!
//! eRPC has no fixed filter ids: every program registers its own, and both peers must agree.
//! [`XferRegistry::default`] registers gzip as `g` (name `gzip`, level 5) and md5 as `m` (name
//! `md5`), the choice of the Go reference vectors; build your own registry for other ids.
//!
//! ```
//! use bytes::Bytes;
//! use erpc_proto::xfer::{XferRegistry, XferPipe};
//!
//! let reg = XferRegistry::default();
//! let pipe = XferPipe::from_ids(b"gm");
//! let wire = reg.pack(&pipe, Bytes::from_static(b"hello")).unwrap();
//! assert_eq!(reg.unpack(&pipe, wire, 1 << 20).unwrap(), &b"hello"[..]);
//! ```

#[cfg(feature = "gzip")]
mod gzip;
#[cfg(feature = "md5")]
mod md5_check;

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

#[cfg(feature = "gzip")]
pub use gzip::GzipFilter;
#[cfg(feature = "md5")]
pub use md5_check::Md5Filter;

/// The one-byte id of a transfer filter. Unlike codec ids, 0 is allowed.
pub type XferId = u8;

/// An ordered list of transfer-filter ids, outer-most first (at most 255).
///
/// Cloning is cheap: a pipe decoded from a frame shares the frame's memory.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct XferPipe(Bytes);

impl XferPipe {
    /// The empty pipe.
    pub const fn new() -> Self {
        XferPipe(Bytes::new())
    }

    /// A pipe of the given ids (outer-most first).
    pub fn from_ids(ids: &[XferId]) -> Self {
        XferPipe(Bytes::copy_from_slice(ids))
    }

    /// A pipe backed by shared bytes.
    pub fn from_bytes(ids: Bytes) -> Self {
        XferPipe(ids)
    }

    /// The ids, outer-most first.
    pub fn ids(&self) -> &[XferId] {
        &self.0
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is no filter.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Appends an id (applied innermost, i.e. first when packing).
    pub fn push(&mut self, id: XferId) {
        let mut v = Vec::with_capacity(self.0.len() + 1);
        v.extend_from_slice(&self.0);
        v.push(id);
        self.0 = Bytes::from(v);
    }

    /// Removes every id.
    pub fn clear(&mut self) {
        self.0 = Bytes::new();
    }
}

impl fmt::Debug for XferPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|&b| b as char))
            .finish()
    }
}

/// Why a filter could not pack or unpack its input.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// md5: the input is shorter than the 16-byte digest.
    #[error("check failed: input shorter than the md5 digest")]
    ChecksumMissing,
    /// md5: the digest does not match the data.
    #[error("check failed: md5 mismatch")]
    ChecksumMismatch,
    /// gzip (or another compressing filter): the input is not valid compressed data.
    #[error("corrupt compressed data: {0}")]
    Corrupt(#[source] std::io::Error),
    /// The output would be larger than the message size limit (a decompression bomb, say).
    #[error("unpacked data exceeds the message size limit of {limit} bytes")]
    TooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// A filter-specific failure.
    #[error("{0}")]
    Other(String),
}

/// A reversible transformation of a frame's payload.
pub trait TransferFilter: Send + Sync + fmt::Debug + 'static {
    /// The id written on the wire.
    fn id(&self) -> XferId;
    /// A unique name (httproto writes it in `X-Content-Encoding`).
    fn name(&self) -> &str;
    /// Transforms outgoing data.
    fn pack(&self, data: Bytes) -> Result<Bytes, FilterError>;
    /// Undoes [`pack`](TransferFilter::pack). Must fail with [`FilterError::TooLarge`] rather
    /// than produce more than `max_len` bytes.
    fn unpack(&self, data: Bytes, max_len: usize) -> Result<Bytes, FilterError>;
}

/// Why a filter could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Another filter already has this id.
    #[error("transfer filter id {0:?} is already registered")]
    DuplicateId(XferId),
    /// Another filter already has this name.
    #[error("transfer filter name {0:?} is already registered")]
    DuplicateName(String),
}

/// Errors of [`XferRegistry::pack`] and [`XferRegistry::unpack`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PipeError {
    /// The pipe names an id that is not registered.
    #[error("unsupported transfer filter id: {0}")]
    UnknownFilter(XferId),
    /// A filter failed.
    #[error("transfer filter {id:?} failed: {source}")]
    Filter {
        /// The failing filter's id.
        id: XferId,
        /// What went wrong.
        #[source]
        source: FilterError,
    },
}

/// The set of transfer filters a peer understands, by id. Cheap to clone.
#[derive(Clone)]
pub struct XferRegistry {
    filters: Arc<[Option<Arc<dyn TransferFilter>>; 256]>,
}

impl XferRegistry {
    /// A registry without any filter.
    pub fn empty() -> Self {
        XferRegistry {
            filters: Arc::new(std::array::from_fn(|_| None)),
        }
    }

    /// Adds a filter; its id and name must be new.
    pub fn register(&mut self, filter: impl TransferFilter) -> Result<(), RegisterError> {
        let id = filter.id();
        if self.filters[id as usize].is_some() {
            return Err(RegisterError::DuplicateId(id));
        }
        if self
            .filters
            .iter()
            .flatten()
            .any(|f| f.name() == filter.name())
        {
            return Err(RegisterError::DuplicateName(filter.name().to_owned()));
        }
        Arc::make_mut(&mut self.filters)[id as usize] = Some(Arc::new(filter));
        Ok(())
    }

    /// Builder form of [`register`](XferRegistry::register).
    pub fn with(mut self, filter: impl TransferFilter) -> Result<Self, RegisterError> {
        self.register(filter)?;
        Ok(self)
    }

    /// The filter with this id.
    pub fn filter(&self, id: XferId) -> Option<&Arc<dyn TransferFilter>> {
        self.filters[id as usize].as_ref()
    }

    /// The filter with this name.
    pub fn by_name(&self, name: &str) -> Option<&Arc<dyn TransferFilter>> {
        self.filters.iter().flatten().find(|f| f.name() == name)
    }

    /// Whether every id of the pipe is registered.
    pub fn check(&self, pipe: &XferPipe) -> Result<(), PipeError> {
        match pipe.ids().iter().find(|&&id| self.filter(id).is_none()) {
            Some(&id) => Err(PipeError::UnknownFilter(id)),
            None => Ok(()),
        }
    }

    /// Applies the pipe to outgoing data: the last id first.
    pub fn pack(&self, pipe: &XferPipe, mut data: Bytes) -> Result<Bytes, PipeError> {
        self.check(pipe)?;
        for &id in pipe.ids().iter().rev() {
            let f = self.filter(id).ok_or(PipeError::UnknownFilter(id))?;
            data = f
                .pack(data)
                .map_err(|source| PipeError::Filter { id, source })?;
        }
        Ok(data)
    }

    /// Undoes the pipe on incoming data: the first id first. No step may produce more than
    /// `max_len` bytes.
    pub fn unpack(
        &self,
        pipe: &XferPipe,
        mut data: Bytes,
        max_len: usize,
    ) -> Result<Bytes, PipeError> {
        self.check(pipe)?;
        for &id in pipe.ids() {
            let f = self.filter(id).ok_or(PipeError::UnknownFilter(id))?;
            data = f
                .unpack(data, max_len)
                .map_err(|source| PipeError::Filter { id, source })?;
        }
        Ok(data)
    }
}

impl Default for XferRegistry {
    /// gzip as `g` (level 5) and md5 as `m`, when those features are on.
    fn default() -> Self {
        #[allow(unused_mut)]
        let mut reg = XferRegistry::empty();
        #[cfg(feature = "gzip")]
        reg.register(GzipFilter::new(b'g', "gzip", 5).expect("level 5 is valid"))
            .expect("empty registry");
        #[cfg(feature = "md5")]
        reg.register(Md5Filter::new(b'm', "md5"))
            .expect("distinct id and name");
        reg
    }
}

impl fmt::Debug for XferRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(
                self.filters
                    .iter()
                    .flatten()
                    .map(|fl| (fl.id() as char, fl.name().to_owned())),
            )
            .finish()
    }
}

#[cfg(all(test, feature = "gzip", feature = "md5"))]
mod tests {
    use super::*;

    #[test]
    fn registry_rejects_duplicates() {
        let mut reg = XferRegistry::default();
        assert!(matches!(
            reg.register(Md5Filter::new(b'm', "other")),
            Err(RegisterError::DuplicateId(b'm'))
        ));
        assert!(matches!(
            reg.register(Md5Filter::new(b'x', "md5")),
            Err(RegisterError::DuplicateName(_))
        ));
        reg.register(Md5Filter::new(0, "md5-zero")).unwrap();
        assert!(reg.filter(0).is_some());
    }

    #[test]
    fn pipe_order_is_go_order() {
        let reg = XferRegistry::default();
        let data = Bytes::from_static(b"payload");
        // [g, m]: gzip(data || md5(data))
        let wire = reg.pack(&XferPipe::from_ids(b"gm"), data.clone()).unwrap();
        let inner = reg
            .unpack(&XferPipe::from_ids(b"g"), wire, 1 << 20)
            .unwrap();
        assert_eq!(inner.len(), data.len() + 16);
        assert_eq!(&inner[..data.len()], &data[..]);
    }

    #[test]
    fn unknown_id_is_reported() {
        let reg = XferRegistry::default();
        assert!(matches!(
            reg.unpack(&XferPipe::from_ids(b"z"), Bytes::new(), 10),
            Err(PipeError::UnknownFilter(b'z'))
        ));
    }
}
