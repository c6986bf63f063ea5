//! Live interop with the real Go eRPC v6 peer (`erpc-go-peer`, see
//! shared/tools/go-peer/README.md): Go's conformance client against `erpc serve`, `erpc call`
//! and `erpc watch` against Go's server, and each side's benchmark against the other's server.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use std::path::Path;

use crate::common;
use common::go::{
    all_passed, assert_all_passed, assert_broadcast_line, first_failure, go_client, go_peer,
    go_server, Daemon,
};
use common::{run, run_program, run_with_stdin, Server, TempDir, LIMIT};

// ---- Go's conformance client against `erpc serve` ----

/// Starts `erpc serve SERVE_ARGS` (broadcasting every 200 ms, well within the client's 3 s
/// `push_status` wait) and runs `erpc-go-peer client CLIENT_ARGS` against it.
fn go_client_against_serve(serve_args: &[&str], client_args: &[&str]) {
    let Some(go) = go_peer() else { return };
    let mut args = vec!["--push-interval", "200ms"];
    args.extend_from_slice(serve_args);
    let s = Server::start(&args);
    let thrift = client_args.windows(2).any(|w| w == ["--proto", "thrift"]);
    let mut r = go_client(&go, &s.addr, client_args);
    // Go's thriftproto has a data race (README "Known Go bugs": one THeaderProtocol shared by
    // the reader and the writers under different locks) that corrupts a frame now and then
    // under concurrent calls, Go against Go too, mostly during `concurrent_100`, after which
    // the later checks fail. Such a run, and only such a run, gets one rerun.
    if thrift
        && !all_passed(&r)
        && first_failure(&r).is_some_and(|l| l.starts_with("FAIL concurrent_100"))
    {
        println!(
            "thrift: Go's thriftproto race hit concurrent_100; rerunning once. First run:\n{}",
            r.stdout
        );
        r = go_client(&go, &s.addr, client_args);
    }
    assert_all_passed(
        &r,
        &format!("erpc serve {args:?} (server log:\n{})", s.log()),
    );
}

#[test]
fn go_client_raw() {
    go_client_against_serve(&["--proto", "raw"], &["--proto", "raw"]);
}

#[test]
fn go_client_json() {
    go_client_against_serve(&["--proto", "json"], &["--proto", "json"]);
}

#[test]
fn go_client_pb() {
    go_client_against_serve(&["--proto", "pb"], &["--proto", "pb"]);
}

#[test]
fn go_client_thrift() {
    go_client_against_serve(&["--proto", "thrift"], &["--proto", "thrift"]);
}

#[test]
fn go_client_http() {
    go_client_against_serve(&["--proto", "http"], &["--proto", "http"]);
}

#[test]
fn go_client_auth() {
    // Adds `auth_reject`: a Go peer with a wrong token is refused.
    go_client_against_serve(&["--auth", "t0k3n"], &["--auth", "t0k3n"]);
}

#[test]
fn go_client_heartbeat() {
    // Adds `heartbeat`: Go pings every 3 s, idles 7 s, the session must still work.
    go_client_against_serve(&["--heartbeat"], &["--heartbeat", "3s"]);
}

// The client's filters on every call and push, and the server's own appended to its replies
// and pushes (a filter the call already has is not added twice, as Go).

#[test]
fn go_client_xfer_g() {
    go_client_against_serve(&["--xfer", "md5"], &["--xfer", "g"]);
}

#[test]
fn go_client_xfer_m() {
    go_client_against_serve(&["--xfer", "gzip"], &["--xfer", "m"]);
}

#[test]
fn go_client_xfer_gm() {
    go_client_against_serve(&["--xfer", "gzip,md5"], &["--xfer", "gm"]);
}

#[test]
#[cfg(unix)]
fn go_client_unix() {
    let Some(go) = go_peer() else { return };
    let dir = TempDir::new("go-unix");
    let path = dir.0.join("erpc.sock");
    let addr = format!("unix:{}", path.display());
    let s = Server::start_at(&addr, &["--push-interval", "200ms"]);
    let path = path.to_str().expect("utf-8 temp path");
    let r = go_client(&go, path, &["--network", "unix"]);
    assert_all_passed(&r, &format!("erpc serve --addr {addr}"));
    drop(s);
}

// ---- `erpc call` / `erpc watch` against Go's server ----

/// `erpc call ADDR ARGS... --proto PROTO`.
fn call(addr: &str, proto: &str, args: &[&str]) -> common::Run {
    let mut all = vec!["call", addr];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--proto", proto]);
    run(&all)
}

/// Binary bytes, zero bytes included. Without `"` and `\`: Go's jsonproto cannot carry those
/// in a binary body (README "Known Go bugs"), and the same bytes go over every protocol.
fn binary_body(len: usize) -> Vec<u8> {
    (0..=255u8)
        .filter(|b| *b != b'"' && *b != b'\\')
        .cycle()
        .take(len)
        .collect()
}

