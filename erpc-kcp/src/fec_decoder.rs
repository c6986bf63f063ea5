//! The receiving half of kcp-go's FEC: data shards pass straight through, lost ones are
//! rebuilt from parity.

use std::collections::VecDeque;
use std::time::Instant;

use reed_solomon_erasure::galois_8::ReedSolomon;

use crate::fec_header::{FecHeader, ShardKind, FEC_HEADER_LEN, MAX_PACKET_LEN, SEQ_FLAG_LEN};
use crate::{FecConfig, FecError, FecStats};

/// Shards received for one group of `data + parity` sequence ids.
#[derive(Debug)]
struct Group {
    /// Sequence id of the group's first shard.
    base: u32,
    /// When the group's first shard arrived.
    since: Instant,
    /// Shards from offset 6 on (data: `size | payload`; parity: parity bytes).
    shards: Vec<Option<Vec<u8>>>,
    present: usize,
    data_present: usize,
    /// Every data shard is known (received or rebuilt): later shards are ignored.
    done: bool,
}

/// Decodes FEC packets into KCP payloads.
///
/// Call [`input`](Self::input) with every UDP packet as it arrives. A data shard's KCP payload
/// is handed out at once (KCP copes with order and duplicates); once a group has any
/// `data_shards` of its shards, the data shards still missing are rebuilt and handed out too.
/// Memory is bounded: at most [`FecConfig::max_pending_groups`] incomplete groups are kept
/// (the oldest is dropped first) and none longer than [`FecConfig::group_expiry`]. Malformed
/// packets are dropped and counted in [`stats`](Self::stats), never a panic.
#[derive(Debug)]
pub struct FecDecoder {
    codec: ReedSolomon,
    config: FecConfig,
    /// Groups, oldest first (by arrival of their first shard).
    groups: VecDeque<Group>,
    stats: FecStats,
}

impl FecDecoder {
    /// A decoder for `config`'s shard counts and bounds.
    pub fn new(config: &FecConfig) -> Result<Self, FecError> {
        let codec = ReedSolomon::new(config.data_shards, config.parity_shards)
            .map_err(|_| FecError::ShardCounts)?;
        Ok(Self {
            codec,
            config: config.clone(),
            groups: VecDeque::new(),
            stats: FecStats::default(),
        })
    }

    /// What the decoder has seen so far.
    pub fn stats(&self) -> &FecStats {
        &self.stats
    }

    /// Takes one UDP packet received at `now` and calls `deliver` with each KCP payload it
    /// yields: the packet's own (data shards; `rebuilt` false), then any rebuilt ones (`rebuilt`
    /// true), in shard order.
    pub fn input(&mut self, now: Instant, packet: &[u8], mut deliver: impl FnMut(&[u8], bool)) {
        self.expire(now);
        if packet.len() > MAX_PACKET_LEN {
            self.stats.dropped_too_long += 1;
            return;
        }
        let Some(header) = FecHeader::parse(packet) else {
            self.stats.dropped_malformed += 1;
            return;
        };
        let total = self.config.total_shards() as u32;
        let index = (header.seqid % total) as usize;
        let is_data_index = index < self.config.data_shards;
        match header.kind {
            ShardKind::Data => {
                let size = usize::from(u16::from_le_bytes([packet[6], packet[7]]));
                if !is_data_index || size != packet.len() - SEQ_FLAG_LEN {
                    self.stats.dropped_malformed += 1;
                    return;
                }
                self.stats.data += 1;
                deliver(&packet[FEC_HEADER_LEN..], false);
            }
            ShardKind::Parity => {
                if is_data_index {
                    self.stats.dropped_malformed += 1;
                    return;
                }
                self.stats.parity += 1;
            }
        }
        let base = header.seqid - index as u32;
        let at = match self.groups.iter().position(|g| g.base == base) {
            Some(at) => at,
            None => {
                let pending = self.groups.iter().filter(|g| !g.done).count();
                if pending >= self.config.max_pending_groups {
                    self.evict_oldest_pending();
                }
                // Completed groups are kept only as small markers; bound them too.
                while self.groups.len() >= 4 * self.config.max_pending_groups.max(1) {
                    self.groups.pop_front();
                }
                self.groups.push_back(Group {
                    base,
                    since: now,
                    shards: vec![None; self.config.total_shards()],
                    present: 0,
                    data_present: 0,
                    done: false,
                });
                self.groups.len() - 1
            }
        };
        let data_shards = self.config.data_shards;
        let group = &mut self.groups[at];
        if group.done {
            return;
        }
        if group.shards[index].is_some() {
            self.stats.duplicates += 1;
            return;
        }
        group.shards[index] = Some(packet[SEQ_FLAG_LEN..].to_vec());
        group.present += 1;
        if is_data_index {
            group.data_present += 1;
        }
        if group.data_present == data_shards {
            group.done = true;
            group.shards.clear();
        } else if group.present >= data_shards {
            let rebuilt = Self::rebuild(&self.codec, data_shards, group);
            group.done = true;
            group.shards.clear();
            for shard in rebuilt {
                self.stats.recovered += 1;
                match Self::payload(&shard) {
                    Some(payload) => deliver(payload, true),
                    None => self.stats.recovered_malformed += 1,
                }
            }
        }
    }

    /// Rebuilds the missing data shards of `group`, in index order.
    fn rebuild(codec: &ReedSolomon, data_shards: usize, group: &mut Group) -> Vec<Vec<u8>> {
        let longest = group
            .shards
            .iter()
            .flatten()
            .map(Vec::len)
            .max()
            .unwrap_or(0);
        let missing: Vec<usize> = (0..data_shards)
            .filter(|&k| group.shards[k].is_none())
            .collect();
        for shard in group.shards.iter_mut().flatten() {
            shard.resize(longest, 0);
        }
        if codec.reconstruct_data(&mut group.shards).is_err() {
            return Vec::new();
        }
        missing
            .into_iter()
            .filter_map(|k| group.shards[k].take())
            .collect()
    }

    /// The KCP payload of a rebuilt data shard (`size | payload | zero padding`), checked as
    /// kcp-go does: `2 <= size <= shard length`.
    fn payload(shard: &[u8]) -> Option<&[u8]> {
        if shard.len() < 2 {
            return None;
        }
        let size = usize::from(u16::from_le_bytes([shard[0], shard[1]]));
        (2..=shard.len()).contains(&size).then(|| &shard[2..size])
    }

    fn evict_oldest_pending(&mut self) {
        if let Some(at) = self.groups.iter().position(|g| !g.done) {
            if let Some(group) = self.groups.remove(at) {
                if group.data_present < self.config.data_shards {
                    self.stats.unrecoverable_groups += 1;
                }
            }
        }
    }

    fn expire(&mut self, now: Instant) {
        let expiry = self.config.group_expiry;
        while let Some(front) = self.groups.front() {
            if now.saturating_duration_since(front.since) <= expiry {
                break;
            }
            if !front.done {
                self.stats.unrecoverable_groups += 1;
            }
            self.groups.pop_front();
        }
    }
}
