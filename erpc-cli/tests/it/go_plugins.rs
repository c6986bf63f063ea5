//! Go eRPC's plugins, live against the real Go eRPC v6 peer (`erpc-go-peer`, see
//! shared/tools/go-peer/README.md): Go's conformance client with `--secure`, `--ignorecase`,
//! `--binder` and `--overload…` against `erpc serve` with the same flags, and `erpc call`
//! against Go's `server --secure` and `server --binder`. The statuses must be Go's, byte for byte.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use crate::common;
use common::go::{assert_all_passed, go_client, go_peer, go_server};
use common::{run, Server};

const KEY: &str = "0123456789abcdef";
const VERSION: &str = "4032af8d61035123906e58e067140cc5";

/// Starts `erpc serve SERVE_ARGS` and runs `erpc-go-peer client CLIENT_ARGS` against it;
/// every check must pass.
fn go_client_against_serve(serve_args: &[&str], client_args: &[&str]) -> String {
    let Some(go) = go_peer() else {
        return String::new();
    };
    let mut args = serve_args.to_vec();
    if !args.contains(&"--push-interval") {
        args.extend_from_slice(&["--push-interval", "0"]);
    }
    let s = Server::start(&args);
    let r = go_client(&go, &s.addr, client_args);
    assert_all_passed(
        &r,
        &format!("erpc serve {args:?} (server log:\n{})", s.log()),
    );
    r.stdout
}

/// The number of `ok` lines of a client report.
fn passed(report: &str) -> usize {
    report.lines().filter(|l| l.starts_with("ok ")).count()
}

// ---- secure ----

#[test]
fn go_client_secure_against_serve() {
    // secure_call, secure_accept, secure_no_accept, secure_plain, secure_wrong_key,
    // secure_bad_body (each asserts Go's exact statuses).
    let out = go_client_against_serve(
        &["--secure", KEY],
        &["--secure", KEY, "--only", "secure", "--broadcast-wait", "0"],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 6, "{out}");
        // The cause Go's server gives too (Go's JSON scanner text).
        assert!(
            out.contains(
                "msg \"unmarshal raw body error\", cause invalid character 'o' in literal null (expecting 'u')"
            ),
            "{out}"
        );
    }
}

#[test]
fn go_client_secure_code_and_pb_against_serve() {
    let out = go_client_against_serve(
        &[
            "--proto",
            "pb",
            "--secure",
            "0123456789abcdef0123456789abcdef",
            "--secure-code",
            "4242",
        ],
        &[
            "--proto",
            "pb",
            "--secure",
            "0123456789abcdef0123456789abcdef",
            "--secure-code",
            "4242",
            "--only",
            "secure,math_add,echo_string",
            "--broadcast-wait",
            "0",
        ],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 8, "{out}");
    }
}

#[test]
fn go_client_all_checks_with_secure_and_ignorecase() {
    // The base checks still pass with both plugins on: unmarked traffic is untouched.
    let out = go_client_against_serve(
        &["--secure", KEY, "--ignorecase", "--push-interval", "200ms"],
        &["--secure", KEY, "--ignorecase"],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 16 + 6 + 2, "{out}");
    }
}

