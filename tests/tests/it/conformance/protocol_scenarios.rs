//! Call, error status, unknown route, concurrent calls and pushes over every wire protocol,
//! chosen by `PeerConfig::protocol` on both sides.

use erpc_peer::{Code, PeerConfig};

use crate::conformance::facade::{nums, text, ClientOpts, ServerOpts, ADD, ECHO, ERR, NOTE};
use crate::conformance::scenarios::{client_config, server_config, Pair};

fn with_protocol(config: PeerConfig, protocol: &str) -> PeerConfig {
    PeerConfig {
        protocol: protocol.parse().expect("a protocol name"),
        // thrift-struct carries Thrift structs only.
        default_body_codec: if protocol == "thrift-struct" {
            "thrift"
        } else {
            "json"
        }
        .into(),
        ..config
    }
}

fn scenario(p: &Pair<'_>, protocol: &str) {
    let (server, client, conn) = p.connect(
        ServerOpts {
            config: with_protocol(server_config(), protocol),
            tls: None,
        },
        ClientOpts {
            config: with_protocol(client_config(), protocol),
            tls: None,
        },
    );
    p.add_ok(&*conn, "call", &[1, 2, 3, 4, 5]);

    let e = p.expect_code("error call", conn.call(ERR, &nums(&[1]), None), Code(1001));
    assert_eq!(e.msg(), "custom error", "{}", p.label());
    assert_eq!(e.cause(), Some("custom cause"), "{}", p.label());

    p.expect_code(
        "call to an unknown route",
        conn.call("/no/such", &nums(&[1]), None),
        Code::NOT_FOUND,
    );

    let results = conn.call_many(ADD, (0..100).map(|i| nums(&[i, 1])).collect());
    for (i, r) in results.iter().enumerate() {
        match r {
            Ok(s) => assert_eq!(s.sum, i as i64 + 1, "{}: call #{i}", p.label()),
            Err(e) => panic!("{}: concurrent call #{i}: {e}", p.label()),
        }
    }

    if protocol == "http" {
        // httproto cannot carry PUSH (as in Go): refused locally, on either side.
        p.expect_code(
            "client PUSH over http",
            conn.push(ECHO, &text("ping")),
            Code::WRITE_FAILED,
        );
        let sent = server.push_all(NOTE, &text("hello"));
        assert_eq!(sent.len(), 1, "{}: server sessions", p.label());
        p.expect_code(
            "server PUSH over http",
            sent.into_iter().next().unwrap(),
            Code::WRITE_FAILED,
        );
        p.add_ok(&*conn, "call after the refused pushes", &[1, 2]);
    } else {
        p.pushes_both_ways(&*server, &*client, &*conn);
    }
    p.shutdown(client, server);
}

pub(crate) fn raw(p: &Pair<'_>) {
    scenario(p, "raw");
}

pub(crate) fn json(p: &Pair<'_>) {
    scenario(p, "json");
}

pub(crate) fn protobuf(p: &Pair<'_>) {
    scenario(p, "protobuf");
}

pub(crate) fn thrift(p: &Pair<'_>) {
    scenario(p, "thrift");
}

pub(crate) fn thrift_struct(p: &Pair<'_>) {
    scenario(p, "thrift-struct");
}

pub(crate) fn http(p: &Pair<'_>) {
    scenario(p, "http");
}
