//! Graceful reboot of `erpc serve --reboot` (Go eRPC's `LISTEN_FDS` hand-over): a real
//! process re-executes itself on SIGUSR2, the new one takes the listener over, the old one
//! drains and exits; against it, callers of this test and the Go peer's `reboot` check.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::go::{assert_all_passed, go_client, go_peer};
use crate::common::{run, Server, TempDir, LIMIT};

/// The pid `erpc serve --pid-file` wrote (waits until the file names a pid other than
/// `not`).
fn pid_in(file: &Path, not: Option<u32>) -> u32 {
    let deadline = Instant::now() + LIMIT;
    loop {
        if let Some(p) = std::fs::read_to_string(file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .filter(|p| Some(*p) != not)
        {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "no new pid in {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(sig: &str, pid: u32) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
}

fn alive(pid: u32) -> bool {
    // A zombie (exited, not yet reaped by the test's `Server`) counts as gone.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.split(") ").nth(1).unwrap_or("").starts_with('Z'))
        .unwrap_or(false)
}

/// Stops the generation a reboot started (the test's `Server` only knows the first).
struct Last(PathBuf);

impl Drop for Last {
    fn drop(&mut self) {
        if let Some(p) = std::fs::read_to_string(&self.0)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            signal("TERM", p);
        }
    }
}

/// Starts `erpc serve --reboot --pid-file` at `addr`; returns it, its pid file and the
/// guard that stops the last generation.
fn start(dir: &TempDir, addr: &str) -> (Server, PathBuf, Last) {
    start_with(dir, addr, &[])
}

fn start_with(dir: &TempDir, addr: &str, extra: &[&str]) -> (Server, PathBuf, Last) {
    let pid_file = dir.0.join("serve.pid");
    let pf = pid_file.to_str().unwrap().to_owned();
    let mut args = vec!["--reboot", "--pid-file", &pf, "--push-interval", "0"];
    args.extend_from_slice(extra);
    let s = Server::start_at(addr, &args);
    let last = Last(pid_file.clone());
    (s, pid_file, last)
}

/// Reboots the server whose pid is in `pid_file`: returns the new pid once the old
/// process has exited.
fn reboot(pid_file: &Path) -> u32 {
    let old = pid_in(pid_file, None);
    signal("USR2", old);
    let new = pid_in(pid_file, Some(old));
    let deadline = Instant::now() + LIMIT;
    while alive(old) {
        assert!(
            Instant::now() < deadline,
            "the old process {old} did not exit"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    new
}

#[test]
fn reboot_keeps_the_port_and_serves_on() {
    let dir = TempDir::new("reboot-port");
    let (mut s, pid_file, _last) = start(&dir, "127.0.0.1:0");
    assert_eq!(
        run(&["call", &s.addr, "/math/add", "[1,2]"]).ok().trim(),
        "3"
    );
    let first = pid_in(&pid_file, None);
    // Twice: the second generation hands over what it inherited.
    let second = reboot(&pid_file);
    assert_ne!(first, second);
    assert_eq!(
        run(&["call", &s.addr, "/math/add", "[3,4]"]).ok().trim(),
        "7"
    );
    let third = reboot(&pid_file);
    assert_ne!(second, third);
    assert_eq!(
        run(&["call", &s.addr, "/math/add", "[5,6]"]).ok().trim(),
        "11"
    );
    // The first generation exited 0 after its drain.
    assert!(s.terminate().success(), "{}", s.log());
    let log = s.log();
    assert!(
        log.contains(&format!("rebooted into pid {second}")),
        "{log}"
    );
    assert!(
        log.contains("serving the listener inherited from the previous process"),
        "{log}"
    );
}

#[test]
fn reboot_hands_over_a_unix_socket() {
    let dir = TempDir::new("reboot-unix");
    let sock = dir.0.join("s.sock");
    let addr = format!("unix:{}", sock.display());
    let (_s, pid_file, _last) = start(&dir, &addr);
    assert_eq!(run(&["call", &addr, "/math/add", "[1,2]"]).ok().trim(), "3");
    reboot(&pid_file);
    // The old process left the socket file to the new one.
    assert!(sock.exists());
    assert_eq!(run(&["call", &addr, "/math/add", "[2,2]"]).ok().trim(), "4");
}

/// 100 callers, each on its own session (redial on), call without pause through a reboot:
/// none fails, and the new process serves calls before the old one exits.
#[test]
fn reboot_under_load_loses_no_call() {
    let dir = TempDir::new("reboot-load");
    let (_s, pid_file, _last) = start(&dir, "127.0.0.1:0");
    let addr = _s.addr.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ok = Arc::new(AtomicU64::new(0));
    let failures: Arc<Mutex<Vec<String>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let peer = rt.block_on(async {
        let cfg = erpc_peer::PeerConfig {
            redial_times: 50,
            redial_interval: Duration::from_millis(20),
            ..Default::default()
        };
        erpc_runtime_tokio::builder(cfg).build().unwrap()
    });
    let mut tasks = Vec::new();
    for i in 0..100u64 {
        let (peer, addr, ok, failures, stop) = (
            peer.clone(),
            addr.clone(),
            ok.clone(),
            failures.clone(),
            stop.clone(),
        );
        tasks.push(rt.spawn(async move {
            let session = match peer.dial(&addr).await {
                Ok(s) => s,
                Err(e) => {
                    failures.lock().unwrap().push(format!("dial: {e}"));
                    return;
                }
            };
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                match session.call::<_, u64>("/math/add", &[i, n]).await {
                    Ok(v) if v == i + n => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(v) => failures.lock().unwrap().push(format!("{i}+{n} = {v}?")),
                    Err(e) => failures.lock().unwrap().push(format!("caller {i}: {e}")),
                }
                n += 1;
            }
        }));
    }
    let wait_calls = |at_least: u64| {
        let deadline = Instant::now() + LIMIT;
        while ok.load(Ordering::Relaxed) < at_least {
            assert!(Instant::now() < deadline, "callers stalled at {ok:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    };
    wait_calls(2_000);
    let before = ok.load(Ordering::Relaxed);
    let mut after_reboot = before;
    // Three generations in a row; calls go on against each new process.
    for _ in 0..3 {
        let t = Instant::now();
        reboot(&pid_file);
        println!(
            "reboot under load: old process gone {:?} after SIGUSR2",
            t.elapsed()
        );
        after_reboot = ok.load(Ordering::Relaxed);
        wait_calls(after_reboot + 2_000);
    }
    stop.store(true, Ordering::Relaxed);
    rt.block_on(async {
        for t in tasks {
            t.await.unwrap();
        }
    });
    let failures = failures.lock().unwrap();
    println!(
        "reboot under load: {} calls ok ({before} before the first reboot, {} until the last old process was gone), {} failed",
        ok.load(Ordering::Relaxed),
        after_reboot - before,
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{} failed calls of {} (first: {:?}); {before} before the reboot",
        failures.len(),
        ok.load(Ordering::Relaxed) + failures.len() as u64,
        &failures[..failures.len().min(5)]
    );
}

/// The Go peer's `reboot` check (a call in flight replies OK across the reboot, the old
/// process closes its sessions and exits, a new connection + call every 25 ms never fails)
/// against `erpc serve --reboot`.
#[test]
fn go_client_reboot_check_against_serve() {
    let Some(go) = go_peer() else { return };
    let dir = TempDir::new("reboot-go");
    let (s, pid_file, _last) = start(&dir, "127.0.0.1:0");
    let pid = pid_in(&pid_file, None);
    let r = go_client(
        &go,
        &s.addr,
        &["--only", "reboot", "--reboot-pid", &pid.to_string()],
    );
    assert_all_passed(&r, &format!("erpc serve --reboot (log:\n{})", s.log()));
    assert!(r.stdout.contains("ok reboot"), "{}", r.stdout);
}

/// Over the `ws` network too (Go reboots tcp and ws): the websocket listener is handed over,
/// and the Go peer's check passes over ws.
#[test]
fn reboot_over_ws() {
    let dir = TempDir::new("reboot-ws");
    let (s, pid_file, _last) = start_with(&dir, "127.0.0.1:0", &["--network", "ws"]);
    let call = |n: &str| {
        run(&["call", "--network", "ws", &s.addr, "/math/add", n])
            .ok()
            .trim()
            .to_owned()
    };
    assert_eq!(call("[1,2]"), "3");
    reboot(&pid_file);
    assert_eq!(call("[2,3]"), "5");
    if let Some(go) = go_peer() {
        let pid = pid_in(&pid_file, None);
        let r = go_client(
            &go,
            &s.addr,
            &[
                "--network",
                "ws",
                "--only",
                "reboot",
                "--reboot-pid",
                &pid.to_string(),
            ],
        );
        assert_all_passed(
            &r,
            &format!("erpc serve --network ws --reboot (log:\n{})", s.log()),
        );
    }
}
