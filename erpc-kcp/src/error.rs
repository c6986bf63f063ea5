//! Errors of the KCP network.

/// What went wrong in the FEC layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FecError {
    /// The shard counts are not usable by Reed–Solomon (zero, or more than 256 in all).
    #[error("invalid FEC shard counts")]
    ShardCounts,
    /// A KCP packet too long for one UDP packet of at most 1500 bytes.
    #[error("KCP packet of {0} bytes is too long for FEC")]
    PayloadTooLong(usize),
}
