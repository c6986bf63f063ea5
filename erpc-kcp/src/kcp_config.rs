//! KCP parameters, defaulting to kcp-go's as Go eRPC leaves them.

use std::time::Duration;

use crate::FecConfig;

/// Parameters of one KCP session. The default is kcp-go v5.5.12's, untouched by Go eRPC.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KcpConfig {
    /// Largest UDP payload, FEC header included (default 1400): KCP segments carry at most
    /// `mtu - 8 - 24` = 1368 bytes.
    pub mtu: usize,
    /// Send window in segments (default 32).
    pub send_window: u16,
    /// Receive window in segments (default 32).
    pub recv_window: u16,
    /// Internal update interval in ms (default 100).
    pub interval_ms: u32,
    /// KCP "nodelay" (default off: minimum RTO 100 ms, RTO doubling on loss).
    pub nodelay: bool,
    /// Fast resend after this many skipping ACKs, 0 for never (default 0).
    pub fast_resend: u32,
    /// Congestion control (default on).
    pub congestion_control: bool,
    /// A segment sent this many times without an ACK marks the link dead (default 20).
    pub dead_link: u32,
    /// Send ACKs as soon as a packet arrives rather than at the next update (default off,
    /// kcp-go's `ackNoDelay`).
    pub ack_nodelay: bool,
    /// A session with unacknowledged segments that heard nothing from its peer for this long
    /// is dead (default 30 s), before the dead-link count trips (which with the linear
    /// back-off takes about 38 s at the minimum RTO). Not in kcp-go, which relies on that
    /// count and the application's heartbeat.
    pub silence_timeout: Duration,
    /// The FEC layer (default 10 data + 3 parity shards).
    pub fec: FecConfig,
}

impl Default for KcpConfig {
    fn default() -> Self {
        Self {
            mtu: 1400,
            send_window: 32,
            recv_window: 32,
            interval_ms: 100,
            nodelay: false,
            fast_resend: 0,
            congestion_control: true,
            dead_link: 20,
            ack_nodelay: false,
            silence_timeout: Duration::from_secs(30),
            fec: FecConfig::default(),
        }
    }
}

impl KcpConfig {
    /// Largest payload of one KCP segment: `mtu - 8 (FEC) - 24 (KCP)`.
    pub fn mss(&self) -> usize {
        self.mtu
            .saturating_sub(crate::FEC_HEADER_LEN + crate::KCP_OVERHEAD)
    }
}
