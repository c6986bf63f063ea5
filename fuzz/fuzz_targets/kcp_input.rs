//! Arbitrary datagrams through erpc-kcp: the first byte picks how many datagrams the rest is
//! cut into; each goes to an FEC decoder, a KCP session and a listener, with the clock
//! advancing. Never panics, never delivers an impossible payload, never holds more sessions
//! than its bound.
#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use erpc_kcp::{FecConfig, FecDecoder, KcpConfig, KcpConn, KcpListener};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&n, rest)) = data.split_first() else {
        return;
    };
    let parts = usize::from(n % 16) + 1;
    let size = rest.len().div_ceil(parts).max(1);
    let t0 = Instant::now();
    let mut dec = FecDecoder::new(&FecConfig::default()).unwrap();
    let mut conn = KcpConn::new(0, &KcpConfig::default(), t0).unwrap();
    let mut listener = KcpListener::new(KcpConfig::default(), 2);
    let from: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let mut buf = [0u8; 4096];
    for (i, p) in rest.chunks(size).enumerate() {
        let now = t0 + Duration::from_millis(i as u64 * 37);
        dec.input(now, p, |payload, _| assert!(payload.len() <= 1500));
        conn.handle_input(now, p);
        conn.handle_timeout(now);
        while conn.poll_transmit().is_some() {}
        while conn.read(&mut buf) > 0 {}
        listener.handle_input(now, from, p);
        listener.handle_timeout(now);
        while listener.poll_transmit().is_some() {}
        assert!(listener.len() <= 2);
    }
});
