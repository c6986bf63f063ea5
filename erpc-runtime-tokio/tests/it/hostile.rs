//! Hostile and careless clients on raw sockets: garbage, truncated frames, readiness probes.
//! The server drops the offending connection and keeps serving everyone else.

use crate::common;
use common::{echo_ok, local, within};
use erpc_runtime_tokio::{builder, CallCtx, Peer, PeerConfig, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn echo_server() -> Peer {
    builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

/// Reads until the server closes the connection (EOF or reset); returns what it sent.
async fn read_until_closed(s: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return got,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
}

/// The resident set of this process (Linux), in KiB.
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Bytes that look like nothing eRPC knows, deterministic.
fn noise(len: usize, mut seed: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect()
}

#[tokio::test]
async fn garbage_is_dropped_and_others_are_served() {
    let server = echo_server();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let good = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&good, 1).await;

    let cases: Vec<(&str, Vec<u8>)> = vec![
        // An HTTP request: its first four bytes announce a frame above the 1 GiB limit.
        (
            "http request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        // A plausible length followed by nonsense.
        ("small frame of nonsense", {
            let mut v = vec![0, 0, 0, 40];
            v.extend(noise(40, 7));
            v
        }),
        // A valid-looking header length that runs past the frame.
        (
            "header longer than the frame",
            vec![0, 0, 0, 6, 0, 1, b'1', 1, 0xff, 0xff],
        ),
        ("random bytes", noise(64 * 1024, 99)),
        ("zero length", vec![0, 0, 0, 0]),
    ];
    for (what, bytes) in cases {
        let mut s = within("raw connect", TcpStream::connect(&addr))
            .await
            .unwrap();
        // The server may already have hung up part-way through a large write.
        let _ = s.write_all(&bytes).await;
        let got = within(what, read_until_closed(&mut s)).await;
        assert!(
            got.is_empty(),
            "{what}: the server answered garbage with {got:02x?}"
        );
        echo_ok(&good, 2).await;
    }

    // Half a frame, then the client goes away.
    let mut s = within("raw connect", TcpStream::connect(&addr))
        .await
        .unwrap();
    let frame =
        hex::decode(include_str!("../../../tests/vectors/raw_call_math_add.hex").trim()).unwrap();
    s.write_all(&frame[..frame.len() / 2]).await.unwrap();
    drop(s);

    // A huge announced frame (just under the 1 GiB limit) that never comes: the server must
    // not allocate for it up front (Go does) nor choke on it.
    let before = rss_kib();
    let mut s = within("raw connect", TcpStream::connect(&addr))
        .await
        .unwrap();
    s.write_all(&[0x3f, 0xff, 0xff, 0x00, 0x00, 0x01])
        .await
        .unwrap();
    s.write_all(&noise(100_000, 3)).await.unwrap();
    echo_ok(&good, 3).await;
    if let (Some(a), Some(b)) = (before, rss_kib()) {
        assert!(
            b.saturating_sub(a) < 64 * 1024,
            "RSS grew from {a} KiB to {b} KiB"
        );
    }
    drop(s);

    common::eventually("only the good session is left", || {
        server.count_sessions() == 1
    })
    .await;
    let again = within("dial after the garbage", client.dial(&addr))
        .await
        .unwrap();
    echo_ok(&again, 4).await;
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn readiness_probes_are_tolerated() {
    let server = echo_server();
    let addr = server.listen().await.unwrap();

    // A load balancer's probe: connect, close without a byte.
    for _ in 0..20 {
        let s = within("probe connect", TcpStream::connect(&addr))
            .await
            .unwrap();
        drop(s);
    }
    // A politer one: half-close and wait for the server to close too.
    let mut s = within("probe connect", TcpStream::connect(&addr))
        .await
        .unwrap();
    s.shutdown().await.unwrap();
    let got = within(
        "server closes after the probe's EOF",
        read_until_closed(&mut s),
    )
    .await;
    assert!(got.is_empty());

    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial after probes", client.dial(&addr))
        .await
        .unwrap();
    echo_ok(&sess, 1).await;
    common::eventually("probe sessions are gone", || server.count_sessions() == 1).await;
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn an_absurd_heartbeat_rate_does_not_take_the_connection_down() {
    use erpc_proto::proto::{Protocol, RawProto};
    use erpc_proto::{Message, MessageType, WireConfig};
    let server = builder(local())
        .heartbeat_pong()
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    let mut out = bytes::BytesMut::new();
    for (seq, rate) in [(1, "5000000000000000000"), (2, "18446744073709551615")] {
        let mut m = Message::new(MessageType::PUSH, seq, "/heartbeat");
        m.meta.set("hb_", rate);
        RawProto
            .encode(&m, &WireConfig::default(), &mut out)
            .unwrap();
    }
    let mut call = Message::new(MessageType::CALL, 3, "/echo");
    call.body_codec = erpc_proto::CodecId::JSON;
    call.body = bytes::Bytes::from_static(b"41");
    RawProto
        .encode(&call, &WireConfig::default(), &mut out)
        .unwrap();
    s.write_all(&out).await.unwrap();
    let mut got = bytes::BytesMut::new();
    let mut buf = [0u8; 1024];
    let reply = within("the call after the heartbeats is answered", async {
        loop {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "the server dropped the connection");
            got.extend_from_slice(&buf[..n]);
            if let Some(m) = RawProto.decode(&mut got, &WireConfig::default()).unwrap() {
                return m;
            }
        }
    })
    .await;
    assert_eq!(reply.seq, 3);
    assert_eq!(&reply.body[..], b"41");
    assert_eq!(server.count_sessions(), 1);
}
