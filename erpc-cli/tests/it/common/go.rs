//! The live Go eRPC v6 peer (`erpc-go-peer`, shared/tools/go-peer/README.md): found through
//! `ERPC_GO_PEER`, started as a server that is killed on drop, or run as a client to the end.

use erpc_peer::Network;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::{run_program, Run, LIMIT};

/// How long one run of Go's conformance client may take: its heartbeat check alone idles
/// 7 s, the 4 MiB echo and the broadcast wait add more, on two shared cores.
pub const GO_CLIENT_LIMIT: Duration = Duration::from_secs(120);

/// The Go peer binary from `ERPC_GO_PEER`; `None` (after printing why) when it is not set, and
/// the test then returns early.
pub fn go_peer() -> Option<PathBuf> {
    match std::env::var_os("ERPC_GO_PEER") {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            assert!(p.is_file(), "ERPC_GO_PEER={} is not a file", p.display());
            Some(p)
        }
        _ => {
            println!("skipped: ERPC_GO_PEER is not set");
            None
        }
    }
}

/// A server process that prints `... listening on ADDR` on stderr once it accepts
/// connections; its stderr is drained on a thread, and it is killed (and waited for) on drop.
pub struct Daemon {
    child: Child,
    /// The address after the listening marker (`127.0.0.1:PORT`, or a socket path).
    pub addr: String,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts `program ARGS...` and waits (bounded by [`LIMIT`]) for the stderr line that
    /// contains `marker`; the address is the word after it.
    pub fn start(program: &Path, args: &[&str], marker: &'static str) -> Daemon {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        // Reads until the child's stderr closes: a full pipe would block the child.
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some((_, rest)) = line.split_once(marker) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut d = Daemon {
            child,
            addr: String::new(),
            log,
        };
        match rx.recv_timeout(LIMIT) {
            Ok(a) => d.addr = a,
            Err(_) => panic!(
                "{} {args:?} did not print {marker:?} within {LIMIT:?} (or exited); its log:\n{}",
                program.display(),
                d.log()
            ),
        }
        d
    }

    /// Everything the process wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `erpc-go-peer server --addr 127.0.0.1:0 --log ERROR ARGS...`.
pub fn go_server(go: &Path, args: &[&str]) -> Daemon {
    let mut all = vec!["server", "--addr", "127.0.0.1:0", "--log", "ERROR"];
    all.extend_from_slice(args);
    Daemon::start(go, &all, ": listening on ")
}

/// Go's ws server with the sub-protocol `sub`, at `/abc` with the token `tk`, broadcasting
/// `/push/status` every 200 ms.
pub fn go_ws_server(go: &Path, sub: &str) -> Daemon {
    go_server(
        go,
        &[
            "--network",
            "ws",
            "--ws-subproto",
            sub,
            "--ws-path",
            "/abc",
            "--ws-token",
            "tk",
            "--push-interval",
            "200ms",
        ],
    )
}

/// A client configuration for [`go_ws_server`]`(_, sub)`.
pub fn go_ws_client_config(sub: &str) -> erpc_peer::PeerConfig {
    erpc_peer::PeerConfig {
        network: Network::Ws,
        ws_subproto: sub.parse().expect("a ws sub-protocol"),
        ws_path: "/abc".into(),
        ws_token: "tk".into(),
        ..erpc_peer::PeerConfig::default()
    }
}

/// Runs `erpc-go-peer client --addr ADDR ARGS...` to the end (bounded by
/// [`GO_CLIENT_LIMIT`]).
pub fn go_client(go: &Path, addr: &str, args: &[&str]) -> Run {
    let mut all = vec!["client", "--addr", addr];
    all.extend_from_slice(args);
    run_program(go, &all, b"", GO_CLIENT_LIMIT)
}

/// Whether Go's client reported every check passed: exit 0 and the last line `N passed, 0
/// failed`.
pub fn all_passed(r: &Run) -> bool {
    r.status.success()
        && r.stdout
            .lines()
            .last()
            .is_some_and(|l| l.ends_with(" 0 failed"))
}

/// Panics with the client's report unless every check passed.
pub fn assert_all_passed(r: &Run, what: &str) {
    assert!(
        all_passed(r),
        "Go's client against {what}: {}\n--- stdout:\n{}\n--- stderr:\n{}",
        r.status,
        r.stdout,
        r.stderr
    );
}

/// The first `FAIL NAME: ...` line of a client report, if any.
pub fn first_failure(r: &Run) -> Option<&str> {
    r.stdout.lines().find(|l| l.starts_with("FAIL "))
}

/// Asserts `line` is a `/push/status` broadcast as `erpc watch` prints it, with the time in
/// the shape of Go's `time.Now().String()` in UTC:
/// `/push/status "this is a broadcast, server time: 2021-05-19 12:08:02.20514816 +0000 UTC m=+0.462808916"`.
pub fn assert_broadcast_line(line: &str) {
    let time = line
        .strip_prefix("/push/status \"this is a broadcast, server time: ")
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not a /push/status broadcast: {line}"));
    let (wall, mono) = time
        .split_once(" +0000 UTC m=+")
        .unwrap_or_else(|| panic!("no UTC zone and monotonic reading: {line}"));
    // 2021-05-19 12:08:02[.fraction without trailing zeros]
    let (date, frac) = wall.split_once('.').unwrap_or((wall, ""));
    assert_eq!(date.len(), 19, "{line}");
    let shape = date.bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ',
        13 | 16 => b == b':',
        _ => b.is_ascii_digit(),
    });
    assert!(shape, "{line}");
    assert!(
        frac.len() <= 9 && frac.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(!frac.ends_with('0'), "Go drops trailing zeros: {line}");
    // m=+S.NNNNNNNNN
    let (s, n) = mono.split_once('.').unwrap_or_else(|| panic!("{line}"));
    assert!(
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
    assert!(
        n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit()),
        "{line}"
    );
}
