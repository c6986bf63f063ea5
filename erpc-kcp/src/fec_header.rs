//! The 8-byte header kcp-go puts in front of every UDP packet when FEC is on.

/// Bytes of `seqid u32 LE | flag u16 LE`.
pub(crate) const SEQ_FLAG_LEN: usize = 6;
/// Bytes of the whole header: `seqid | flag | size u16 LE`.
pub const FEC_HEADER_LEN: usize = 8;
/// Flag of a data shard.
pub const FLAG_DATA: u16 = 0xf1;
/// Flag of a parity shard.
pub const FLAG_PARITY: u16 = 0xf2;
/// kcp-go's `mtuLimit`: no packet it sends or accepts is longer.
pub const MAX_PACKET_LEN: usize = 1500;

/// The kind of shard a packet carries.
#[allow(clippy::exhaustive_enums)] // kcp-go's FEC has exactly these two flags
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardKind {
    /// A data shard: the header is followed by KCP segments.
    Data,
    /// A parity shard: Reed–Solomon parity over the data shards of its group.
    Parity,
}

/// The parsed header of one FEC packet.
#[allow(clippy::exhaustive_structs)] // the whole `seqid | flag` header, fixed by kcp-go's wire
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FecHeader {
    /// Sequence number of the shard (`group * total_shards + index`).
    pub seqid: u32,
    /// Data or parity.
    pub kind: ShardKind,
}

impl FecHeader {
    /// Parses the header of `packet`, or `None` when the packet is shorter than the 8-byte
    /// header or its flag is neither 0xf1 nor 0xf2.
    pub fn parse(packet: &[u8]) -> Option<Self> {
        if packet.len() < FEC_HEADER_LEN {
            return None;
        }
        let seqid = u32::from_le_bytes([packet[0], packet[1], packet[2], packet[3]]);
        let kind = match u16::from_le_bytes([packet[4], packet[5]]) {
            FLAG_DATA => ShardKind::Data,
            FLAG_PARITY => ShardKind::Parity,
            _ => return None,
        };
        Some(Self { seqid, kind })
    }

    /// Writes `seqid | flag` into the first six bytes of `out`.
    pub(crate) fn write(self, out: &mut [u8]) {
        out[..4].copy_from_slice(&self.seqid.to_le_bytes());
        let flag = match self.kind {
            ShardKind::Data => FLAG_DATA,
            ShardKind::Parity => FLAG_PARITY,
        };
        out[4..6].copy_from_slice(&flag.to_le_bytes());
    }
}

/// Reads the conversation id and sequence number of a data packet (the first KCP segment's `conv`, at offset 8),
/// as kcp-go's listener does; `None` for parity or too-short packets.
pub fn data_conv_sn(packet: &[u8]) -> Option<(u32, u32)> {
    let header = FecHeader::parse(packet)?;
    if header.kind != ShardKind::Data || packet.len() < FEC_HEADER_LEN + crate::KCP_OVERHEAD {
        return None;
    }
    let p = &packet[FEC_HEADER_LEN..];
    let conv = u32::from_le_bytes([p[0], p[1], p[2], p[3]]);
    let sn = u32::from_le_bytes([p[12], p[13], p[14], p[15]]);
    Some((conv, sn))
}