/// The routes of Go's `server --proto PROTO`, called by `erpc call`, outputs exactly.
fn erpc_call_against_go_server(proto: &str) {
    let Some(go) = go_peer() else { return };
    let http = proto == "http";
    let mut args = vec!["--proto", proto];
    if !http {
        // Go never broadcasts on http; elsewhere the calls must ignore the broadcasts.
        args.extend_from_slice(&["--push-interval", "200ms"]);
    }
    let s = go_server(&go, &args);
    let a = s.addr.as_str();
    let r = call(
        a,
        proto,
        &["/math/add", "[1,2,3,4,5]", "--meta", "author=henrylee2cn"],
    );
    assert_eq!(r.ok(), "15\n", "{proto}");
    let text = r#""héllo wörld ✓ — 你好，世界 🚀""#;
    let r = call(a, proto, &["/echo/string", text]);
    assert_eq!(r.ok(), format!("{text}\n"), "{proto}");
    // Plain codec: the bytes unchanged, never decoded.
    let body = binary_body(64 * 1024);
    let mut all = vec!["call", a, "/echo/bytes", "-", "--codec", "plain"];
    all.extend_from_slice(&["--proto", proto]);
    let r = run_with_stdin(&all, &body);
    assert!(r.status.success(), "{proto}: {}", r.stderr);
    assert!(
        r.stdout_bytes == body,
        "{proto}: /echo/bytes changed the body"
    );
    let r = call(
        a,
        proto,
        &["/echo/bytes", "plain text", "--codec", "plain", "-v"],
    );
    assert_eq!(r.ok(), "plain text\n", "{proto}");
    assert!(r.stderr.contains(" codec=plain "), "{proto}: {r:#?}");
    let r = call(a, proto, &["/err/code"]);
    assert_eq!(
        r.error_line(),
        "error: 1001 custom error: custom cause",
        "{proto}"
    );
    let r = call(a, proto, &["/no/such/route", "[1]"]);
    assert_eq!(r.error_line(), "error: 404 Not Found", "{proto}");
    let r = call(a, proto, &["/slow/sleep", "50"]);
    assert_eq!(r.ok(), "50\n", "{proto}");
    // The call's gzip filter, reused by Go's reply (the only filter http carries).
    let r = call(a, proto, &["/math/add", "[1,2]", "--xfer", "gzip", "-v"]);
    assert_eq!(r.ok(), "3\n", "{proto}");
    assert!(r.stderr.contains(" xfer=[gzip] "), "{proto}: {r:#?}");
    if http {
        return;
    }
    let r = call(a, proto, &["/math/add", "[1,2]", "--xfer", "md5,gzip"]);
    assert_eq!(r.ok(), "3\n", "{proto}");
    // Pushes both ways: /push/echo comes back at /push/echo_back, and Go's broadcast.
    let r = run(&[
        "watch",
        a,
        "/push/echo",
        r#""ping""#,
        "-n",
        "1",
        "--proto",
        proto,
    ]);
    assert_eq!(r.ok(), "/push/echo_back \"ping\"\n", "{proto}");
    let r = run(&["watch", a, "-n", "2", "--proto", proto]);
    let out = r.ok();
    assert_eq!(out.lines().count(), 2, "{proto}: {r:#?}");
    out.lines().for_each(assert_broadcast_line);
}

#[test]
fn erpc_call_go_server_raw() {
    erpc_call_against_go_server("raw");
}

#[test]
fn erpc_call_go_server_json() {
    erpc_call_against_go_server("json");
}

#[test]
fn erpc_call_go_server_pb() {
    erpc_call_against_go_server("pb");
}

#[test]
fn erpc_call_go_server_thrift() {
    erpc_call_against_go_server("thrift");
}

#[test]
fn erpc_call_go_server_http() {
    erpc_call_against_go_server("http");
}

/// The filters a reply from Go's `server --xfer SERVER` carries for a call with `call`'s:
/// the call's own, then the server's that the call does not have.
fn go_reply_xfer(call: &[&str], server: &[&str]) -> String {
    let mut ids: Vec<&str> = call.to_vec();
    ids.extend(server.iter().filter(|s| !call.contains(s)));
    format!(" xfer=[{}] ", ids.join(","))
}

