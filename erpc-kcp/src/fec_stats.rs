//! Counters of the FEC decoder.

/// What a [`FecDecoder`](crate::FecDecoder) has seen (kcp-go keeps the like in its `Snmp`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FecStats {
    /// Data shards accepted.
    pub data: u64,
    /// Parity shards accepted.
    pub parity: u64,
    /// Shards received twice while their group was incomplete (the copy ignored; copies
    /// arriving after the group completed are ignored without counting).
    pub duplicates: u64,
    /// Data shards rebuilt from parity.
    pub recovered: u64,
    /// Rebuilt shards whose `size` field was impossible (not handed out).
    pub recovered_malformed: u64,
    /// Packets dropped: shorter than the header, unknown flag, a `size` that disagrees with
    /// the length, or a flag that does not match the shard's place in its group.
    pub dropped_malformed: u64,
    /// Packets dropped for being longer than 1500 bytes.
    pub dropped_too_long: u64,
    /// Groups given up (evicted or expired) with data shards still missing.
    pub unrecoverable_groups: u64,
}
