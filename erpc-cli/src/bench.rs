//! Go eRPC's benchmark (reference §12): the 581-byte protobuf `BenchmarkMessage` sent to
//! `Hello.Say` over rawproto with the protobuf codec; the server sets `field1 = "OK"` and
//! `field2 = 100` and replies. The client runs C concurrent callers over K connections until
//! N calls are done and prints one JSON line (the bench-peers contract).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_proto::codec::Proto;
use erpc_proto::testing::BenchmarkMessage;
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Session, Status};
use prost::Message as _;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// `erpc bench-server`.
#[derive(clap::Args, Debug)]
pub(crate) struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8972")]
    addr: String,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// `erpc bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClientArgs {
    /// Server address; without it a server is started here on loopback.
    #[arg(long)]
    addr: Option<String>,
    /// Concurrent callers.
    #[arg(long, short = 'c', default_value_t = 100)]
    concurrency: usize,
    /// Calls in total.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    total: usize,
    /// Connections the callers share.
    #[arg(long, short = 'k', default_value_t = 1)]
    conns: usize,
    /// Unmeasured warm-up calls.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Tokio worker threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Print Go eRPC's README table (concurrency 100, 500, 1000, 2000, 5000) as Markdown.
    #[arg(long)]
    table: bool,
}

fn runtime(threads: Option<usize>) -> Result<tokio::runtime::Runtime, BoxError> {
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.enable_all();
    if let Some(t) = threads {
        b.worker_threads(t.max(1));
    }
    Ok(b.build()?)
}

fn peer_config() -> PeerConfig {
    PeerConfig {
        default_body_codec: "protobuf".into(),
        call_timeout: Duration::from_secs(60),
        ..PeerConfig::default()
    }
}

async fn start_server(addr: &str) -> Result<(erpc_runtime_tokio::Peer, String), BoxError> {
    let peer = builder(peer_config())
        .call(
            "Hello.Say",
            |_ctx: CallCtx, Proto(msg): Proto<BenchmarkMessage>| async move {
                Ok::<_, Status>(Proto(msg.into_reply()))
            },
        )
        .build()?;
    let bound = peer.listen_on(peer.endpoint(addr)).await?;
    Ok((peer, bound))
}

pub(crate) fn server(args: ServerArgs) -> Result<(), BoxError> {
    runtime(args.threads)?.block_on(async {
        let (peer, addr) = start_server(&args.addr).await?;
        eprintln!("erpc bench-server listening on {addr}");
        erpc_runtime_tokio::graceful_shutdown_on_signal(&peer).await?;
        Ok(())
    })
}

/// Result of one benchmark run.
#[derive(Debug, serde::Serialize)]
struct Report {
    #[serde(rename = "impl")]
    implementation: &'static str,
    concurrency: usize,
    conns: usize,
    total: usize,
    secs: f64,
    tps: f64,
    mean_ms: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    min_ms: f64,
    bytes: usize,
    errors: usize,
}

async fn run(addr: &str, c: usize, n: usize, k: usize, warmup: usize) -> Result<Report, BoxError> {
    let client = builder(peer_config()).build()?;
    let mut sessions: Vec<Session> = Vec::with_capacity(k);
    let msg = Arc::new(BenchmarkMessage::filled());
    let bytes = msg.encoded_len();
    for _ in 0..k.max(1) {
        let s = client.dial(addr).await?;
        // One unmeasured round trip per connection.
        let _: Proto<BenchmarkMessage> = s.call("Hello.Say", &Proto((*msg).clone())).await?;
        sessions.push(s);
    }
    for i in 0..warmup {
        let s = &sessions[i % sessions.len()];
        let _: Proto<BenchmarkMessage> = s.call("Hello.Say", &Proto((*msg).clone())).await?;
    }
    let issued = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(c);
    for i in 0..c.max(1) {
        let s = sessions[i % sessions.len()].clone();
        let issued = issued.clone();
        let msg = msg.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(n / c.max(1) + 1);
            let mut errors = 0usize;
            let body = Proto((*msg).clone());
            while issued.fetch_add(1, Ordering::Relaxed) < n {
                let t0 = Instant::now();
                let r: Result<Proto<BenchmarkMessage>, Status> = s.call("Hello.Say", &body).await;
                lat.push(t0.elapsed().as_nanos() as u64);
                match r {
                    Ok(reply) if reply.is_ok_reply() => {}
                    _ => errors += 1,
                }
            }
            (lat, errors)
        }));
    }
    let mut all = Vec::with_capacity(n);
    let mut errors = 0;
    for t in tasks {
        let (lat, e) = t.await?;
        all.extend(lat);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    client.close().await;
    all.sort_unstable();
    let ms = |ns: u64| ns as f64 / 1e6;
    let pct = |p: f64| {
        if all.is_empty() {
            0.0
        } else {
            let rank = ((p * all.len() as f64).ceil() as usize).clamp(1, all.len());
            ms(all[rank - 1])
        }
    };
    let mean = if all.is_empty() {
        0.0
    } else {
        all.iter().map(|&x| x as f64).sum::<f64>() / all.len() as f64 / 1e6
    };
    Ok(Report {
        implementation: "erpc-rs",
        concurrency: c,
        conns: k,
        total: n,
        secs,
        tps: (all.len() - errors) as f64 / secs,
        mean_ms: mean,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: all.last().map_or(0.0, |&x| ms(x)),
        min_ms: all.first().map_or(0.0, |&x| ms(x)),
        bytes,
        errors,
    })
}

pub(crate) fn client(args: ClientArgs) -> Result<(), BoxError> {
    let rt = runtime(args.threads)?;
    rt.block_on(async {
        let (server, addr) = match &args.addr {
            Some(a) => (None, a.clone()),
            None => {
                let (p, a) = start_server("127.0.0.1:0").await?;
                (Some(p), a)
            }
        };
        if args.table {
            println!("| concurrency | mean (ms) | median (ms) | max (ms) | min (ms) | throughput (TPS) |");
            println!("|---|---|---|---|---|---|");
            for c in [100, 500, 1000, 2000, 5000] {
                let n = args.total.max(c);
                let r = run(&addr, c, n, args.conns, args.warmup).await?;
                println!(
                    "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
                    c, r.mean_ms, r.p50_ms, r.max_ms, r.min_ms, r.tps
                );
            }
        } else {
            let r = run(&addr, args.concurrency, args.total, args.conns, args.warmup).await?;
            println!("{}", serde_json::to_string(&r)?);
            if r.errors > 0 {
                return Err(format!("{} calls failed", r.errors).into());
            }
        }
        if let Some(s) = server {
            s.close().await;
        }
        Ok::<_, BoxError>(())
    })
}
