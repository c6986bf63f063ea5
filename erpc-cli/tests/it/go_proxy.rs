//! Go's plugin/proxy, live against the real Go eRPC v6 peer (`erpc-go-peer`, see
//! shared/tools/go-peer/README.md), both ways: Go's conformance client through an
//! `erpc serve --proxy-to` front to a Go upstream, and through a Go `server --proxy-to` front
//! to an `erpc serve` upstream (its `/meta/*` routes); statuses and meta as Go's.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use crate::common;
use common::go::{assert_all_passed, go_client, go_peer, go_server};
use common::{dead_addr, run, Server};

/// The lines of a client report that start with `prefix`.
fn lines<'a>(report: &'a str, prefix: &str) -> Vec<&'a str> {
    report.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn go_client_through_serve_proxy_to_go_upstream() {
    let Some(go) = go_peer() else { return };
    for proto in ["raw", "json", "pb"] {
        let upstream = go_server(&go, &["--proto", proto]);
        let front = Server::start(&[
            "--proto",
            proto,
            "--push-interval",
            "0",
            "--proxy-to",
            &upstream.addr,
        ]);
        // Every base check (the front's own routes) plus proxy_call, proxy_push (also asked
        // at the upstream directly) and proxy_not_found.
        let r = go_client(
            &go,
            &front.addr,
            &[
                "--proto",
                proto,
                "--proxy",
                "--proxy-to",
                &upstream.addr,
                "--broadcast-wait",
                "0",
            ],
        );
        assert_all_passed(
            &r,
            &format!(
                "erpc serve --proto {proto} --proxy-to (log:\n{})",
                front.log()
            ),
        );
        let ok = lines(&r.stdout, "ok proxy_");
        assert_eq!(ok.len(), 3, "{}", r.stdout);
        // The upstream saw X-Real-IP = the Go client's own address (host and port).
        let seen = lines(&r.stdout, "info proxy_call:");
        assert!(
            seen.iter().any(|l| l.contains("X-Real-IP:127.0.0.1:")),
            "{}",
            r.stdout
        );
        // Go's 404 from upstream, passed through unchanged.
        assert!(
            r.stdout
                .contains("[status query: code=404&msg=Not%20Found&cause=]"),
            "{}",
            r.stdout
        );
    }
}

#[test]
fn go_client_through_serve_proxy_with_another_upstream_protocol() {
    let Some(go) = go_peer() else { return };
    let upstream = go_server(&go, &["--proto", "json"]);
    let front = Server::start(&[
        "--push-interval",
        "0",
        "--proxy-to",
        &upstream.addr,
        "--proxy-proto",
        "json",
    ]);
    let r = go_client(&go, &front.addr, &["--proxy", "--only", "proxy"]);
    assert_all_passed(
        &r,
        &format!("erpc serve --proxy-proto json (log:\n{})", front.log()),
    );
    assert_eq!(lines(&r.stdout, "ok proxy_").len(), 3, "{}", r.stdout);
}

#[test]
fn serve_proxy_answers_bad_gateway_when_the_upstream_is_down() {
    let front = Server::start(&["--push-interval", "0", "--proxy-to", &dead_addr()]);
    let r = run(&["call", &front.addr, "/meta/echo", "1"]);
    let line = r.error_line();
    assert!(line.starts_with("error: 502 Bad Gateway: dial "), "{line}");
    // The front's own routes still answer.
    assert_eq!(
        run(&["call", &front.addr, "/math/add", "[1,2]"])
            .ok()
            .trim(),
        "3"
    );
}

#[test]
fn go_client_through_go_proxy_to_serve_upstream() {
    let Some(go) = go_peer() else { return };
    let upstream = Server::start(&["--push-interval", "0"]);
    let front = go_server(&go, &["--proxy-to", &upstream.addr]);
    let r = go_client(
        &go,
        &front.addr,
        &["--proxy", "--proxy-to", &upstream.addr, "--only", "proxy"],
    );
    assert_all_passed(
        &r,
        &format!("Go --proxy-to erpc serve (log:\n{})", upstream.log()),
    );
    assert_eq!(lines(&r.stdout, "ok proxy_").len(), 3, "{}", r.stdout);
    // And erpc call through the Go front: the meta reached erpc serve's /meta/echo, with Go's
    // X-Real-IP.
    let out = run(&[
        "call",
        &front.addr,
        "/meta/echo",
        "1",
        "--meta",
        "X-Proxy-Check=n0nce",
    ]);
    let v: serde_json::Value = serde_json::from_str(out.ok()).expect("a JSON object");
    assert_eq!(v["X-Proxy-Check"], "n0nce", "{v}");
    assert!(
        v["X-Real-IP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("127.0.0.1:")),
        "{v}"
    );
    let nf = run(&["call", &front.addr, "/no/such/route", "1"]);
    assert_eq!(nf.error_line(), "error: 404 Not Found");
}

#[test]
fn serve_meta_routes_record_the_last_push() {
    let s = Server::start(&["--push-interval", "0"]);
    let none = run(&["call", &s.addr, "/meta/last_push", "1"]);
    let v: serde_json::Value = serde_json::from_str(none.ok()).unwrap();
    assert_eq!(v["count"], 0, "{v}");
    let p = run(&[
        "push",
        &s.addr,
        "/meta/push",
        "hello",
        "--codec",
        "plain",
        "--meta",
        "k=v",
    ]);
    p.ok();
    let out = run(&["call", &s.addr, "/meta/last_push", "1"]);
    let v: serde_json::Value = serde_json::from_str(out.ok()).unwrap();
    assert_eq!(v["count"], 1, "{v}");
    assert_eq!(v["meta"]["k"], "v", "{v}");
    assert_eq!(v["body"], "hello", "{v}");
    assert_eq!(v["body_codec"], "s", "{v}");
}
