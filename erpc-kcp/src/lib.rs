//! The KCP network of erpc-rs, wire-compatible with Go eRPC's `kcp` network (kcp-go v5.5.12
//! as `kcp.NewConn2`/`kcp.ServeConn` use it: Reed–Solomon FEC with 10 data and 3 parity
//! shards, no block crypt, kcp-go's default KCP parameters).
//!
//! This crate does no I/O and reads no clock: packets and time go in, packets come out.
//! Runtime adapters own the UDP socket.
//!
//! * [`FecEncoder`] / [`FecDecoder`]: the FEC layer, byte for byte as kcp-go's.
//! * [`KcpConn`]: one session (a KCP ARQ with kcp-go's rules over the FEC layer), with
//!   [`KcpConfig`] defaulting to kcp-go's parameters.
//! * [`KcpListener`]: the sessions behind one UDP socket, created on their first data packet.

#![forbid(unsafe_code)]

mod arq;
mod conn;
mod error;
mod fec_config;
mod fec_decoder;
mod fec_encoder;
mod fec_header;
mod fec_stats;
mod kcp_config;
mod listener;

pub use conn::KcpConn;
pub use error::FecError;
pub use fec_config::FecConfig;
pub use fec_decoder::FecDecoder;
pub use fec_encoder::FecEncoder;
pub use fec_header::{
    data_conv_sn, FecHeader, ShardKind, FEC_HEADER_LEN, FLAG_DATA, FLAG_PARITY, MAX_PACKET_LEN,
};
pub use fec_stats::FecStats;
pub use kcp_config::KcpConfig;
pub use listener::{KcpListener, ListenerInput, DEFAULT_MAX_SESSIONS};

/// Bytes of one KCP segment header (`conv u32 | cmd u8 | frg u8 | wnd u16 | ts u32 | sn u32 |
/// una u32 | len u32`, little-endian).
pub const KCP_OVERHEAD: usize = 24;
