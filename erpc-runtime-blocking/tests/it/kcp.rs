//! The `kcp` network (Go's kcp-go with FEC 10 + 3) on threads: calls, a body of many
//! datagrams both ways, pushes both ways, and the UDP port released once the peer closes.

use crate::common;
use erpc_runtime_blocking::Network;

use common::{echo_ok, within, STEP};
use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, Status};

fn config(local_ip: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Kcp,
        local_ip: local_ip.into(),
        ..common::client()
    }
}

#[test]
fn call_and_push_with_large_bodies() {
    // 256 KiB: about 190 segments of 1368 bytes each way (kcp-go's default windows move
    // some 150 KB/s; the reply waits behind the push).
    let addr = common::large_bodies_both_ways(config("127.0.0.1"), config(""), 256 << 10);
    // The listener's reader thread sees its driver gone and drops the socket.
    let again = within("rebind", move || {
        let deadline = std::time::Instant::now() + STEP;
        loop {
            match std::net::UdpSocket::bind(&addr) {
                Ok(s) => return s.local_addr().is_ok(),
                Err(_) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(50))
                }
                Err(e) => panic!("the kcp port stays taken after close: {e}"),
            }
        }
    });
    assert!(again);
}

#[test]
fn a_name_is_looked_up_for_the_dial() {
    let server = builder(config("127.0.0.1"))
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let client = builder(config("")).build().unwrap();
    let s = client.dial(&format!("localhost:{port}")).unwrap();
    echo_ok(&s, 7);
    within("close", move || {
        client.close();
        server.close();
    });
}

#[test]
fn tuned_kcp_parameters() {
    // `PeerBuilder::kcp` on both sides: larger windows and `nodelay` move 2 MiB at once.
    let mut tuned = erpc_runtime_blocking::kcp::KcpConfig::default();
    tuned.send_window = 512;
    tuned.recv_window = 512;
    tuned.nodelay = true;
    tuned.interval_ms = 10;
    let server = builder(config("127.0.0.1"))
        .kcp(tuned.clone())
        .call("/len", |_ctx: CallCtx, body: erpc_runtime_blocking::Raw| {
            Ok::<_, Status>(body.0.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(config("")).kcp(tuned).build().unwrap();
    let n = within("2 MiB call", move || {
        let s = client.dial(&addr).unwrap();
        let big = erpc_runtime_blocking::Raw(vec![9u8; 2 << 20].into());
        let n: usize = s.call("/len", &big).unwrap();
        client.close();
        n
    });
    assert_eq!(n, 2 << 20);
    server.close();
}
