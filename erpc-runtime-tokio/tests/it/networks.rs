//! Go's TCP networks (§10.4): `tcp4` and `tcp6` restrict the address family, IPv6 literals
//! listen and dial, and `:port` means localhost when dialing.

use crate::common;
use common::{echo_ok, within};
use erpc_runtime_tokio::Network;
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};

fn echo(cfg: PeerConfig) -> Peer {
    builder(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

/// Whether this machine has an IPv6 loopback. Outside CI a machine without one skips the
/// IPv6 test; under `CI=true` (whose machines have one) its absence fails the test instead of
/// passing it unseen.
fn ipv6_loopback_available() -> bool {
    let available = std::net::TcpListener::bind("[::1]:0").is_ok();
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        available || !in_ci,
        "CI=true but no IPv6 loopback (::1): the tcp6 test cannot run"
    );
    available
}

#[tokio::test]
async fn tcp6_on_the_ipv6_loopback() {
    if !ipv6_loopback_available() {
        eprintln!("no IPv6 loopback here; skipped");
        return;
    }
    let server = echo(PeerConfig {
        network: Network::Tcp6,
        local_ip: "::1".into(),
        ..PeerConfig::default()
    });
    let addr = server.listen().await.unwrap();
    assert!(addr.starts_with("[::1]:"), "{addr}");
    let client = builder(PeerConfig {
        network: Network::Tcp6,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let sess = within("dial [::1]", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 6).await;
    assert!(
        sess.local_addr().starts_with("[::1]:"),
        "{}",
        sess.local_addr()
    );

    // A tcp4 peer cannot dial an IPv6 address.
    let v4 = builder(PeerConfig {
        network: Network::Tcp4,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    let err = within("tcp4 dial to [::1]", v4.dial(&addr))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");

    for p in [&server, &client, &v4] {
        within("close", p.close()).await;
    }
}

#[tokio::test]
async fn tcp4_and_a_port_only_address() {
    let server = echo(PeerConfig {
        network: Network::Tcp4,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    });
    let addr = server.listen().await.unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let client = builder(PeerConfig {
        network: Network::Tcp4,
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    // Go's `cli.Dial(":9090")`: an empty host is localhost.
    let sess = within("dial :port", client.dial(&format!(":{port}")))
        .await
        .unwrap();
    echo_ok(&sess, 4).await;
    assert!(
        sess.remote_addr().starts_with("127.0.0.1:"),
        "{}",
        sess.remote_addr()
    );
    // The server names the session by the client's address, the client by its own.
    assert!(server.session(&sess.local_addr()).is_some());
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}

#[tokio::test]
async fn a_host_name_is_looked_up_within_the_dial_timeout() {
    let server = echo(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    });
    let addr = server.listen().await.unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let client = builder(PeerConfig {
        network: Network::Tcp4,
        dial_timeout: std::time::Duration::from_secs(5),
        ..PeerConfig::default()
    })
    .build()
    .unwrap();
    // `localhost` is a name: it is looked up on tokio's blocking pool, not on an executor
    // thread, so the dial timeout bounds it.
    let sess = within("dial localhost", client.dial(&format!("localhost:{port}")))
        .await
        .unwrap();
    echo_ok(&sess, 9).await;
}
