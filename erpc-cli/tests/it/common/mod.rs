//! Helpers for running the real `erpc` binary: a demo server that is killed on drop, and
//! client runs bounded in time.
#![allow(dead_code, unreachable_pub)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

pub mod go;
pub mod webdriver;

/// The binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_erpc")
}

/// How long any one process may take (debug build, two shared cores, tests in parallel).
pub const LIMIT: Duration = Duration::from_secs(30);

/// A running `erpc serve`; killed (and its unix socket removed) when dropped.
pub struct Server {
    child: Child,
    /// The address clients pass: `127.0.0.1:PORT` or `unix:/path`.
    pub addr: String,
    log: Arc<Mutex<String>>,
    socket: Option<PathBuf>,
}

impl Server {
    /// Starts `erpc serve --addr 127.0.0.1:0 ARGS...` and waits until it listens.
    pub fn start(args: &[&str]) -> Server {
        Server::start_at("127.0.0.1:0", args)
    }

    /// Starts `erpc serve --addr ADDR ARGS...` and waits until it listens.
    pub fn start_at(addr: &str, args: &[&str]) -> Server {
        let mut child = Command::new(bin())
            .arg("serve")
            .arg("--addr")
            .arg(addr)
            .args(args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn erpc serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let log2 = log.clone();
        thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Logged before the address is handed over, so a test that reads the log
                // right after `start` sees the listening line.
                {
                    let mut l = log2.lock().unwrap();
                    l.push_str(&line);
                    l.push('\n');
                }
                if let Some(rest) = line.strip_prefix("erpc serve: listening on ") {
                    let addr = rest.split(' ').next().unwrap_or_default().to_owned();
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(addr);
                    }
                }
            }
        });
        let socket = addr.strip_prefix("unix:").map(PathBuf::from);
        let mut server = Server {
            child,
            addr: String::new(),
            log,
            socket,
        };
        match rx.recv_timeout(LIMIT) {
            Ok(a) => server.addr = a,
            Err(_) => panic!(
                "erpc serve did not start within {LIMIT:?}; its log:\n{}",
                server.log()
            ),
        }
        server
    }

    /// Sends SIGTERM (a graceful stop) and waits for the process to exit (bounded by
    /// [`LIMIT`]; then it is killed).
    pub fn terminate(&mut self) -> ExitStatus {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return self.child.wait().expect("wait");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// `kill -9`: the process dies at once, nothing cleaned up.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything the server wrote on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits until the server's log contains `needle` (bounded by [`LIMIT`]).
    pub fn wait_log(&self, needle: &str) {
        let deadline = Instant::now() + LIMIT;
        while !self.log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "server log never showed {needle:?}; log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(p) = &self.socket {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// What a finished client run printed.
pub struct Run {
    pub status: ExitStatus,
    /// stdout as text (invalid UTF-8 replaced); [`Run::stdout_bytes`] has it exactly.
    pub stdout: String,
    pub stdout_bytes: Vec<u8>,
    pub stderr: String,
    pub elapsed: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Run")
            .field("status", &self.status)
            .field("stdout", &self.stdout)
            .field("stdout_bytes", &self.stdout_bytes.len())
            .field("stderr", &self.stderr)
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl Run {
    /// Asserts success and returns stdout.
    pub fn ok(&self) -> &str {
        assert!(self.status.success(), "expected success: {self:#?}");
        &self.stdout
    }

    /// Asserts failure with exactly one `error: ` line on stderr and returns it.
    pub fn error_line(&self) -> &str {
        assert!(!self.status.success(), "expected failure: {self:#?}");
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "expected one stderr line: {self:#?}");
        assert!(lines[0].starts_with("error: "), "{self:#?}");
        lines[0]
    }
}

/// Kills a child on drop, so that a failed assertion never leaves one behind.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(c) = &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `erpc ARGS...` with `stdin` as its input and waits (bounded by [`LIMIT`]).
pub fn run_with_stdin(args: &[&str], stdin: &[u8]) -> Run {
    run_program(bin().as_ref(), args, stdin, LIMIT)
}

/// Runs `program ARGS...` with `stdin` as its input and waits, at most `limit` (then the
/// child is killed and the test fails).
pub fn run_program(program: &Path, args: &[&str], stdin: &[u8], limit: Duration) -> Run {
    let start = Instant::now();
    let mut child = Command::new(program)
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {}: {e}", program.display()));
    let mut input = child.stdin.take().expect("stdin");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let mut guard = KillOnDrop(Some(child));
    let data = stdin.to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_t = thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let child = guard.0.as_mut().expect("child");
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        assert!(
            start.elapsed() < limit,
            "{} {args:?} did not finish within {limit:?}",
            program.display()
        );
        thread::sleep(Duration::from_millis(10));
    };
    guard.0 = None;
    let _ = writer.join();
    let stdout_bytes = out_t.join().expect("stdout thread");
    let stdout = String::from_utf8_lossy(&stdout_bytes).into_owned();
    let stderr = String::from_utf8_lossy(&err_t.join().expect("stderr thread")).into_owned();
    Run {
        status,
        stdout,
        stdout_bytes,
        stderr,
        elapsed: start.elapsed(),
    }
}

/// Runs `erpc ARGS...` with empty stdin.
pub fn run(args: &[&str]) -> Run {
    run_with_stdin(args, b"")
}

/// A loopback address where nothing listens (a port just released).
pub fn dead_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let a = l.local_addr().expect("addr").to_string();
    drop(l);
    a
}

/// A fresh, empty directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("erpc-cli-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("temp dir");
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The output of `watch ADDR ROUTE BODY -n 2` against a server that echoes the push back and
/// also broadcasts: `echo` is one of the two lines (a broadcast may come in before it), and
/// the other is a `/push/status` broadcast.
pub fn assert_echo_among_broadcasts(out: &str, echo: &str) {
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines.contains(&echo), "no {echo:?} in {lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| *l == echo || l.starts_with("/push/status ")),
        "{lines:?}"
    );
}
