//! The sending half of kcp-go's FEC: headers on every packet, parity after every group.

use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::fec_header::{FecHeader, ShardKind, FEC_HEADER_LEN, MAX_PACKET_LEN, SEQ_FLAG_LEN};
use crate::{FecConfig, FecError};

/// Wraps KCP output packets into FEC data shards and emits parity shards, byte for byte as
/// kcp-go's `fecEncoder` does.
///
/// Each data packet is `seqid | 0xf1 | size | payload` with `size = payload length + 2`. After
/// every `data_shards` data packets come `parity_shards` parity packets `seqid | 0xf2 | parity`,
/// where the parity is computed over the data shards from their `size` field on, zero-padded
/// to the longest. Sequence ids count every packet and wrap only after a parity shard (at the
/// largest multiple of the group size that fits in a `u32`).
#[derive(Debug)]
pub struct FecEncoder {
    codec: ReedSolomon,
    data_shards: usize,
    next: u32,
    paws: u32,
    /// Data shards of the current group, from the `size` field on.
    shards: Vec<Vec<u8>>,
}

impl FecEncoder {
    /// An encoder for `config`'s shard counts, starting at sequence id 0.
    pub fn new(config: &FecConfig) -> Result<Self, FecError> {
        let codec = ReedSolomon::new(config.data_shards, config.parity_shards)
            .map_err(|_| FecError::ShardCounts)?;
        let total = config.total_shards() as u32;
        Ok(Self {
            codec,
            data_shards: config.data_shards,
            next: 0,
            paws: u32::MAX / total * total,
            shards: Vec::with_capacity(config.data_shards),
        })
    }

    /// The same encoder with its next sequence id set to `seqid` rounded down to a group
    /// boundary (kcp-go always starts at 0; this is for resuming and for tests of the wrap).
    pub fn starting_at(mut self, seqid: u32) -> Self {
        let total = self.data_shards as u32 + self.parity_count();
        self.next = (seqid - seqid % total) % self.paws;
        self.shards.clear();
        self
    }

    fn parity_count(&self) -> u32 {
        self.codec.parity_shard_count() as u32
    }

    /// Longest KCP payload one packet can carry.
    pub const MAX_PAYLOAD: usize = MAX_PACKET_LEN - FEC_HEADER_LEN;

    /// Encodes one KCP output packet: pushes its data packet onto `out`, then, when it
    /// completes a group, the group's parity packets.
    pub fn encode(&mut self, payload: &[u8], out: &mut Vec<Vec<u8>>) -> Result<(), FecError> {
        if payload.len() > Self::MAX_PAYLOAD {
            return Err(FecError::PayloadTooLong(payload.len()));
        }
        let mut packet = vec![0u8; FEC_HEADER_LEN + payload.len()];
        FecHeader {
            seqid: self.next,
            kind: ShardKind::Data,
        }
        .write(&mut packet);
        self.next = self.next.wrapping_add(1);
        // At most MAX_PACKET_LEN - 6, so it fits.
        let size = (payload.len() + 2) as u16;
        packet[SEQ_FLAG_LEN..FEC_HEADER_LEN].copy_from_slice(&size.to_le_bytes());
        packet[FEC_HEADER_LEN..].copy_from_slice(payload);
        self.shards.push(packet[SEQ_FLAG_LEN..].to_vec());
        out.push(packet);
        if self.shards.len() == self.data_shards {
            self.emit_parity(out);
        }
        Ok(())
    }

    fn emit_parity(&mut self, out: &mut Vec<Vec<u8>>) {
        let longest = self.shards.iter().map(Vec::len).max().unwrap_or(0);
        for shard in &mut self.shards {
            shard.resize(longest, 0);
        }
        let mut parity = vec![vec![0u8; longest]; self.codec.parity_shard_count()];
        // Equal lengths and the right counts: encoding cannot fail.
        if self.codec.encode_sep(&self.shards, &mut parity).is_ok() {
            for shard in parity {
                let mut packet = vec![0u8; SEQ_FLAG_LEN + shard.len()];
                FecHeader {
                    seqid: self.next,
                    kind: ShardKind::Parity,
                }
                .write(&mut packet);
                packet[SEQ_FLAG_LEN..].copy_from_slice(&shard);
                self.next = self.next.wrapping_add(1) % self.paws;
                out.push(packet);
            }
        }
        self.shards.clear();
    }
}
