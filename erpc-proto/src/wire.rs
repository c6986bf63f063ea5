//! Settings every protocol's encoder and decoder share.

use crate::xfer::XferRegistry;

/// Go eRPC's default message size limit: 1 GiB.
pub const DEFAULT_MAX_MESSAGE_SIZE: usize = 1 << 30;

/// What a protocol needs besides the bytes: the message size limit and the transfer filters
/// the peer understands. Cheap to clone; a session keeps one.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct WireConfig {
    /// Largest frame accepted or written, in the protocol's own measure (for rawproto the
    /// whole frame including its length prefix). Checked from the length prefix **before**
    /// anything is allocated, and bounds what transfer filters may expand a payload to.
    /// Default: [`DEFAULT_MAX_MESSAGE_SIZE`] (1 GiB, as Go).
    pub max_message_size: usize,
    /// Transfer filters by id.
    pub xfer: XferRegistry,
}

impl Default for WireConfig {
    fn default() -> Self {
        WireConfig {
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
            xfer: XferRegistry::default(),
        }
    }
}

impl WireConfig {
    /// The default configuration with another size limit (0 restores the default, as Go's
    /// `SetReadLimit(0)`).
    pub fn with_max_message_size(mut self, limit: usize) -> Self {
        self.max_message_size = if limit == 0 {
            DEFAULT_MAX_MESSAGE_SIZE
        } else {
            limit
        };
        self
    }

    /// This configuration with the transfer filters of `xfer`.
    pub fn with_xfer(mut self, xfer: XferRegistry) -> Self {
        self.xfer = xfer;
        self
    }
}