#[test]
fn erpc_call_secure_against_go_server() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--secure", KEY]);
    let a = s.addr.as_str();
    // Encrypted both ways; the reply is decrypted.
    let r = run(&["call", a, "/math/add", "[10,2]", "--secure", KEY]);
    assert_eq!(r.ok(), "12\n");
    let text = r#""héllo wörld ✓ — 你好，世界 🚀""#;
    let r = run(&["call", a, "/echo/string", text, "--secure", KEY, "-v"]);
    assert_eq!(r.ok(), format!("{text}\n"));
    assert!(
        r.stderr.contains("<- REPLY") && r.stderr.contains("meta=\"X-Secure=true\""),
        "{r:#?}"
    );
    // Refusing an encrypted reply: Go replies plain.
    let r = run(&[
        "call",
        a,
        "/math/add",
        "[1,1]",
        "--secure",
        KEY,
        "--meta",
        "X-Accept-Secure=false",
        "-v",
    ]);
    assert_eq!(r.ok(), "2\n");
    assert!(
        r.stderr.contains("<- REPLY") && r.stderr.contains("meta=\"\""),
        "{r:#?}"
    );
    // Plain call asking for an encrypted reply.
    let r = run(&[
        "call",
        a,
        "/math/add",
        "[20,4]",
        "--secure",
        KEY,
        "--meta",
        "X-Secure=false",
        "--meta",
        "X-Accept-Secure=true",
    ]);
    assert_eq!(r.ok(), "24\n");
    // Another key: Go's status.
    let other = "fedcba9876543210";
    let r = run(&["call", a, "/math/add", "[10,2]", "--secure", other]);
    assert_eq!(
        r.error_line(),
        "error: 100001 decrypt ciphertext error: inconsistent encryption version, \
         get:\"9753af868b846f47baa58ebd731e43d1\", want:\"4032af8d61035123906e58e067140cc5\""
    );
    // Without the plugin, Go's encrypted reply to a hand-made Encrypt body is the vector.
    let body = format!(
        r#"{{"cipherversion":"{VERSION}","ciphertext":"b7a42adbb800e48dc7c72604dafc3594"}}"#
    );
    let r = run(&["call", a, "/math/add", &body, "--meta", "X-Secure=true"]);
    let v: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
    assert_eq!(v["cipherversion"], VERSION);
    assert_eq!(v["ciphertext"], "8b5fe807a26006af9d7a252a074c06d6");
    // A bad key length is refused before dialing.
    let r = run(&["call", a, "/math/add", "[1]", "--secure", "short"]);
    assert!(r.error_line().contains("invalid AES key size 5"), "{r:#?}");
}

