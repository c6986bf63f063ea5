//! Live interop over KCP with the real Go eRPC v6 peer (kcp-go v5.5.12, FEC 10 + 3): Go's
//! conformance client against `erpc serve --network kcp`, `erpc call`/`watch --network kcp`
//! against Go's server, both through a loopback UDP relay that drops 10% of the packets, and a
//! 4 MiB body each way.
//!
//! Every test needs `ERPC_GO_PEER` (the binary's path) and skips without it.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::common;
use common::go::{assert_all_passed, go_client, go_peer, go_server};
use common::{bin, run, run_program, Server};

/// A UDP relay on loopback between one client and `server`, dropping `loss_percent` of the
/// datagrams each way with a seeded generator; stops when dropped.
struct LossyRelay {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    forwarded: Arc<AtomicU64>,
    dropped: Arc<AtomicU64>,
    threads: Vec<thread::JoinHandle<()>>,
}

/// xorshift64*: the same seed drops the same packets.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

impl LossyRelay {
    fn start(server: SocketAddr, loss_percent: u64, seed: u64) -> LossyRelay {
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let back = UdpSocket::bind("127.0.0.1:0").unwrap();
        back.connect(server).unwrap();
        for s in [&front, &back] {
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        }
        let addr = front.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let forwarded = Arc::new(AtomicU64::new(0));
        let dropped = Arc::new(AtomicU64::new(0));
        let client: Arc<std::sync::Mutex<Option<SocketAddr>>> = Default::default();
        let (front, back) = (Arc::new(front), Arc::new(back));
        let mut threads = Vec::new();
        for upstream in [true, false] {
            let (front, back) = (front.clone(), back.clone());
            let (stop, client) = (stop.clone(), client.clone());
            let (forwarded, dropped) = (forwarded.clone(), dropped.clone());
            let mut rng = seed.wrapping_mul(2).wrapping_add(upstream as u64).max(1);
            threads.push(thread::spawn(move || {
                let mut buf = vec![0u8; 65536];
                while !stop.load(Ordering::Relaxed) {
                    let got = if upstream {
                        front.recv_from(&mut buf).map(|(n, from)| {
                            *client.lock().unwrap() = Some(from);
                            n
                        })
                    } else {
                        back.recv(&mut buf)
                    };
                    let Ok(n) = got else { continue };
                    if next(&mut rng) % 100 < loss_percent {
                        dropped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    forwarded.fetch_add(1, Ordering::Relaxed);
                    if upstream {
                        let _ = back.send(&buf[..n]);
                    } else if let Some(to) = *client.lock().unwrap() {
                        let _ = front.send_to(&buf[..n], to);
                    }
                }
            }));
        }
        LossyRelay {
            addr,
            stop,
            forwarded,
            dropped,
            threads,
        }
    }

    fn counts(&self) -> (u64, u64) {
        (
            self.forwarded.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
        )
    }
}

impl Drop for LossyRelay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn kcp_serve() -> Server {
    Server::start(&["--network", "kcp", "--push-interval", "200ms"])
}

/// The `ok`/`FAIL` lines of a Go client report, for the test log.
fn summary(stdout: &str) -> String {
    stdout.lines().last().unwrap_or_default().to_owned()
}

#[test]
fn go_kcp_client_against_erpc_serve() {
    let Some(go) = go_peer() else { return };
    let s = kcp_serve();
    let t0 = Instant::now();
    let r = go_client(&go, &s.addr, &["--network", "kcp"]);
    assert_all_passed(&r, &format!("erpc serve --network kcp (log:\n{})", s.log()));
    println!(
        "go client over kcp: {} in {:?}",
        summary(&r.stdout),
        t0.elapsed()
    );
}

#[test]
fn go_kcp_client_4mib_against_erpc_serve() {
    let Some(go) = go_peer() else { return };
    let s = kcp_serve();
    let t0 = Instant::now();
    let r = go_client(&go, &s.addr, &["--network", "kcp", "--only", "large_4mib"]);
    assert_all_passed(&r, "erpc serve --network kcp, large_4mib");
    println!(
        "kcp: Go client's 4 MiB echo (both ways) against erpc serve: {:?}",
        t0.elapsed()
    );
}

/// `erpc ARGS... --network kcp`, with a longer limit for big bodies.
fn erpc_kcp(args: &[&str], stdin: &[u8], limit: Duration) -> common::Run {
    let mut all = args.to_vec();
    all.extend_from_slice(&["--network", "kcp"]);
    run_program(bin().as_ref(), &all, stdin, limit)
}

#[test]
fn erpc_call_and_watch_against_go_kcp_server() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--network", "kcp", "--push-interval", "200ms"]);
    let a = s.addr.as_str();
    let limit = Duration::from_secs(60);
    let r = erpc_kcp(
        &[
            "call",
            a,
            "/math/add",
            "[1,2,3,4,5]",
            "--meta",
            "author=henrylee2cn",
        ],
        b"",
        limit,
    );
    assert_eq!(r.ok(), "15\n");
    let r = erpc_kcp(
        &["call", a, "/echo/string", r#""héllo wörld ✓""#],
        b"",
        limit,
    );
    assert_eq!(r.ok(), "\"héllo wörld ✓\"\n");
    let body: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
    let r = erpc_kcp(
        &["call", a, "/echo/bytes", "-", "--codec", "plain"],
        &body,
        limit,
    );
    assert!(r.status.success(), "{}", r.stderr);
    assert!(r.stdout_bytes == body, "/echo/bytes changed the body");
    let r = erpc_kcp(&["call", a, "/err/code"], b"", limit);
    assert_eq!(r.error_line(), "error: 1001 custom error: custom cause");
    // A broadcast (every 200 ms) may come in before the echo.
    let r = erpc_kcp(
        &["watch", a, "/push/echo", r#""ping""#, "-n", "2"],
        b"",
        limit,
    );
    common::assert_echo_among_broadcasts(r.ok(), "/push/echo_back \"ping\"");
    // A KCP server learns of a session from its first data packet, so a watcher that sends
    // nothing gets no broadcast (Go's client too): push first, then take two more messages.
    let r = erpc_kcp(
        &["watch", a, "/push/echo", r#""hi""#, "-n", "3"],
        b"",
        limit,
    );
    let lines: Vec<&str> = r.ok().lines().collect();
    assert_eq!(lines.len(), 3, "{r:#?}");
    assert!(lines.contains(&"/push/echo_back \"hi\""), "{lines:?}");
    assert!(
        lines
            .iter()
            .filter(|l| l.starts_with("/push/status "))
            .count()
            >= 2,
        "{lines:?}"
    );
    // Without --network kcp the same address is a TCP port nobody listens on.
    let r = run(&["call", a, "/math/add", "[1]", "--timeout", "2s"]);
    assert!(!r.status.success());
}

#[test]
fn erpc_call_4mib_against_go_kcp_server() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--network", "kcp"]);
    let body: Vec<u8> = (0..=255u8).cycle().take(4 << 20).collect();
    let t0 = Instant::now();
    let r = erpc_kcp(
        &[
            "call",
            &s.addr,
            "/echo/bytes",
            "-",
            "--codec",
            "plain",
            "--timeout",
            "150s",
        ],
        &body,
        Duration::from_secs(160),
    );
    let took = t0.elapsed();
    assert!(r.status.success(), "{}", r.stderr);
    assert!(r.stdout_bytes == body, "4 MiB came back changed");
    println!("kcp: erpc call 4 MiB echo (both ways) against Go's server: {took:?}");
}

#[test]
fn go_kcp_client_through_a_lossy_relay() {
    let Some(go) = go_peer() else { return };
    let s = kcp_serve();
    let relay = LossyRelay::start(s.addr.parse().unwrap(), 10, 0x5eed);
    let t0 = Instant::now();
    let r = go_client(
        &go,
        &relay.addr.to_string(),
        &[
            "--network",
            "kcp",
            "--timeout",
            "60s",
            "--only",
            "math_add,echo_string,echo_bytes,err_code,not_found,slow_sleep,concurrent_100,seq_growth,push_echo",
        ],
    );
    let (fwd, drop) = relay.counts();
    assert_all_passed(
        &r,
        &format!(
            "erpc serve --network kcp through a 10% lossy relay ({fwd} forwarded, {drop} dropped)"
        ),
    );
    assert!(drop > 0, "the relay dropped nothing");
    println!(
        "kcp, 10% loss: Go client {} in {:?}; relay forwarded {fwd}, dropped {drop}",
        summary(&r.stdout),
        t0.elapsed()
    );
}

#[test]
fn erpc_calls_through_a_lossy_relay_to_go() {
    let Some(go) = go_peer() else { return };
    let s = go_server(&go, &["--network", "kcp"]);
    let relay = LossyRelay::start(s.addr.parse().unwrap(), 10, 0xfeed);
    let a = relay.addr.to_string();
    let limit = Duration::from_secs(90);
    let t0 = Instant::now();
    for i in 0..10i64 {
        let r = erpc_kcp(
            &[
                "call",
                &a,
                "/math/add",
                &format!("[{i},1]"),
                "--timeout",
                "60s",
            ],
            b"",
            limit,
        );
        assert_eq!(r.ok(), format!("{}\n", i + 1));
    }
    let body: Vec<u8> = (0..=255u8).cycle().take(256 * 1024).collect();
    let r = erpc_kcp(
        &[
            "call",
            &a,
            "/echo/bytes",
            "-",
            "--codec",
            "plain",
            "--timeout",
            "80s",
        ],
        &body,
        limit,
    );
    assert!(r.status.success(), "{}", r.stderr);
    assert!(r.stdout_bytes == body);
    let (fwd, drop) = relay.counts();
    assert!(drop > 0, "the relay dropped nothing");
    println!(
        "kcp, 10% loss: 10 erpc calls + 256 KiB echo to Go in {:?}; relay forwarded {fwd}, dropped {drop}",
        t0.elapsed()
    );
}
