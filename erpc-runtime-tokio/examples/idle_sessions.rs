//! Memory of idle sessions: one server peer holds N (default 10 000) idle sessions dialed by
//! one client peer, and the server process reports its resident memory before and after.
//!
//! ```text
//! cargo run --release -p erpc-runtime-tokio --example idle_sessions            # 10 000
//! cargo run --release -p erpc-runtime-tokio --example idle_sessions -- 2000
//! ```
//!
//! The client runs in a child process (this same program, `client ADDR N`), so the server's
//! numbers are its own and each process needs only N descriptors plus a few. The program
//! raises its soft `RLIMIT_NOFILE` to the hard limit; if the hard limit is below N + 100, run
//! `ulimit -n 20000` (or more) first. Linux only (reads `/proc/self/status`).
//!
//! The client makes one call on each session, all at the same time, before the sessions go
//! idle. With glibc's allocator its resident memory then keeps part of that burst's peak
//! (the freed memory stays in the allocator's caches, below chunks its per-thread caches
//! hold, so it cannot be given back): `IDLE_SESSIONS_CALL_WAVE=256` makes the calls 256 at
//! a time instead (as the dials are), which measures what the idle sessions themselves
//! hold.
//!
//! `IDLE_SESSIONS_CLIENT_WRAP` runs the client under a tool, to see where its memory goes:
//! `IDLE_SESSIONS_CLIENT_WRAP=heaptrack cargo run --release -p erpc-runtime-tokio --example
//! idle_sessions` (the words of the variable come before the client's command).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

/// A `/proc/self/status` field of this process, in KiB (`VmRSS`: resident, `VmSize`: virtual).
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    status_kib("VmRSS:")
}

/// Raises the soft descriptor limit to the hard one; returns the new soft limit (`u64::MAX`:
/// unlimited).
#[cfg(unix)]
fn raise_nofile() -> u64 {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let lim = getrlimit(Resource::Nofile);
    let (cur, max) = (
        lim.current.unwrap_or(u64::MAX),
        lim.maximum.unwrap_or(u64::MAX),
    );
    if cur < max
        && setrlimit(
            Resource::Nofile,
            Rlimit {
                current: lim.maximum,
                maximum: lim.maximum,
            },
        )
        .is_ok()
    {
        return max;
    }
    cur
}

/// No descriptor limit to raise elsewhere.
#[cfg(not(unix))]
fn raise_nofile() -> u64 {
    u64::MAX
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if args.get(1).map(String::as_str) == Some("client") {
        let addr = args.get(2).ok_or("client ADDR N")?.clone();
        let n: usize = args.get(3).ok_or("client ADDR N")?.parse()?;
        return rt.block_on(client(addr, n));
    }
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(10_000);
    rt.block_on(server(n))
}

async fn server(n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let limit = raise_nofile();
    if limit < n as u64 + 100 {
        eprintln!(
            "RLIMIT_NOFILE is {limit}; {n} sessions need about {}: run `ulimit -n {}` first",
            n + 100,
            n + 1000
        );
    }
    let srv = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/echo", |_ctx: CallCtx, v: i64| async move {
        Ok::<_, Status>(v)
    })
    .build()?;
    let addr = srv.listen().await?;
    // Let the runtime and the allocator settle before the baseline.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_kib();
    let virt_before = status_kib("VmSize:");
    println!(
        "server: listening on {addr}; RSS before: {before} KiB ({:.1} MiB)",
        mib(before)
    );

    let t = Instant::now();
    let exe = std::env::current_exe()?.to_string_lossy().into_owned();
    let wrap = std::env::var("IDLE_SESSIONS_CLIENT_WRAP").unwrap_or_default();
    let mut words: Vec<String> = wrap.split_whitespace().map(str::to_owned).collect();
    words.extend([exe, "client".into(), addr.clone(), n.to_string()]);
    let mut child = Command::new(&words[0])
        .args(&words[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or("no child stdout")?;
    // Unbounded on purpose: it carries the status lines of the child this example started
    // itself (a fixed handful, not the wire).
    let (line_tx, mut line_rx) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut client_report = String::new();
    while let Some(line) = line_rx.recv().await {
        println!("{line}");
        if line.starts_with("client: ready") {
            client_report = line;
            break;
        }
    }
    if client_report.is_empty() {
        return Err("the client process ended before it was ready".into());
    }
    // Every session the client opened is registered here too.
    let deadline = Instant::now() + Duration::from_secs(60);
    while srv.count_sessions() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sessions = srv.count_sessions();
    println!("server: {sessions} sessions open after {:?}", t.elapsed());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = rss_kib();
    let virt_after = status_kib("VmSize:");
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / sessions.max(1) as f64;
    println!(
        "server: RSS with {sessions} idle sessions: {after} KiB ({:.1} MiB); +{:.1} MiB, {:.0} bytes ({:.1} KiB) per session",
        mib(after),
        mib(after.saturating_sub(before)),
        per,
        per / 1024.0
    );
    println!(
        "server: virtual memory +{:.1} MiB ({:.1} KiB per session)",
        mib(virt_after.saturating_sub(virt_before)),
        virt_after.saturating_sub(virt_before) as f64 / sessions.max(1) as f64
    );

    drop(child.stdin.take()); // tells the client to quit
    tokio::task::spawn_blocking(move || child.wait()).await??;
    while let Ok(line) = line_rx.try_recv() {
        println!("{line}");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while srv.count_sessions() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let released = rss_kib();
    println!(
        "server: {} sessions left after the client quit; RSS {released} KiB ({:.1} MiB)",
        srv.count_sessions(),
        mib(released)
    );
    srv.close().await;
    Ok(())
}

async fn client(addr: String, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    raise_nofile();
    let cli = builder(PeerConfig::default()).build()?;
    let before = rss_kib();
    let t = Instant::now();
    let opened = Arc::new(AtomicUsize::new(0));
    let mut sessions = Vec::with_capacity(n);
    // Dial in waves so the listen backlog is never overrun.
    let wave = 256;
    let mut start = 0;
    while start < n {
        let end = (start + wave).min(n);
        let dials = (start..end).map(|_| {
            let cli = cli.clone();
            let addr = addr.clone();
            let opened = opened.clone();
            async move {
                let s = cli.dial(&addr).await?;
                opened.fetch_add(1, Ordering::Relaxed);
                Ok::<_, Status>(s)
            }
        });
        for r in futures_util::future::join_all(dials).await {
            sessions.push(
                r.map_err(|st| format!("dial failed after {} sessions: {st}", sessions.len()))?,
            );
        }
        start = end;
    }
    // Each session works (one call each), then goes idle: all at once, or in waves.
    let call_wave = std::env::var("IDLE_SESSIONS_CALL_WAVE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&w| w > 0)
        .unwrap_or(n.max(1));
    for (w, wave) in sessions.chunks(call_wave).enumerate() {
        let calls = wave.iter().enumerate().map(|(i, s)| async move {
            let i = (w * call_wave + i) as i64;
            let v: i64 = s.call("/echo", &i).await?;
            assert_eq!(v, i);
            Ok::<_, Status>(())
        });
        for r in futures_util::future::join_all(calls).await {
            r?;
        }
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss_kib();
    let per = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    println!(
        "client: {n} sessions dialed and called in {:?}; client RSS +{:.1} MiB, {:.0} bytes ({:.1} KiB) per session",
        t.elapsed(),
        mib(after.saturating_sub(before)),
        per,
        per / 1024.0
    );
    println!("client: ready {n}");
    // Idle until the server closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    })
    .await?;
    cli.close().await;
    Ok(())
}
