//! The FEC layer against packets captured from kcp-go.

use std::time::{Duration, Instant};

use erpc_kcp::{FecConfig, FecDecoder, FecEncoder, FecHeader, ShardKind};

use crate::fixtures::{packets, FILES};

#[test]
fn fixtures_are_three_whole_groups() {
    for file in FILES {
        let packets = packets(file);
        assert_eq!(packets.len(), 39, "{file}");
        for (i, p) in packets.iter().enumerate() {
            let h = FecHeader::parse(p).expect("header");
            assert_eq!(h.seqid, i as u32, "{file}: packets in order, none lost");
            let parity = i % 13 >= 10;
            assert_eq!(h.kind == ShardKind::Parity, parity, "{file} #{i}");
        }
        // The groups mix packet sizes, so the zero padding is exercised.
        let sizes: std::collections::BTreeSet<usize> = packets[..10].iter().map(Vec::len).collect();
        assert!(sizes.len() > 1, "{file}: {sizes:?}");
    }
}

#[test]
fn encoder_reproduces_kcp_go_byte_for_byte() {
    for file in FILES {
        let captured = packets(file);
        let mut enc = FecEncoder::new(&FecConfig::default()).unwrap();
        let mut out = Vec::new();
        for p in captured.iter().filter(|p| p[4] == 0xf1) {
            enc.encode(&p[8..], &mut out).unwrap();
        }
        assert_eq!(out.len(), captured.len(), "{file}");
        for (i, (ours, go)) in out.iter().zip(&captured).enumerate() {
            assert_eq!(ours, go, "{file}: packet {i} differs");
        }
    }
}

/// Feeds `packets` except `drop` (indexes) and returns the KCP payloads delivered.
fn decode_without(packets: &[Vec<u8>], drop: &[usize]) -> (Vec<Vec<u8>>, FecDecoder) {
    let mut dec = FecDecoder::new(&FecConfig::default()).unwrap();
    let now = Instant::now();
    let mut got = Vec::new();
    for (i, p) in packets.iter().enumerate() {
        if !drop.contains(&i) {
            dec.input(now, p, |payload, _| got.push(payload.to_vec()));
        }
    }
    (got, dec)
}

#[test]
fn decoder_rebuilds_up_to_three_lost_data_shards_per_group() {
    for file in FILES {
        let captured = packets(file);
        let want: Vec<Vec<u8>> = captured
            .iter()
            .filter(|p| p[4] == 0xf1)
            .map(|p| p[8..].to_vec())
            .collect();
        // Lose 3 data shards in group 0 (the first, a middle and the last), 2 in group 1 plus
        // a parity shard, 1 in group 2 plus two parity shards.
        let lost = [0, 4, 9, 15, 21, 23, 26 + 7, 36, 38];
        let (mut got, dec) = decode_without(&captured, &lost);
        assert_eq!(dec.stats().recovered, 6, "{file}");
        assert_eq!(dec.stats().unrecoverable_groups, 0);
        got.sort();
        let mut want = want.clone();
        want.sort();
        assert_eq!(got, want, "{file}: every KCP packet delivered once");
    }
}

#[test]
fn four_lost_shards_of_a_group_are_not_rebuilt() {
    let captured = packets(FILES[0]);
    let (got, dec) = decode_without(&captured[..13], &[1, 2, 3, 10]);
    assert_eq!(got.len(), 7);
    assert_eq!(dec.stats().recovered, 0);
}

#[test]
fn reordered_and_duplicated_packets_still_rebuild() {
    let captured = packets(FILES[1]);
    let mut dec = FecDecoder::new(&FecConfig::default()).unwrap();
    let now = Instant::now();
    let mut got = Vec::new();
    // Group 0 backwards, without data shards 2 and 5, parity first; every packet twice.
    for i in (0..13).rev().filter(|i| ![2, 5].contains(i)) {
        for _ in 0..2 {
            dec.input(now, &captured[i], |p, _| got.push(p.to_vec()));
        }
    }
    assert!(got.contains(&captured[2][8..].to_vec()));
    assert!(got.contains(&captured[5][8..].to_vec()));
    // Shards 12..1 (ten of them) arrive first: 0, 2 and 5 are rebuilt; 0 then also arrives
    // (KCP drops the copy).
    assert_eq!(dec.stats().recovered, 3);
    // Second copies before the group completed (9); later ones are ignored uncounted.
    assert_eq!(dec.stats().duplicates, 9);
}

#[test]
fn bad_packets_are_dropped_and_counted() {
    let captured = packets(FILES[0]);
    let mut dec = FecDecoder::new(&FecConfig::default()).unwrap();
    let now = Instant::now();
    let mut delivered = 0;
    let mut bad = vec![
        vec![],
        vec![0xf1; 7],
        {
            let mut p = captured[0].clone();
            p[4] = 0x51; // a KCP command, not an FEC flag
            p
        },
        {
            let mut p = captured[0].clone();
            p[6] = 0xff; // size disagrees with the length
            p[7] = 0xff;
            p
        },
        {
            let mut p = captured[10].clone();
            p[4] = 0xf1; // data flag at a parity index
            p
        },
        vec![0u8; 1501],
    ];
    for p in bad.drain(..) {
        dec.input(now, &p, |_, _| delivered += 1);
    }
    assert_eq!(delivered, 0);
    assert_eq!(dec.stats().dropped_malformed, 5);
    assert_eq!(dec.stats().dropped_too_long, 1);
}

#[test]
fn pending_groups_are_bounded_and_expire() {
    let captured = packets(FILES[0]);
    let config = FecConfig::default();
    let mut dec = FecDecoder::new(&config).unwrap();
    let t0 = Instant::now();
    // One shard from each of 5 far-apart groups: only 3 are kept, 2 given up.
    for g in 0..5u32 {
        let mut p = captured[1].clone();
        p[..4].copy_from_slice(&(g * 13 * 1000 + 1).to_le_bytes());
        dec.input(t0, &p, |_, _| {});
    }
    assert_eq!(dec.stats().unrecoverable_groups, 2);
    // Past the expiry the rest go on the next packet.
    dec.input(
        t0 + config.group_expiry + Duration::from_secs(1),
        &captured[14],
        |_, _| {},
    );
    assert_eq!(dec.stats().unrecoverable_groups, 5);
}

#[test]
fn sequence_ids_wrap_after_a_parity_shard() {
    let paws = u32::MAX / 13 * 13;
    let mut enc = FecEncoder::new(&FecConfig::default())
        .unwrap()
        .starting_at(paws - 13);
    let mut out = Vec::new();
    for _ in 0..20 {
        enc.encode(&[0u8; 24], &mut out).unwrap();
    }
    let ids: Vec<u32> = out
        .iter()
        .map(|p| FecHeader::parse(p).unwrap().seqid)
        .collect();
    let want: Vec<u32> = (paws - 13..paws).chain(0..13).collect();
    assert_eq!(ids, want);
    let parity: Vec<bool> = out.iter().map(|p| p[4] == 0xf2).collect();
    assert_eq!(parity, (0..26).map(|i| i % 13 >= 10).collect::<Vec<_>>());
}
