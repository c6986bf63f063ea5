//! Live interop over WebSocket with the real Go eRPC v6 peer (`mixer/websocket`): Go's
//! conformance client against `erpc serve --network ws` with each sub-protocol (json, pb, and
//! proto: the raw framing in each message) and with an access token, and `erpc call`/`watch
//! --network ws` against Go's server.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use std::time::Duration;

use crate::common;
use common::go::{assert_all_passed, go_client, go_peer, go_ws_server};
use common::{bin, run_program, Server};

/// The number in the client's last line `N passed, 0 failed`.
fn passed(stdout: &str) -> usize {
    let last = stdout.lines().last().unwrap_or_default();
    last.split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn go_ws_client_against_erpc_serve_with_each_sub_protocol() {
    let Some(go) = go_peer() else { return };
    // How many checks Go's client runs over ws per sub-protocol (its README: json and pb skip
    // the status checks, json the escape and filter ones too).
    for (sub, checks) in [("json", 11), ("pb", 14), ("proto", 16)] {
        let s = Server::start(&[
            "--network",
            "ws",
            "--ws-subproto",
            sub,
            "--ws-path",
            "/ws",
            "--push-interval",
            "200ms",
        ]);
        let r = go_client(
            &go,
            &s.addr,
            &["--network", "ws", "--ws-subproto", sub, "--ws-path", "/ws"],
        );
        assert_all_passed(
            &r,
            &format!(
                "erpc serve --network ws --ws-subproto {sub} (log:\n{})",
                s.log()
            ),
        );
        assert_eq!(passed(&r.stdout), checks, "{sub}: {}", r.stdout);
        println!(
            "go client over ws {sub}: {}",
            r.stdout.lines().last().unwrap_or_default()
        );
    }
}

#[test]
fn go_ws_client_with_a_token_against_erpc_serve() {
    let Some(go) = go_peer() else { return };
    let s = Server::start(&["--network", "ws", "--ws-token", "s3cret"]);
    let r = go_client(&go, &s.addr, &["--network", "ws", "--ws-token", "s3cret"]);
    assert_all_passed(&r, "erpc serve --network ws --ws-token");
    assert!(r.stdout.contains("ok ws_token_reject"), "{}", r.stdout);
}

/// `erpc ARGS... --network ws --ws-subproto SUB --ws-path /abc --ws-token tk`.
fn erpc_ws(sub: &str, args: &[&str], stdin: &[u8]) -> common::Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--network", "ws", "--ws-subproto", sub, "--ws-path", "/abc"]);
    if !all.contains(&"--ws-token") {
        all.extend_from_slice(&["--ws-token", "tk"]);
    }
    run_program(bin().as_ref(), &all, stdin, Duration::from_secs(60))
}

#[test]
fn erpc_call_and_watch_against_go_ws_server() {
    let Some(go) = go_peer() else { return };
    for sub in ["json", "pb", "proto"] {
        let s = go_ws_server(&go, sub);
        let a = s.addr.as_str();
        let r = erpc_ws(
            sub,
            &[
                "call",
                a,
                "/math/add",
                "[1,2,3,4,5]",
                "--meta",
                "author=henrylee2cn",
            ],
            b"",
        );
        assert_eq!(r.ok(), "15\n", "{sub}");
        let r = erpc_ws(sub, &["call", a, "/echo/string", r#""héllo wörld ✓""#], b"");
        assert_eq!(r.ok(), "\"héllo wörld ✓\"\n", "{sub}");
        // Binary bodies without `"` and `\` (Go's json sub-protocol breaks on those).
        let body: Vec<u8> = (0..=255u8)
            .filter(|b| *b != b'"' && *b != b'\\')
            .cycle()
            .take(64 * 1024)
            .collect();
        let r = erpc_ws(
            sub,
            &["call", a, "/echo/bytes", "-", "--codec", "plain"],
            &body,
        );
        assert!(r.status.success(), "{sub}: {}", r.stderr);
        assert!(
            r.stdout_bytes == body,
            "{sub}: /echo/bytes changed the body"
        );
        let big: Vec<u8> = body.iter().copied().cycle().take(4 << 20).collect();
        let r = erpc_ws(
            sub,
            &["call", a, "/echo/bytes", "-", "--codec", "plain"],
            &big,
        );
        assert!(r.status.success(), "{sub}: {}", r.stderr);
        assert!(r.stdout_bytes == big, "{sub}: the 4 MiB echo changed");
        // Go's json and pb sub-protocols carry no status: its failed call is an empty OK
        // reply there; the proto sub-protocol carries it.
        let r = erpc_ws(sub, &["call", a, "/err/code"], b"");
        if sub == "proto" {
            assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
        } else {
            assert!(r.status.success(), "{sub}: {}", r.stderr);
        }
        // The server broadcasts every 200 ms, and a broadcast may come in before the echo.
        let r = erpc_ws(
            sub,
            &["watch", a, "/push/echo", r#""ping""#, "-n", "2"],
            b"",
        );
        common::assert_echo_among_broadcasts(r.ok(), "/push/echo_back \"ping\"");
        let r = erpc_ws(sub, &["watch", a, "-n", "2"], b"");
        let lines: Vec<&str> = r.ok().lines().collect();
        assert_eq!(lines.len(), 2, "{sub}: {r:#?}");
        assert!(
            lines.iter().all(|l| l.starts_with("/push/status ")),
            "{lines:?}"
        );
        // A wrong token and another path are refused at the upgrade.
        let r = erpc_ws(
            sub,
            &["call", a, "/math/add", "[1]", "--ws-token", "bad"],
            b"",
        );
        assert!(!r.status.success());
        assert!(r.stderr.contains("403"), "{sub}: {}", r.stderr);
    }
}
