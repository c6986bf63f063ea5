//! The `kcp` network (Go's kcp-go with FEC 10 + 3) on threads: calls, a body of many
//! datagrams both ways, pushes both ways, and the UDP port released once the peer closes.

use crate::common;
use std::sync::{mpsc, Mutex};

use common::{echo_ok, within, STEP};
use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, PushCtx, Status};

fn config(local_ip: &str) -> PeerConfig {
    PeerConfig {
        network: "kcp".into(),
        local_ip: local_ip.into(),
        ..common::client()
    }
}

#[test]
fn call_and_push_with_large_bodies() {
    let server = builder(config("127.0.0.1"))
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/big", |ctx: CallCtx, body: String| {
            let _ = ctx.session().push("/back", &body);
            Ok::<_, Status>(body.len())
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();

    let (tx, back) = mpsc::channel();
    let tx = Mutex::new(tx);
    let client = builder(config(""))
        .push("/back", move |_: PushCtx, body: String| {
            let _ = tx.lock().unwrap().send(body);
        })
        .build()
        .unwrap();
    let a = client.dial(&addr).unwrap();
    let b = client.dial(&addr).unwrap();
    echo_ok(&a, 1);
    echo_ok(&b, 2);
    assert_eq!(server.count_sessions(), 2, "two UDP sockets, two sessions");

    // 256 KiB: about 190 segments of 1368 bytes each way (kcp-go's default windows move
    // some 150 KB/s; the reply waits behind the push).
    let body: String = (0..256 << 10)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let len: usize = a.call_with("/big").send(&body).unwrap().body;
    assert_eq!(len, body.len());
    let pushed = back.recv_timeout(STEP).unwrap();
    assert!(pushed == body, "the pushed body came back intact");

    within("close", move || {
        client.close();
        server.close();
    });
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