#[test]
fn erpc_call_go_server_xfer() {
    let Some(go) = go_peer() else { return };
    for (flag, server) in [
        ("g", &["gzip"][..]),
        ("m", &["md5"][..]),
        ("gm", &["gzip", "md5"][..]),
    ] {
        let s = go_server(&go, &["--xfer", flag]);
        for call_xfer in [
            &[][..],
            &["gzip"],
            &["md5"],
            &["gzip", "md5"],
            &["md5", "gzip"],
        ] {
            let joined = call_xfer.join(",");
            let mut args = vec!["call", &s.addr, "/math/add", "[1,2,3]", "-v"];
            if !call_xfer.is_empty() {
                args.extend_from_slice(&["--xfer", &joined]);
            }
            let r = run(&args);
            assert_eq!(r.ok(), "6\n", "server --xfer {flag}, call --xfer {joined}");
            let want = go_reply_xfer(call_xfer, server);
            assert!(
                r.stderr.contains(&want),
                "server --xfer {flag}, call --xfer {joined}: want {want:?}: {r:#?}"
            );
        }
        // Go's pushes carry its filters too.
        let r = run(&["watch", &s.addr, "/push/echo", r#""ping""#, "-n", "1"]);
        assert_eq!(r.ok(), "/push/echo_back \"ping\"\n", "server --xfer {flag}");
    }
}

#[test]
fn erpc_call_go_server_auth() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--auth", "s3cret", "--push-interval", "200ms"]);
    let r = run(&["call", &s.addr, "/math/add", "[2,2]", "--auth", "s3cret"]);
    assert_eq!(r.ok(), "4\n");
    let r = run(&["call", &s.addr, "/math/add", "[2,2]", "--auth", "guess"]);
    assert_eq!(
        r.error_line(),
        format!(
            "error: cannot connect to {}: 105 Dial Failed: invalid auth token",
            s.addr
        )
    );
    // Go answers a first CALL with a 401 AUTH_REPLY and closes.
    let r = run(&["call", &s.addr, "/math/add", "[2,2]"]);
    let line = r.error_line();
    assert!(line.contains("AUTH_REPLY"), "{line}");
    assert!(line.contains("it needs --auth"), "{line}");
    let r = run(&["watch", &s.addr, "-n", "1", "--auth", "s3cret"]);
    assert_broadcast_line(r.ok().trim_end());
}

#[test]
#[cfg(unix)]
fn erpc_call_go_server_unix() {
    let Some(go) = go_peer() else { return };
    let dir = TempDir::new("go-server-unix");
    let path = dir.0.join("go.sock");
    let path = path.to_str().expect("utf-8 temp path");
    let s = Daemon::start(
        &go,
        &[
            "server",
            "--addr",
            path,
            "--network",
            "unix",
            "--log",
            "ERROR",
            "--push-interval",
            "200ms",
        ],
        ": listening on ",
    );
    assert_eq!(s.addr, path);
    let addr = format!("unix:{path}");
    assert_eq!(
        run(&["call", &addr, "/math/add", "[1,2,3,4,5]"]).ok(),
        "15\n"
    );
    let r = run(&["call", &addr, "/err/code"]);
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    // The server broadcasts: one may come in before the echo.
    let r = run(&["watch", &addr, "/push/echo", r#""ping""#, "-n", "2"]);
    common::assert_echo_among_broadcasts(r.ok(), "/push/echo_back \"ping\"");
    drop(s);
}

// ---- the benchmark, each side against the other's server ----

/// Asserts a benchmark's JSON line: `total` calls of 581 bytes, none failed.
fn assert_bench(r: &common::Run, total: u64, what: &str) {
    assert!(r.status.success(), "{what}: {r:#?}");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim())
        .unwrap_or_else(|e| panic!("{what}: not one JSON line ({e}): {r:#?}"));
    assert_eq!(v["errors"], 0, "{what}: {r:#?}");
    assert_eq!(v["total"], total, "{what}: {r:#?}");
    assert_eq!(v["bytes"], 581, "{what}: {r:#?}");
}

/// Concurrency and calls per protocol. Not json: Go's jsonproto cannot carry the binary
/// protobuf bodies of the benchmark (README "Known Go bugs", Go against Go fails the first
/// call). Thrift one call at a time: under concurrent calls Go's thriftproto race corrupts a
/// frame now and then (Go against Go too); sequential calls never hit it.
const BENCH_PROTOS: [(&str, &str, &str); 4] = [
    ("raw", "20", "2000"),
    ("pb", "20", "2000"),
    ("http", "20", "2000"),
    ("thrift", "1", "500"),
];

#[test]
fn erpc_bench_against_go_bench_server() {
    let Some(go) = go_peer() else { return };
    for (proto, c, n) in BENCH_PROTOS {
        let s = Daemon::start(
            &go,
            &["bench-server", "--addr", "127.0.0.1:0", "--proto", proto],
            ": listening on ",
        );
        for payload in ["proto", "bytes"] {
            let r = run(&[
                "bench",
                "--addr",
                &s.addr,
                "--proto",
                proto,
                "--payload",
                payload,
                "-c",
                c,
                "-n",
                n,
                "--threads",
                "2",
            ]);
            assert_bench(&r, n.parse().unwrap(), &format!("{proto} {payload}"));
        }
    }
}

#[test]
fn go_bench_against_erpc_bench_server() {
    let Some(go) = go_peer() else { return };
    let erpc = Path::new(common::bin());
    for (proto, c, n) in BENCH_PROTOS {
        let s = Daemon::start(
            erpc,
            &[
                "bench-server",
                "--addr",
                "127.0.0.1:0",
                "--proto",
                proto,
                "--threads",
                "2",
            ],
            "bench-server listening on ",
        );
        for payload in ["proto", "bytes"] {
            let r = run_program(
                &go,
                &[
                    "bench",
                    "--addr",
                    &s.addr,
                    "--proto",
                    proto,
                    "--payload",
                    payload,
                    "-c",
                    c,
                    "-n",
                    n,
                ],
                b"",
                LIMIT,
            );
            assert_bench(&r, n.parse().unwrap(), &format!("{proto} {payload}"));
        }
    }
}
