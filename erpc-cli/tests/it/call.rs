//! `erpc call` and `erpc push` against `erpc serve`, both the real binary.

use crate::common;
use std::time::Duration;

use common::{dead_addr, run, run_with_stdin, Server, TempDir};

#[test]
fn math_add_with_meta() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&[
        "call",
        &s.addr,
        "/math/add",
        "[1,2,3,4,5]",
        "--meta",
        "author=henrylee2cn",
    ]);
    assert_eq!(r.ok(), "15\n");
    assert!(r.stderr.is_empty(), "{r:#?}");
    s.wait_log("author=\"henrylee2cn\"");
}

#[test]
fn verbose_shows_header_on_stderr_only() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&["call", &s.addr, "/math/add", "[1,2]", "-v", "--meta", "k=v"]);
    assert_eq!(r.ok(), "3\n");
    assert!(r.stderr.contains("-> CALL"), "{r:#?}");
    assert!(r.stderr.contains("meta=\"k=v\""), "{r:#?}");
    assert!(r.stderr.contains("<- REPLY seq=1"), "{r:#?}");
    assert!(r.stderr.contains("status=OK"), "{r:#?}");
    assert!(r.stderr.contains("codec=json"), "{r:#?}");
}

#[test]
fn echo_routes() {
    let s = Server::start(&["--push-interval", "0"]);
    // JSON replies are pretty-printed, values untouched.
    let r = run(&["call", &s.addr, "/echo/bytes", r#"{"b":[1,2],"a":1.50}"#]);
    assert_eq!(
        r.ok(),
        "{\n  \"b\": [\n    1,\n    2\n  ],\n  \"a\": 1.50\n}\n"
    );
    let r = run(&["call", &s.addr, "/echo/string", r#""héllo""#]);
    assert_eq!(r.ok(), "\"héllo\"\n");
    // Other codecs: the body goes as raw bytes, the reply is printed as it is.
    let r = run(&[
        "call",
        &s.addr,
        "/echo/string",
        "plain text",
        "--codec",
        "plain",
    ]);
    assert_eq!(r.ok(), "plain text\n");
    let r = run(&[
        "call",
        &s.addr,
        "/echo/bytes",
        "\x01\x02",
        "--codec",
        "protobuf",
    ]);
    assert_eq!(r.ok(), "\x01\x02");
}

#[test]
fn body_from_file_and_stdin() {
    let s = Server::start(&["--push-interval", "0"]);
    let dir = TempDir::new("body");
    let f = dir.0.join("args.json");
    std::fs::write(&f, "[10, 20]\n").unwrap();
    let at = format!("@{}", f.display());
    assert_eq!(run(&["call", &s.addr, "/math/add", &at]).ok(), "30\n");
    let r = run_with_stdin(&["call", &s.addr, "/math/add", "-"], b"[7,8]");
    assert_eq!(r.ok(), "15\n");
    let r = run(&["call", &s.addr, "/math/add", "@/nonexistent/erpc-body"]);
    assert!(r.error_line().contains("cannot read the body"), "{r:#?}");
}

#[test]
fn error_status_is_one_line() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&["call", &s.addr, "/err/code"]);
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    assert!(r.stdout.is_empty());
    let r = run(&["call", &s.addr, "/no/such/route", "[1]"]);
    assert_eq!(r.error_line(), "error: 404 Not Found");
}

#[test]
fn timeout() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&[
        "call",
        &s.addr,
        "/slow/sleep",
        "20000",
        "--timeout",
        "200ms",
    ]);
    let line = r.error_line();
    assert!(line.starts_with("error: timeout: no reply from"), "{line}");
    assert!(line.contains("within 200ms"), "{line}");
    assert!(r.elapsed < Duration::from_secs(15), "{r:#?}");
    // Within its deadline the same route answers.
    let r = run(&["call", &s.addr, "/slow/sleep", "10", "--timeout", "20s"]);
    assert_eq!(r.ok(), "10\n");
}

#[test]
fn unreachable_address() {
    let addr = dead_addr();
    let r = run(&["call", &addr, "/math/add", "[1]", "--timeout", "5s"]);
    let line = r.error_line();
    assert!(
        line.starts_with(&format!("error: cannot connect to {addr}: 105 Dial Failed")),
        "{line}"
    );
}

#[test]
fn bad_input_is_refused_before_dialing() {
    let addr = dead_addr();
    let r = run(&["call", &addr, "/math/add", "[1,2"]);
    assert!(
        r.error_line()
            .starts_with("error: the body is not valid JSON"),
        "{r:#?}"
    );
    let r = run(&["call", "no-port", "/math/add"]);
    assert!(!r.status.success());
    assert!(r.stderr.contains("no port"), "{r:#?}");
    let r = run(&["call", &addr, "/math/add", "--xfer", "zstd"]);
    assert!(r.stderr.contains("unknown transfer filter"), "{r:#?}");
    let r = run(&["call", &addr, "/math/add", "--timeout", "5 parsecs"]);
    assert!(!r.status.success());
    let r = run(&["call", &addr, "/math/add", "--codec", "yaml"]);
    assert!(r.stderr.contains("unknown codec"), "{r:#?}");
}

#[test]
fn push_reaches_the_server() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&["push", &s.addr, "/push/echo", r#""ping""#]);
    r.ok();
    s.wait_log("push /push/echo received");
    let r = run(&["push", &dead_addr(), "/push/echo", "1"]);
    assert!(r.error_line().contains("105 Dial Failed"), "{r:#?}");
}

