//! `erpc serve` and `erpc call` over unix sockets, TLS and every protocol.

use crate::common;
use common::{run, Server, TempDir};

#[test]
#[cfg(unix)]
fn unix_socket() {
    let dir = TempDir::new("unix");
    let addr = format!("unix:{}", dir.0.join("erpc.sock").display());
    let s = Server::start_at(&addr, &["--push-interval", "0"]);
    assert_eq!(s.addr, addr);
    let r = run(&["call", &addr, "/math/add", "[1,2,3,4,5]"]);
    assert_eq!(r.ok(), "15\n");
    let r = run(&["call", &addr, "/echo/string", r#""over unix""#]);
    assert_eq!(r.ok(), "\"over unix\"\n");
}

#[test]
#[cfg(all(feature = "unixpacket", target_os = "linux"))]
fn unixpacket_socket() {
    let dir = TempDir::new("unixpacket");
    let addr = format!("unix:{}", dir.0.join("erpc.sock").display());
    let s = Server::start_at(&addr, &["--push-interval", "0", "--network", "unixpacket"]);
    assert_eq!(s.addr, addr);
    let r = run(&[
        "call",
        "--network",
        "unixpacket",
        &addr,
        "/math/add",
        "[1,2,3,4,5]",
    ]);
    assert_eq!(r.ok(), "15\n");
    // A body of 100 KiB (an argument may hold at most 128 KiB): a hundred packets.
    let long = "x".repeat(100 << 10);
    let body = format!("\"{long}\"");
    let r = run(&[
        "call",
        "--network",
        "unixpacket",
        &addr,
        "/echo/string",
        &body,
    ]);
    assert_eq!(r.ok(), format!("{body}\n"));
    // A stream client to the seqpacket server: a clear dial error.
    let r = run(&["call", &addr, "/math/add", "[1]"]);
    assert!(
        r.error_line().contains("105 Dial Failed"),
        "{}",
        r.error_line()
    );
}

#[test]
fn tls_self_signed() {
    let s = Server::start(&["--push-interval", "0", "--tls-self-signed"]);
    let r = run(&["call", &s.addr, "/math/add", "[1,2,3,4,5]", "--insecure"]);
    assert_eq!(r.ok(), "15\n");
    let r = run(&[
        "call",
        &s.addr,
        "/err/code",
        "--insecure",
        "--tls-name",
        "localhost",
    ]);
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    // The certificate is not trusted without --insecure (nor by the system).
    let r = run(&["call", &s.addr, "/math/add", "[1]", "--tls"]);
    let line = r.error_line();
    assert!(line.contains("105 Dial Failed"), "{line}");
    // Plain text to a TLS server: one clear line, too.
    let r = run(&["call", &s.addr, "/math/add", "[1]", "--timeout", "5s"]);
    r.error_line();
}

#[test]
fn wss_self_signed() {
    // TLS under the websocket: `erpc serve --network ws --tls-self-signed` is `wss://`.
    let s = Server::start(&[
        "--push-interval",
        "0",
        "--network",
        "ws",
        "--tls-self-signed",
    ]);
    let r = run(&[
        "call",
        &s.addr,
        "/math/add",
        "[1,2,3]",
        "--network",
        "ws",
        "--insecure",
    ]);
    assert_eq!(r.ok(), "6\n");
    let r = run(&[
        "call",
        &s.addr,
        "/err/code",
        "--network",
        "ws",
        "--insecure",
    ]);
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    // A plain ws:// dial to it fails with one clear line.
    let r = run(&["call", &s.addr, "/math/add", "[1]", "--network", "ws"]);
    assert!(r.error_line().contains("105 Dial Failed"), "{r:?}");
}

#[test]
fn every_protocol() {
    for proto in ["raw", "json", "pb", "thrift", "http"] {
        let s = Server::start(&["--push-interval", "0", "--proto", proto]);
        let r = run(&[
            "call",
            &s.addr,
            "/math/add",
            "[1,2,3,4,5]",
            "--proto",
            proto,
            "--meta",
            "author=x",
        ]);
        assert_eq!(r.ok(), "15\n", "proto {proto}");
        let r = run(&["call", &s.addr, "/err/code", "--proto", proto]);
        assert_eq!(
            r.error_line(),
            "error: 1001 custom error: custom cause",
            "proto {proto}"
        );
        let r = run(&[
            "call",
            &s.addr,
            "/math/add",
            "[1,2]",
            "--proto",
            proto,
            "--xfer",
            "gzip",
        ]);
        assert_eq!(r.ok(), "3\n", "proto {proto}");
    }
}

#[test]
fn protocol_limits_are_clear_errors() {
    let r = run(&["push", "127.0.0.1:9", "/push/echo", "1", "--proto", "http"]);
    assert!(
        r.error_line().contains("httproto cannot carry a PUSH"),
        "{r:#?}"
    );
    let r = run(&[
        "call",
        "127.0.0.1:9",
        "/math/add",
        "--proto",
        "http",
        "--xfer",
        "md5",
    ]);
    assert!(r.error_line().contains("only the gzip filter"), "{r:#?}");
}

#[test]
#[cfg(feature = "quic")]
fn quic_serve_call_push_watch() {
    let s = Server::start(&[
        "--push-interval",
        "0",
        "--network",
        "quic",
        "--tls-self-signed",
    ]);
    let q = ["--network", "quic", "--insecure"];
    let r = run(&[&["call", &s.addr, "/math/add", "[1,2,3,4,5]"][..], &q].concat());
    assert_eq!(r.ok(), "15\n");
    let r = run(&[&["call", &s.addr, "/err/code"][..], &q].concat());
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    let r = run(&[&["push", &s.addr, "/push/echo", r#""ping""#][..], &q].concat());
    r.ok();
    s.wait_log("push /push/echo received");
    // The server's push back to the watcher, on the stream the watcher's push opened.
    let r = run(&[
        &["watch", &s.addr, "/push/echo", r#""hello""#, "-n", "1"][..],
        &q,
    ]
    .concat());
    assert_eq!(r.ok(), "/push/echo_back \"hello\"\n");
    // QUIC needs TLS: without a TLS flag, one clear line on either side.
    let r = run(&["call", &s.addr, "/math/add", "[1]", "--network", "quic"]);
    assert!(r.error_line().contains("needs TLS"), "{r:#?}");
    let r = run(&["serve", "--addr", "127.0.0.1:0", "--network", "quic"]);
    assert!(r.error_line().contains("needs TLS"), "{r:#?}");
    // The certificate is not trusted without --insecure.
    let r = run(&[
        "call",
        &s.addr,
        "/math/add",
        "[1]",
        "--network",
        "quic",
        "--tls",
    ]);
    assert!(r.error_line().contains("105 Dial Failed"), "{r:#?}");
}
