//! KcpConn pairs over a virtual network, and Go's captured packets into a listener.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use erpc_kcp::{KcpConfig, KcpConn, KcpListener, ListenerInput};

use crate::fixtures::packets;
use crate::net::{Link, Rng};

/// Bytes 0, 1, 2, … of length `len`, varied by `salt`.
fn pattern(len: usize, salt: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ salt)
        .collect()
}

/// Moves `a_data` from a to b and `b_data` from b to a through links losing `loss`% of the
/// packets; returns what each side read and the virtual time it took.
fn exchange(a_data: &[u8], b_data: &[u8], loss: u64, seed: u64) -> (Vec<u8>, Vec<u8>, Duration) {
    let config = KcpConfig::default();
    let t0 = Instant::now();
    let mut now = t0;
    let mut a = KcpConn::new(0x1234_5678, &config, now).unwrap();
    let mut b = KcpConn::new(0x1234_5678, &config, now).unwrap();
    let (mut ab, mut ba) = (Link::default(), Link::default());
    let mut rng = Rng::new(seed);
    let (mut a_sent, mut b_sent) = (0, 0);
    let (mut a_got, mut b_got) = (Vec::new(), Vec::new());
    let mut buf = vec![0u8; 4096];
    let limit = t0 + Duration::from_secs(600);
    while (a_got.len() < b_data.len() || b_got.len() < a_data.len()) && now < limit {
        a_sent += a.send(now, &a_data[a_sent..]);
        b_sent += b.send(now, &b_data[b_sent..]);
        while let Some(p) = a.poll_transmit() {
            ab.send(now, p, &mut rng, loss);
        }
        while let Some(p) = b.poll_transmit() {
            ba.send(now, p, &mut rng, loss);
        }
        while let Some(p) = ab.arrived(now) {
            b.handle_input(now, &p);
        }
        while let Some(p) = ba.arrived(now) {
            a.handle_input(now, &p);
        }
        loop {
            let n = a.read(&mut buf);
            if n == 0 {
                break;
            }
            a_got.extend_from_slice(&buf[..n]);
        }
        loop {
            let n = b.read(&mut buf);
            if n == 0 {
                break;
            }
            b_got.extend_from_slice(&buf[..n]);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        assert!(!a.is_dead() && !b.is_dead());
        now += Duration::from_millis(1);
    }
    (a_got, b_got, now - t0)
}

#[test]
fn bytes_cross_both_ways_in_order() {
    let (x, y) = (pattern(300_000, 1), pattern(200_001, 2));
    let (a_got, b_got, took) = exchange(&x, &y, 0, 1);
    eprintln!("no loss: 300 kB + 200 kB in {took:?} (virtual, 5 ms one way)");
    assert_eq!(b_got, x);
    assert_eq!(a_got, y);
    assert!(took < Duration::from_secs(60), "{took:?}");
}

#[test]
fn ten_percent_loss_still_delivers_everything() {
    for seed in [7, 42] {
        let (x, y) = (pattern(100_000, 3), pattern(50_000, 4));
        let (a_got, b_got, took) = exchange(&x, &y, 10, seed);
        eprintln!("10% loss, seed {seed}: 100 kB + 50 kB in {took:?} (virtual)");
        assert_eq!(b_got.len(), x.len(), "seed {seed}, {took:?}");
        assert_eq!(b_got, x);
        assert_eq!(a_got, y);
    }
}

#[test]
fn send_stops_at_the_window_and_splits_at_mss() {
    let config = KcpConfig::default();
    assert_eq!(config.mss(), 1368);
    let now = Instant::now();
    let mut a = KcpConn::new(9, &config, now).unwrap();
    let data = pattern(1_000_000, 5);
    let took = a.send(now, &data);
    assert_eq!(took, 32 * 1368);
    assert!(!a.writable());
    assert_eq!(a.send(now, &data[took..]), 0);
    // Congestion control: one segment in flight at first (cwnd 1), a 1400-byte packet.
    let first = a.poll_transmit().unwrap();
    assert_eq!(first.len(), 1400);
    assert_eq!(&first[4..6], &0xf1u16.to_le_bytes());
}

#[test]
fn silent_peer_makes_the_session_dead() {
    let config = KcpConfig::default();
    let t0 = Instant::now();
    let mut a = KcpConn::new(9, &config, t0).unwrap();
    a.send(t0, b"hello");
    let mut now = t0;
    while !a.is_dead() && now < t0 + Duration::from_secs(120) {
        now += Duration::from_millis(100);
        a.handle_timeout(now);
        while a.poll_transmit().is_some() {}
    }
    assert!(a.is_dead());
    let waited = now - t0;
    assert!(waited >= config.silence_timeout && waited < config.silence_timeout * 2);
}

#[test]
fn listener_accepts_go_client_packets_and_reads_its_first_call() {
    let addr: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut listener = KcpListener::new(KcpConfig::default(), 8);
    let now = Instant::now();
    let captured = packets("go-client-to-server.bin");
    let conv = u32::from_le_bytes(captured[0][8..12].try_into().unwrap());
    let mut events = Vec::new();
    for p in &captured {
        events.push(listener.handle_input(now, addr, p));
    }
    assert_eq!(events[0], ListenerInput::Accepted { addr, conv });
    assert!(events[1..].iter().all(|e| *e == ListenerInput::Delivered));
    let conn = listener.session_mut(&addr).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 2048];
    loop {
        let n = conn.read(&mut buf);
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    // The first eRPC frame: raw proto, `u32 BE` total length, then the header with the
    // service method of the Go client's first check.
    let frame_len = u32::from_be_bytes(got[..4].try_into().unwrap()) as usize;
    assert!(frame_len < got.len());
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("/math/add"), "{text:?}");
    assert!(text.contains("/echo/string"), "the second call too");
    assert_eq!(conn.kcp_input_errors(), 0);
    // It answers with ACKs, FEC-wrapped.
    conn.handle_timeout(now + Duration::from_millis(100));
    let (to, ack) = listener.poll_transmit().unwrap();
    assert_eq!(to, addr);
    assert_eq!(&ack[4..6], &0xf1u16.to_le_bytes());
    assert_eq!(ack[8 + 4], 82, "an ACK segment");
}