/// The same hand-made bad bodies, to Go's server and to `erpc serve`: the same status lines.
#[test]
fn bad_secure_bodies_answer_as_go() {
    let Some(go) = go_peer() else { return };
    let g = go_server(&go, &["--secure", KEY]);
    let s = Server::start(&["--secure", KEY, "--push-interval", "0"]);
    let cases = [
        format!(r#"{{"cipherversion":"{VERSION}","ciphertext":"zz"}}"#),
        format!(r#"{{"cipherversion":"{VERSION}","ciphertext":"abc"}}"#),
        format!(r#"{{"cipherversion":"{VERSION}","ciphertext":"ab"}}"#),
        format!(r#"{{"cipherversion":"{VERSION}","ciphertext":""}}"#),
        format!(
            r#"{{"cipherversion":"{VERSION}","ciphertext":"{}"}}"#,
            "0".repeat(32)
        ),
        r#"{"cipherversion":"x\"y","ciphertext":"ab"}"#.to_owned(),
        "[1,2]".to_owned(),
        "12".to_owned(),
        r#"{"ciphertext":5}"#.to_owned(),
    ];
    for body in &cases {
        let go_line = run(&[
            "call",
            &g.addr,
            "/math/add",
            body,
            "--meta",
            "X-Secure=true",
        ]);
        let rs_line = run(&[
            "call",
            &s.addr,
            "/math/add",
            body,
            "--meta",
            "X-Secure=true",
        ]);
        assert_eq!(rs_line.error_line(), go_line.error_line(), "body {body}");
    }
    // The plain codec cannot carry an Encrypt, either way.
    for meta in ["X-Secure=true", "X-Accept-Secure=true"] {
        let args = |addr: &str| {
            run(&[
                "call",
                addr,
                "/echo/bytes",
                "hello",
                "--codec",
                "plain",
                "--meta",
                meta,
            ])
        };
        assert_eq!(
            args(&s.addr).error_line(),
            args(&g.addr).error_line(),
            "{meta}"
        );
    }
    // No cipherversion: the handler gets an empty body (0), encrypted back, on both.
    for addr in [&g.addr, &s.addr] {
        let r = run(&["call", addr, "/math/add", "null", "--meta", "X-Secure=true"]);
        let v: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
        assert_eq!(
            v["ciphertext"], "ea5f12602c0604d3021f787fffc92f49",
            "0, encrypted"
        );
    }
}

// ---- ignorecase ----

#[test]
fn go_client_ignorecase_against_serve() {
    let out = go_client_against_serve(
        &["--ignorecase"],
        &[
            "--ignorecase",
            "--only",
            "ignorecase",
            "--broadcast-wait",
            "0",
        ],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 2, "{out}");
    }
}

#[test]
fn erpc_call_mixed_case_on_both_servers() {
    let Some(go) = go_peer() else { return };
    let g = go_server(&go, &["--ignorecase"]);
    let s = Server::start(&["--ignorecase", "--push-interval", "0"]);
    for addr in [&g.addr, &s.addr] {
        let r = run(&["call", addr, "/Math/ADD", "[1,2,3]"]);
        assert_eq!(r.ok(), "6\n");
        let r = run(&["call", addr, "/ECHO/String", r#""KeepCase""#]);
        assert_eq!(r.ok(), "\"KeepCase\"\n");
    }
    // Without the plugin a mixed-case route is unknown, on both.
    let g = go_server(&go, &[]);
    let s = Server::start(&["--push-interval", "0"]);
    let go_line = run(&["call", &g.addr, "/Math/Add", "[1]"]);
    let rs_line = run(&["call", &s.addr, "/Math/Add", "[1]"]);
    assert_eq!(rs_line.error_line(), go_line.error_line());
}

// ---- overloader ----

const OVERLOAD: &str = "maxconn=3,qps=20,interval=1s";

#[test]
fn go_client_overload_against_serve() {
    // math_add, overload_conn (maxconn sessions work, the next is closed with nothing sent,
    // also when retried 300 ms later, and a new one works once the extras closed),
    // overload_qps and overload_handler (Go's exact statuses, the right pass counts).
    let out = go_client_against_serve(
        &["--overload", OVERLOAD, "--overload-handler", "/math/add=5"],
        &["--overload", OVERLOAD, "--overload-handler", "/math/add=5"],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 4, "{out}");
        assert!(
            out.contains("connection 4 again 300 ms later, nothing closed in between: dial ok, the first call failed"),
            "a refused connection must not free a slot (Go's leak): {out}"
        );
    }
}

#[test]
fn go_client_overload_with_ignorecase_and_route_in_spec() {
    // The route limit given inside --overload, and counted after ignorecase.
    let spec = "qps=40,interval=500ms,/math/add=6";
    let out = go_client_against_serve(
        &["--overload", spec, "--ignorecase"],
        &[
            "--overload",
            spec,
            "--ignorecase",
            "--only",
            "math_add,overload,ignorecase",
        ],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 5, "{out}");
    }
}

/// Calls `/math/add` `n` times, one connection each, and returns the first error line.
fn first_refusal(addr: &str, n: usize) -> String {
    for _ in 0..n {
        let r = run(&["call", addr, "/math/add", "[1,2]"]);
        if !r.status.success() {
            return r.error_line().to_owned();
        }
    }
    panic!("{n} calls to {addr}, none refused");
}

#[test]
fn qps_refusals_read_as_gos() {
    let Some(go) = go_peer() else { return };
    for args in [
        ["--overload", "qps=2,interval=1s"],
        ["--overload-handler", "/math/add=2"],
    ] {
        let g = go_server(&go, &args);
        let mut serve = args.to_vec();
        serve.extend_from_slice(&["--push-interval", "0"]);
        let s = Server::start(&serve);
        assert_eq!(
            first_refusal(&s.addr, 8),
            first_refusal(&g.addr, 8),
            "{args:?}"
        );
    }
}

#[test]
fn refused_connections_stay_refused_and_free_nothing() {
    use std::net::TcpStream;
    let s = Server::start(&["--overload", "maxconn=1", "--push-interval", "0"]);
    let held = TcpStream::connect(&s.addr).unwrap();
    // Once the server has counted the held connection, every call is refused.
    let refused = |r: &common::Run| {
        let line = r.error_line();
        line.contains("102") || line.contains("closed")
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = run(&["call", &s.addr, "/math/add", "[1,2]"]);
        if !r.status.success() {
            assert!(refused(&r), "{r:#?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never refused");
    }
    for _ in 0..5 {
        assert!(refused(&run(&["call", &s.addr, "/math/add", "[1,2]"])));
    }
    // The server stays responsive: once the held connection goes, a call works (and keeps
    // working: the refusals above freed no slot and took none).
    drop(held);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !run(&["call", &s.addr, "/math/add", "[1,2]"])
        .status
        .success()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the slot never came back"
        );
    }
    for _ in 0..3 {
        assert_eq!(run(&["call", &s.addr, "/math/add", "[1,2]"]).ok(), "3\n");
    }
    // And the one slot is taken again by a new held connection. (If it comes while the
    // last caller still holds the slot, it is refused itself: then hold another.)
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let other = TcpStream::connect(&s.addr).unwrap();
        let r = run(&["call", &s.addr, "/math/add", "[1,2]"]);
        if !r.status.success() {
            assert!(refused(&r), "{r:#?}");
            drop(other);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never refused again");
    }
}

#[test]
fn go_client_secure_and_ignorecase_over_every_protocol() {
    // httproto carries no PUSH: ignorecase_push is skipped there.
    for (proto, checks) in [("json", 8), ("thrift", 8), ("http", 7)] {
        let out = go_client_against_serve(
            &["--proto", proto, "--secure", KEY, "--ignorecase"],
            &[
                "--proto",
                proto,
                "--secure",
                KEY,
                "--ignorecase",
                "--only",
                "secure,ignorecase",
                "--broadcast-wait",
                "0",
            ],
        );
        if out.is_empty() {
            return;
        }
        assert_eq!(passed(&out), checks, "{proto}: {out}");
    }
}

// ---- binder ----

#[test]
fn go_client_binder_against_serve() {
    // binder_ok, binder_len, binder_range, binder_regexp, binder_nonzero, binder_stat,
    // binder_meta: Go's exact statuses for each rule.
    let out = go_client_against_serve(
        &["--binder"],
        &["--binder", "--only", "binder", "--broadcast-wait", "0"],
    );
    if !out.is_empty() {
        assert_eq!(passed(&out), 7, "{out}");
    }
}

const BIND_OK: &str = r#"{"name":"alice","age":30,"email":"alice@example.com","score":1.5}"#;

/// `erpc call ADDR /bind/check BODY --meta …` (and its `-v` status line, timing cut).
fn bind_call(addr: &str, body: &str, meta: &[&str]) -> (common::Run, String) {
    let mut args = vec!["call", addr, "/bind/check", body];
    for m in meta {
        args.extend_from_slice(&["--meta", m]);
    }
    let r = run(&args);
    args.push("-v");
    let v = run(&args);
    let status = v
        .stderr
        .lines()
        .find(|l| l.starts_with("<- status="))
        .map(|l| l.rsplit_once(" in ").map_or(l, |(s, _)| s).to_owned())
        .unwrap_or_default();
    (r, status)
}

#[test]
fn erpc_call_binder_failures_answer_as_go() {
    let Some(go) = go_peer() else { return };
    let g = go_server(&go, &["--binder"]);
    let s = Server::start(&["--binder", "--push-interval", "0"]);
    let with = |field: &str, value: &str| {
        let mut v: serde_json::Value = serde_json::from_str(BIND_OK).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    };
    let cause = |param: &str, reason: &str| {
        format!(r#"{{"handler": "/bind/check", "param": "{param}", "reason": "{reason}"}}"#)
    };
    let bad = |param: &str, reason: &str| {
        format!("error: 400 Invalid Parameter: {}", cause(param, reason))
    };
    // (body, meta, Go's line as the README lists it; None: only compared with Go's server)
    let cases: Vec<(String, Vec<&str>, Option<String>)> = vec![
        (
            with("name", r#""al""#),
            vec!["token=t0k3n", "level=3"],
            Some(bad("name", "shorter than 3: al")),
        ),
        (
            with("name", r#""alexander""#),
            vec!["token=t0k3n", "level=3"],
            Some(bad("name", "longer than 8: alexander")),
        ),
        (
            with("age", "0"),
            vec!["token=t0k3n", "level=3"],
            Some(bad("age", "smaller than 1: 0")),
        ),
        (
            with("age", "121"),
            vec!["token=t0k3n", "level=3"],
            Some(bad("age", "bigger than 120: 121")),
        ),
        (
            with("email", r#""Alice@Example.com""#),
            vec!["token=t0k3n", "level=3"],
            Some(bad(
                "email",
                "not match ^[a-z0-9._-]+@[a-z0-9.-]+$: Alice@Example.com",
            )),
        ),
        (
            with("score", "0"),
            vec!["token=t0k3n", "level=3"],
            Some(bad("score", "zero value")),
        ),
        (
            BIND_OK.to_owned(),
            vec!["level=3"],
            Some(format!(
                "error: 100401 token is required: {}",
                cause("token", "zero value")
            )),
        ),
        (
            BIND_OK.to_owned(),
            vec!["token=t0k3n", "level=12"],
            Some(bad("level", "bigger than 9: 12")),
        ),
        (
            BIND_OK.to_owned(),
            vec!["token=t0k3n", "level=abc"],
            Some(bad(
                "level",
                r#"converting type []string (\"abc\") to a int: invalid syntax"#,
            )),
        ),
        // Beyond the README: empty and out-of-range meta, negative, empty token, quoting,
        // multi-byte lengths, the first failing field wins, an empty body.
        (BIND_OK.to_owned(), vec!["token=t", "level="], None),
        (
            BIND_OK.to_owned(),
            vec!["token=t", "level=99999999999999999999"],
            None,
        ),
        (BIND_OK.to_owned(), vec!["token=t", "level=-1"], None),
        (BIND_OK.to_owned(), vec!["token=t", "level=1e2"], None),
        (BIND_OK.to_owned(), vec!["token=t", "level=+12"], None),
        (BIND_OK.to_owned(), vec!["token="], None),
        (with("name", r#""\"\\""#), vec![], None),
        (with("name", r#""\u0001x""#), vec![], None),
        (with("name", r#""ééééé""#), vec![], None),
        (with("email", r#""a@b\n""#), vec![], None),
        (with("age", "-3"), vec![], None),
        (with("score", "-0.0"), vec![], None),
        (r#"{"name":"al","age":0}"#.to_owned(), vec![], None),
        ("{}".to_owned(), vec![], None),
    ];
    for (body, meta, want) in &cases {
        let (go_r, go_status) = bind_call(&g.addr, body, meta);
        let (rs_r, rs_status) = bind_call(&s.addr, body, meta);
        let go_line = go_r.error_line();
        assert_eq!(rs_r.error_line(), go_line, "body {body} meta {meta:?}");
        assert_eq!(rs_status, go_status, "body {body} meta {meta:?}");
        if let Some(want) = want {
            assert_eq!(go_line, want, "Go's answer, body {body} meta {meta:?}");
        }
    }
    // The valid call and its reply, on both; a repeated meta key binds its first value.
    for addr in [&g.addr, &s.addr] {
        let (r, _) = bind_call(addr, BIND_OK, &["token=t0k3n", "level=3", "level=12"]);
        let v: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"name":"alice","age":30,"email":"alice@example.com","score":1.5,"token":"t0k3n","level":3})
        );
    }
}

#[test]
fn go_client_binder_with_every_plugin_and_protocol() {
    // With secure and ignorecase on too, over the other codecs' protocols.
    for (proto, checks) in [("pb", 15), ("json", 15), ("thrift", 15)] {
        let out = go_client_against_serve(
            &[
                "--proto",
                proto,
                "--binder",
                "--secure",
                KEY,
                "--ignorecase",
            ],
            &[
                "--proto",
                proto,
                "--binder",
                "--secure",
                KEY,
                "--ignorecase",
                "--only",
                "binder,secure,ignorecase",
                "--broadcast-wait",
                "0",
            ],
        );
        if out.is_empty() {
            return;
        }
        assert_eq!(passed(&out), checks, "{proto}: {out}");
    }
}

#[test]
fn binder_over_http_fails_as_gos_own() {
    // httproto carries meta as HTTP headers, whose names Go canonicalizes (`token` arrives
    // as `Token`): Go's own server then fails binder_ok and binder_meta (no `token` meta,
    // 100401). erpc serve answers the same, line for line.
    let Some(go) = go_peer() else { return };
    let args = [
        "--proto",
        "http",
        "--binder",
        "--only",
        "binder",
        "--broadcast-wait",
        "0",
    ];
    let g = go_server(&go, &["--proto", "http", "--binder"]);
    let s = Server::start(&["--proto", "http", "--binder", "--push-interval", "0"]);
    let fails = |addr: &str| -> Vec<String> {
        go_client(&go, addr, &args)
            .stdout
            .lines()
            .filter(|l| l.starts_with("FAIL ") || l.ends_with(" failed"))
            .map(str::to_owned)
            .collect()
    };
    let (go_fails, rs_fails) = (fails(&g.addr), fails(&s.addr));
    assert_eq!(rs_fails, go_fails);
    assert_eq!(
        go_fails.last().map(String::as_str),
        Some("5 passed, 2 failed")
    );
}
