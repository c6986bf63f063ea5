//! Shard counts and decoder bounds of the FEC layer.

use std::time::Duration;

/// Reed–Solomon shard counts and the decoder's bounds.
///
/// The default is what Go eRPC uses (`kcp.NewConn2(.., 10, 3, ..)` / `kcp.ServeConn(nil, 10, 3,
/// ..)`); both ends must agree on the shard counts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FecConfig {
    /// Data shards per group (default 10).
    pub data_shards: usize,
    /// Parity shards per group (default 3).
    pub parity_shards: usize,
    /// Most groups the decoder keeps incomplete shards of at once (default 3, kcp-go's
    /// `rxFECMulti`: it keeps 3 × 13 packets). The oldest group is dropped past it.
    pub max_pending_groups: usize,
    /// How long an incomplete group is kept (default 60 s, kcp-go's `fecExpire`).
    pub group_expiry: Duration,
}

impl Default for FecConfig {
    fn default() -> Self {
        Self {
            data_shards: 10,
            parity_shards: 3,
            max_pending_groups: 3,
            group_expiry: Duration::from_secs(60),
        }
    }
}

impl FecConfig {
    /// Data plus parity shards.
    pub fn total_shards(&self) -> usize {
        self.data_shards + self.parity_shards
    }
}