#[test]
fn listener_drops_strangers_and_bounds_sessions() {
    let captured = packets("go-client-to-server.bin");
    let mut listener = KcpListener::new(KcpConfig::default(), 1);
    let now = Instant::now();
    let a: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let b: SocketAddr = "127.0.0.1:2".parse().unwrap();
    // A parity packet cannot open a session.
    assert_eq!(
        listener.handle_input(now, a, &captured[10]),
        ListenerInput::Dropped
    );
    assert!(matches!(
        listener.handle_input(now, a, &captured[0]),
        ListenerInput::Accepted { .. }
    ));
    // Table full.
    assert_eq!(
        listener.handle_input(now, b, &captured[0]),
        ListenerInput::Dropped
    );
    // Another conv from the same address with sn != 0 is dropped; with sn 0 it replaces.
    let mut other = captured[0].clone();
    other[8..12].copy_from_slice(&7u32.to_le_bytes());
    let sn = u32::from_le_bytes(other[20..24].try_into().unwrap());
    assert_eq!(sn, 0);
    let conv = u32::from_le_bytes(captured[0][8..12].try_into().unwrap());
    assert_eq!(
        listener.handle_input(now, a, &other),
        ListenerInput::Replaced {
            addr: a,
            old_conv: conv,
            conv: 7
        }
    );
    other[20..24].copy_from_slice(&5u32.to_le_bytes());
    other[8..12].copy_from_slice(&8u32.to_le_bytes());
    assert_eq!(
        listener.handle_input(now, a, &other),
        ListenerInput::Dropped
    );
    assert_eq!(listener.len(), 1);
    assert_eq!(listener.dropped(), 3);
}

/// The UDP packets `conn` sends between `from` and `to`, stepping 1 ms, each with when it
/// left (since `origin`); nothing comes back.
fn sent_alone(
    conn: &mut KcpConn,
    origin: Instant,
    from: Instant,
    to: Instant,
) -> Vec<(Duration, Vec<u8>)> {
    let mut out = Vec::new();
    let mut now = from;
    while now < to {
        conn.handle_timeout(now);
        while let Some(p) = conn.poll_transmit() {
            out.push((now - origin, p));
        }
        now += Duration::from_millis(1);
    }
    out
}

#[test]
fn first_segment_is_laid_out_as_kcp_go_expects() {
    let t0 = Instant::now();
    let mut a = KcpConn::new(0xa1b2_c3d4, &KcpConfig::default(), t0).unwrap();
    assert_eq!(a.send(t0, b"hello"), 5);
    let p = a.poll_transmit().unwrap();
    let seg = &p[8..];
    assert_eq!(
        &p[6..8],
        &((seg.len() + 2) as u16).to_le_bytes(),
        "FEC size field"
    );
    assert_eq!(&seg[0..4], &0xa1b2_c3d4u32.to_le_bytes(), "conv");
    assert_eq!(seg[4], 81, "cmd push");
    assert_eq!(seg[5], 0, "frg: message mode, one fragment");
    assert_eq!(
        &seg[6..8],
        &32u16.to_le_bytes(),
        "receive window 32, kcp-go's"
    );
    assert_eq!(&seg[12..16], &0u32.to_le_bytes(), "sn");
    assert_eq!(&seg[16..20], &0u32.to_le_bytes(), "una");
    assert_eq!(&seg[20..24], &5u32.to_le_bytes(), "len");
    assert_eq!(&seg[24..], b"hello");
}

#[test]
fn unanswered_segment_backs_off_linearly_then_the_link_dies() {
    let mut config = KcpConfig::default();
    config.silence_timeout = Duration::from_secs(3600);
    let t0 = Instant::now();
    let mut a = KcpConn::new(1, &config, t0).unwrap();
    a.send(t0, b"x");
    let _first = a.poll_transmit().unwrap();
    // 19 retransmissions at 200, 400, … 3800 ms apart: the 20th transmission (dead link 20)
    // goes at 200 × (1 + … + 19) = 38 s.
    let mut sent = sent_alone(&mut a, t0, t0, t0 + Duration::from_millis(37_500));
    assert!(!a.is_dead());
    sent.extend(sent_alone(
        &mut a,
        t0,
        t0 + Duration::from_millis(37_500),
        t0 + Duration::from_secs(39),
    ));
    assert!(a.is_dead());
    // Data shards only (every tenth is followed by three parity shards).
    let data: Vec<u64> = sent
        .iter()
        .filter(|(_, p)| p[4] == 0xf1)
        .map(|(t, _)| t.as_millis() as u64)
        .collect();
    assert_eq!(data.len(), 19, "{data:?}");
    // kcp-go: RTO 200 ms, then one more RTO per retransmission (200, 400, 600, …), not
    // doubling; checked at the 100 ms update ticks, so each gap is within a tick.
    let mut last = 0;
    for (i, t) in data.iter().enumerate() {
        let (gap, want) = (t - last, 200 * (i as u64 + 1));
        assert!(
            gap.abs_diff(want) <= 100,
            "gap {i}: {gap} ms, want ~{want}: {data:?}"
        );
        last = *t;
    }
}
