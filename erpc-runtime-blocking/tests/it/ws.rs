//! The `ws` network (Go's mixer/websocket) on threads: calls and pushes with large bodies over
//! each sub-protocol, the path and token checks refusing a dial, and `wss://`.

use crate::common;
use erpc_runtime_blocking::Network;

use common::echo_ok;
use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, PushCtx, Status};

fn config(sub: &str, path: &str, token: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Ws,
        ws_subproto: sub.parse().expect("a ws sub-protocol"),
        ws_path: path.into(),
        ws_token: token.into(),
        ..common::local()
    }
}

fn echo_server(cfg: PeerConfig) -> erpc_runtime_blocking::PeerBuilder {
    builder(cfg)
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/big", |ctx: CallCtx, body: String| {
            let _ = ctx.session().push("/back", &body);
            Ok::<_, Status>(body.len())
        })
}

#[test]
fn call_and_push_over_each_sub_protocol() {
    for sub in ["json", "pb", "proto"] {
        // 1 MiB: one websocket message each way.
        common::large_bodies_both_ways(config(sub, "/ws", "tk"), config(sub, "/ws", "tk"), 1 << 20);
    }
}

#[test]
fn a_wrong_path_or_token_is_refused() {
    let server = echo_server(config("json", "/ws", "tk")).build().unwrap();
    let addr = server.listen().unwrap();
    for (path, token, code) in [("/ws", "bad", "403"), ("/other", "tk", "404")] {
        let client = builder(config("json", path, token)).build().unwrap();
        let err = client.dial(&addr).unwrap_err();
        let text = format!("{err} {:?}", err.cause());
        assert!(text.contains(code), "{path} {token}: {text}");
        common::close_all(vec![client]);
    }
    assert_eq!(server.count_sessions(), 0);
    common::close_all(vec![server]);
}

#[cfg(feature = "tls")]
#[test]
fn wss_with_a_trusted_certificate() {
    use erpc_runtime_blocking::tls::{client_config_trusting, self_signed_server};
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    let server = echo_server(config("json", "/", ""))
        .tls_server(cfg)
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(config("json", "/", ""))
        .push("/back", |_: PushCtx, _: String| {})
        .tls_client(client_config_trusting(&[cert]).unwrap(), "localhost")
        .build()
        .unwrap();
    let s = client.dial(&addr).unwrap();
    echo_ok(&s, 9);
    let len: usize = s.call_with("/big").send(&"z".repeat(300_000)).unwrap().body;
    assert_eq!(len, 300_000);
    common::close_all(vec![client, server]);
}
