//! `erpc watch`: pushes from `erpc serve`, one line each.

use crate::common;
use common::{dead_addr, run, Server};

#[test]
fn push_echo_comes_back() {
    let s = Server::start(&["--push-interval", "0"]);
    let r = run(&["watch", &s.addr, "/push/echo", r#""hello""#, "--count", "1"]);
    assert_eq!(r.ok(), "/push/echo_back \"hello\"\n");
    // With another codec and a filter on the server's pushes.
    let s = Server::start(&["--push-interval", "0", "--xfer", "gzip"]);
    let r = run(&[
        "watch",
        &s.addr,
        "/push/echo",
        "two words",
        "--codec",
        "plain",
        "-n",
        "1",
        "-v",
    ]);
    assert_eq!(r.ok(), "/push/echo_back two words\n");
    assert!(r.stderr.contains("<- PUSH"), "{r:#?}");
    assert!(r.stderr.contains("codec=plain"), "{r:#?}");
}

#[test]
fn broadcast_status() {
    let s = Server::start(&["--push-interval", "100ms"]);
    let r = run(&["watch", &s.addr, "-n", "2"]);
    let out = r.ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{r:#?}");
    for l in lines {
        // The same text as Go's server broadcasts (go_interop checks it against the real one).
        common::go::assert_broadcast_line(l);
    }
}

#[test]
fn server_going_away_ends_the_watch() {
    let s = Server::start(&["--push-interval", "0"]);
    let addr = s.addr.clone();
    // The watcher pushes once it is connected; the server logs that push.
    let watcher = std::thread::spawn(move || run(&["watch", &addr, "/push/echo", "1"]));
    s.wait_log("push /push/echo received");
    drop(s); // kills the server
    let r = watcher.join().unwrap();
    let line = r.error_line();
    assert!(line.contains("closed by the server"), "{line}");
}

#[test]
fn unreachable() {
    let r = run(&["watch", &dead_addr()]);
    assert!(r.error_line().contains("105 Dial Failed"), "{r:#?}");
}
