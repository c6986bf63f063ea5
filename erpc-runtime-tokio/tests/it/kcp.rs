//! The `kcp` network (feature `kcp`): a peer listening and dialing over KCP on loopback.

use erpc_runtime_tokio::Network;
use std::time::{Duration, Instant};

use crate::common::{echo_ok, within, within_for};
use erpc_runtime_tokio::{builder, CallCtx, Peer, PeerConfig, Status};

fn kcp_config() -> PeerConfig {
    PeerConfig {
        network: Network::Kcp,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

fn server() -> Peer {
    builder(kcp_config())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/string", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_and_a_large_body_over_kcp() {
    let server = server();
    let addr = server.listen().await.unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client = builder(kcp_config()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    for n in 0..20 {
        echo_ok(&sess, n).await;
    }
    // Concurrent calls on one session.
    let calls = (0..50).map(|n| {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &n).await }
    });
    let got = within("50 concurrent calls", futures_util::future::join_all(calls)).await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))));
    // 1 MiB both ways.
    let big: String = (0..1 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let t0 = Instant::now();
    let back: String = within_for(
        Duration::from_secs(120),
        "1 MiB echo",
        sess.call("/echo/string", &big),
    )
    .await
    .unwrap();
    eprintln!("kcp: 1 MiB echoed in {:?}", t0.elapsed());
    assert_eq!(back, big);
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn a_second_session_from_another_socket() {
    let server = server();
    let addr = server.listen().await.unwrap();
    let client = builder(kcp_config()).build().unwrap();
    let a = within("dial a", client.dial(&addr)).await.unwrap();
    let b = within("dial b", client.dial(&addr)).await.unwrap();
    assert_ne!(a.local_addr(), b.local_addr());
    echo_ok(&a, 1).await;
    echo_ok(&b, 2).await;
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

/// The first UDP packet Go's kcp client sent in a capture (erpc-kcp's fixtures): an FEC
/// data shard whose KCP segment opens a conversation.
fn go_first_packet() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../erpc-kcp/tests/fixtures/go-client-to-server.bin"
    );
    let bytes = std::fs::read(path).unwrap();
    let len = usize::from(u16::from_le_bytes([bytes[0], bytes[1]]));
    bytes[2..2 + len].to_vec()
}

#[tokio::test]
async fn a_silent_peer_is_found_dead_and_its_session_freed() {
    use erpc_runtime_tokio::kcp::{KcpConfig, TokioKcpListener};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut config = KcpConfig::default();
    config.silence_timeout = Duration::from_secs(1);
    let listener = TokioKcpListener::bind("127.0.0.1:0".parse().unwrap(), config, 4)
        .await
        .unwrap();
    // A "client" that sends one packet, then never answers again.
    let client = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let first = go_first_packet();
    client.send_to(&first, listener.local_addr()).await.unwrap();
    let mut stream = within("accept", listener.accept()).await.unwrap();
    assert_eq!(
        stream.conv(),
        u32::from_le_bytes(first[8..12].try_into().unwrap())
    );
    assert_eq!(stream.peer_addr(), client.local_addr().unwrap());
    // The server's bytes go out FEC-wrapped, and are never acknowledged.
    stream.write_all(b"hello").await.unwrap();
    let mut buf = [0u8; 1500];
    let n = within("a packet from the server", client.recv(&mut buf))
        .await
        .unwrap();
    assert_eq!(&buf[4..6], &0xf1u16.to_le_bytes(), "an FEC data shard");
    assert!(n > 8 + 24);
    // What the client sent is readable (Go's first eRPC frame), then end of stream once the
    // link is found dead.
    let t0 = Instant::now();
    let mut got = Vec::new();
    within_for(
        Duration::from_secs(10),
        "end of stream",
        stream.read_to_end(&mut got),
    )
    .await
    .unwrap();
    assert!(String::from_utf8_lossy(&got).contains("/math/add"));
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(500), "{waited:?}");
    // The freed session takes no more writes.
    assert!(stream.write_all(b"more").await.is_err());
}

#[tokio::test]
async fn tls_over_kcp() {
    use erpc_runtime_tokio::tls::{client_config_trusting, self_signed_server};
    // Go eRPC puts TLS on top of the KCP stream when the peer has a TLS config.
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let server = builder(kcp_config())
        .tls_server(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(kcp_config())
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .build()
        .unwrap();
    let sess = within("TLS over KCP dial", client.dial(&addr))
        .await
        .unwrap();
    echo_ok(&sess, 7).await;
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

/// Larger windows and `nodelay` on both sides (`PeerBuilder::kcp`): a 4 MiB body both ways,
/// and a peer left with kcp-go's defaults still talks to the tuned one.
#[tokio::test]
async fn tuned_kcp_parameters_between_erpc_peers() {
    let mut tuned = erpc_runtime_tokio::kcp::KcpConfig::default();
    tuned.send_window = 512;
    tuned.recv_window = 512;
    tuned.nodelay = true;
    tuned.interval_ms = 10;
    tuned.fast_resend = 2;
    tuned.congestion_control = false;
    let server = builder(kcp_config())
        .kcp(tuned.clone())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/string", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(kcp_config()).kcp(tuned).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    let big: String = (0..4 << 20)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    let t0 = Instant::now();
    let back: String = within_for(
        Duration::from_secs(120),
        "4 MiB echo",
        sess.call("/echo/string", &big),
    )
    .await
    .unwrap();
    assert!(back == big, "the 4 MiB echo differs");
    eprintln!("tuned KCP: 4 MiB echo in {:?}", t0.elapsed());

    let plain = builder(kcp_config()).build().unwrap();
    let s2 = within("dial with kcp-go's defaults", plain.dial(&addr))
        .await
        .unwrap();
    echo_ok(&s2, 7).await;

    within("client close", client.close()).await;
    within("plain close", plain.close()).await;
    within("server close", server.close()).await;
}
