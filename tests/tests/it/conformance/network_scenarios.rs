//! The networks beyond tcp and unix, each between every pair of runtimes that serves it:
//! calls, a body far larger than one packet or datagram, pushes both ways.

use erpc_peer::PeerConfig;

use crate::conformance::facade::{ClientOpts, ServerOpts, BYTES};
use crate::conformance::scenarios::{client_config, server_config, Pair};

fn on_network(p: &Pair<'_>, network: &str, local_ip: &str, what: &str) {
    let (server, client, conn) = p.connect(
        ServerOpts {
            config: PeerConfig {
                network: network.parse().expect("a network name"),
                local_ip: local_ip.into(),
                ..server_config()
            },
            tls: None,
        },
        ClientOpts {
            config: PeerConfig {
                network: network.parse().expect("a network name"),
                ..client_config()
            },
            tls: None,
        },
    );
    p.add_ok(&*conn, what, &[1, 2, 3]);
    let n = conn
        .call_bytes(BYTES, vec![9u8; 300_000])
        .unwrap_or_else(|e| panic!("{}: 300 KB call over {network}: {e}", p.label()));
    assert_eq!(n, 300_000, "{}", p.label());
    p.pushes_both_ways(&*server, &*client, &*conn);
    p.shutdown(client, server);
}

/// Go's `unixpacket` (seqpacket unix sockets).
#[cfg(target_os = "linux")]
pub(crate) fn unixpacket(p: &Pair<'_>) {
    let path = std::env::temp_dir().join(format!(
        "erpc-conformance-packet-{}-{}-{}.sock",
        std::process::id(),
        p.server_name(),
        p.client_name()
    ));
    let _ = std::fs::remove_file(&path);
    on_network(
        p,
        "unixpacket",
        &path.display().to_string(),
        "call over unixpacket",
    );
    assert!(!path.exists(), "{}: the socket file is removed", p.label());
}

/// Go's `mixer/websocket` (`ws`, the json sub-protocol at `/`).
pub(crate) fn ws(p: &Pair<'_>) {
    on_network(p, "ws", "127.0.0.1", "call over ws");
}

/// Go's `kcp` (KCP over UDP with FEC 10 + 3).
pub(crate) fn kcp(p: &Pair<'_>) {
    on_network(p, "kcp", "127.0.0.1", "call over kcp");
}