#[test]
fn transfer_filters() {
    // The server adds gzip to its replies; the call uses md5 (and gzip,md5 both ways).
    let s = Server::start(&["--push-interval", "0", "--xfer", "gzip"]);
    let r = run(&[
        "call",
        &s.addr,
        "/math/add",
        "[1,2,3]",
        "--xfer",
        "md5",
        "-v",
    ]);
    assert_eq!(r.ok(), "6\n");
    assert!(
        r.stderr
            .contains("<- REPLY seq=1 service_method=\"/math/add\" codec=json xfer=[md5,gzip]"),
        "{r:#?}"
    );
    let r = run(&[
        "call",
        &s.addr,
        "/math/add",
        "[1,2,3]",
        "--xfer",
        "gzip,md5",
    ]);
    assert_eq!(r.ok(), "6\n");
}

#[test]
fn auth_token() {
    let s = Server::start(&["--push-interval", "0", "--auth", "s3cret"]);
    let r = run(&["call", &s.addr, "/math/add", "[2,2]", "--auth", "s3cret"]);
    assert_eq!(r.ok(), "4\n");
    let r = run(&["call", &s.addr, "/math/add", "[2,2]", "--auth", "guess"]);
    let line = r.error_line();
    assert!(
        line.contains("105 Dial Failed: invalid auth token"),
        "{line}"
    );
    // The server answers the unauthenticated CALL with a 401 AUTH_REPLY, as Go's checker.
    let r = run(&["call", &s.addr, "/math/add", "[2,2]"]);
    let line = r.error_line();
    assert!(line.contains("AUTH_REPLY"), "{line}");
    assert!(line.contains("it needs --auth"), "{line}");
}

#[test]
fn a_connection_lost_mid_call_is_reported_as_such() {
    // The server broadcasts every 100 ms, so the connection has carried bytes before the
    // server dies in the middle of a slow call.
    let s = Server::start(&["--push-interval", "100ms"]);
    let addr = s.addr.clone();
    let client = std::thread::spawn(move || run(&["call", &addr, "/slow/sleep", "5000"]));
    std::thread::sleep(Duration::from_millis(600));
    drop(s);
    let r = client.join().unwrap();
    let line = r.error_line();
    assert!(
        line.contains("was lost while the call was in flight"),
        "{line}"
    );
    assert!(line.contains("the server had sent"), "{line}");
    assert!(!line.contains("does the server need"), "{line}");
}

#[test]
fn serve_shows_its_limits() {
    let r = run(&["serve", "--help"]);
    let help = r.ok();
    for flag in [
        "--max-message-size <SIZE>",
        "--max-handlers <N>",
        "--max-queued <SIZE>",
        "--write-timeout <DURATION>",
        "--auth-timeout <DURATION>",
    ] {
        assert!(help.contains(flag), "{flag} missing from:\n{help}");
    }
    assert!(help.contains("[default: 4M]"), "{help}");
    assert!(help.contains("[default: 1024]"), "{help}");
    let s = Server::start(&[
        "--push-interval",
        "0",
        "--max-handlers",
        "4",
        "--max-queued",
        "64K",
        "--write-timeout",
        "2s",
        "--max-message-size",
        "1M",
    ]);
    assert_eq!(run(&["call", &s.addr, "/math/add", "[1,2]"]).ok(), "3\n");
}

/// `erpc serve --binder`: Go's binder statuses (the Go peer's README lists them; the live
/// Go tests compare them with Go's server too).
#[test]
fn binder_statuses() {
    let s = Server::start(&["--binder", "--push-interval", "0"]);
    let ok = r#"{"name":"alice","age":30,"email":"alice@example.com","score":1.5}"#;
    let call = |body: &str, meta: &[&str]| {
        let mut args = vec!["call", s.addr.as_str(), "/bind/check", body];
        for m in meta {
            args.extend_from_slice(&["--meta", m]);
        }
        run(&args)
    };
    let r = call(ok, &["token=t0k3n", "level=3"]);
    let v: serde_json::Value = serde_json::from_str(r.ok()).unwrap();
    assert_eq!(v["token"], "t0k3n");
    assert_eq!(v["level"], 3);
    let bad = |param: &str, reason: &str| {
        format!(
            r#"error: 400 Invalid Parameter: {{"handler": "/bind/check", "param": "{param}", "reason": "{reason}"}}"#
        )
    };
    let m = ["token=t0k3n", "level=3"];
    assert_eq!(
        call(&ok.replace("alice\"", "al\""), &m).error_line(),
        bad("name", "shorter than 3: al")
    );
    assert_eq!(
        call(&ok.replace("30", "121"), &m).error_line(),
        bad("age", "bigger than 120: 121")
    );
    assert_eq!(
        call(&ok.replace("alice@", "Alice@"), &m).error_line(),
        bad(
            "email",
            "not match ^[a-z0-9._-]+@[a-z0-9.-]+$: Alice@example.com"
        )
    );
    assert_eq!(
        call(&ok.replace("1.5", "0"), &m).error_line(),
        bad("score", "zero value")
    );
    assert_eq!(
        call(ok, &["level=3"]).error_line(),
        r#"error: 100401 token is required: {"handler": "/bind/check", "param": "token", "reason": "zero value"}"#
    );
    assert_eq!(
        call(ok, &["token=t", "level=abc"]).error_line(),
        bad(
            "level",
            r#"converting type []string (\"abc\") to a int: invalid syntax"#
        )
    );
    // Without --binder the route is unknown.
    let plain = Server::start(&["--push-interval", "0"]);
    let r = run(&["call", &plain.addr, "/bind/check", ok]);
    assert!(r.error_line().starts_with("error: 404 "), "{r:#?}");
}
