//! Arbitrary datagrams never panic the FEC decoder, a session or a listener.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use erpc_kcp::{FecConfig, FecDecoder, KcpConfig, KcpConn, KcpListener};
use proptest::prelude::*;

use crate::fixtures::packets;

/// A datagram: random bytes, or a captured Go packet with some bytes overwritten (so the
/// headers often parse and the damage reaches the deeper layers).
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let captured = packets("go-client-to-server.bin");
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..1600),
        (
            0..captured.len(),
            proptest::collection::vec((any::<u16>(), any::<u8>()), 1..8)
        )
            .prop_map(move |(i, edits)| {
                let mut p = captured[i].clone();
                for (at, b) in edits {
                    let at = usize::from(at) % p.len();
                    p[at] = b;
                }
                p
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoder_session_and_listener_survive_anything(
        packets in proptest::collection::vec(datagram(), 1..40),
    ) {
        let t0 = Instant::now();
        let mut dec = FecDecoder::new(&FecConfig::default()).unwrap();
        let mut conn = KcpConn::new(1, &KcpConfig::default(), t0).unwrap();
        let mut listener = KcpListener::new(KcpConfig::default(), 4);
        let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let mut buf = [0u8; 2048];
        for (i, p) in packets.iter().enumerate() {
            let now = t0 + Duration::from_millis(i as u64 * 7);
            dec.input(now, p, |payload, _| assert!(payload.len() <= 1500));
            conn.handle_input(now, p);
            conn.handle_timeout(now);
            while conn.poll_transmit().is_some() {}
            while conn.read(&mut buf) > 0 {}
            listener.handle_input(now, from, p);
            listener.handle_timeout(now);
            while listener.poll_transmit().is_some() {}
            prop_assert!(listener.len() <= 4);
        }
    }
}
