//! Go eRPC's benchmark (reference §12): the 581-byte protobuf `BenchmarkMessage` sent to
//! `Hello.Say` with the protobuf codec (over rawproto unless `--proto` says otherwise); the
//! server sets `field1 = "OK"` and `field2 = 100` and replies. The client runs C concurrent
//! callers over K connections until N calls are done and prints one JSON line (the
//! bench-peers contract). Every runtime adapter runs the same workload (`--runtime`).
//!
//! `--payload bytes` measures the framework alone, like bench-peers' `raw` floor: the same
//! 581 bytes go to `Hello.Echo`, which returns them unchanged, and neither side runs a codec.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_peer::{MultiClient, MultiClientConfig, Peer, PeerBuilder};
use erpc_proto::codec::{Proto, Raw};
use erpc_proto::testing::BenchmarkMessage;
use erpc_runtime_tokio::{
    BodyCodec, CallCtx, HandlerTasks, Network, PeerConfig, Runtime, Status, WireProtocol,
};

use crate::client::{named, parse_handler_tasks, parse_size, KcpArgs};
use crate::latency::{Latencies, Summary};
use futures_util::StreamExt;
use prost::Message as _;

use crate::progress;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The runtime adapter a benchmark side runs on.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RuntimeKind {
    /// erpc-runtime-tokio (multi-thread runtime).
    Tokio,
    /// erpc-runtime-async-std on async-std (`async-std` feature of erpc-cli).
    #[cfg(feature = "async-std")]
    AsyncStd,
    /// erpc-runtime-async-std on a smol executor with one thread per core.
    Smol,
    /// erpc-runtime-blocking: std threads, one per caller.
    Blocking,
}

impl RuntimeKind {
    /// The `impl` of the JSON line: `erpc-rs[-RUNTIME][-bytes]`.
    fn impl_name(self, payload: Payload) -> String {
        let runtime = match self {
            RuntimeKind::Tokio => "",
            #[cfg(feature = "async-std")]
            RuntimeKind::AsyncStd => "-async-std",
            RuntimeKind::Smol => "-smol",
            RuntimeKind::Blocking => "-blocking",
        };
        let payload = match payload {
            Payload::Proto => "",
            Payload::Bytes => "-bytes",
        };
        format!("erpc-rs{runtime}{payload}")
    }
}

/// What each benchmark call carries.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// Go's benchmark: `Hello.Say` decodes the protobuf message and replies with a modified
    /// one (both sides run the protobuf codec on every call).
    Proto,
    /// The framework alone: the encoded message as opaque bytes to `Hello.Echo`, which echoes
    /// them (no codec on either side, like bench-peers' `raw` floor).
    Bytes,
}

/// `erpc bench-server`.
#[derive(clap::Args, Debug)]
pub(crate) struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8972")]
    addr: String,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Runtime adapter.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: RuntimeKind,
    /// Wire protocol: raw, json, protobuf (pb), thrift, thrift-struct, http.
    #[arg(long, value_parser = named::<WireProtocol>(WireProtocol::NAMES),
          default_value_t = WireProtocol::Raw)]
    proto: WireProtocol,
    /// Network: tcp (`unix:/path` addresses: unix), tcp4, tcp6, unix, unixpacket (`--addr`
    /// a socket path), kcp, ws (json sub-protocol at `/`) or quic (self-signed TLS; not on
    /// the blocking runtime).
    #[arg(long, value_parser = named::<Network>(Network::NAMES), default_value_t = Network::Tcp)]
    network: Network,
    #[command(flatten)]
    kcp: KcpArgs,
    /// Where handlers run: adaptive, always (a task each), never (first step inline);
    /// `PeerConfig::handler_tasks`.
    #[arg(long, value_name = "MODE", default_value = "adaptive", value_parser = parse_handler_tasks)]
    handler_tasks: HandlerTasks,
    /// Bytes queued for one connection's socket before it stops taking work
    /// (`PeerConfig::max_queued_bytes`; K, M, G suffixes). Large bodies with many callers
    /// need room for several.
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    max_queued: usize,
}

/// `erpc bench`.
#[derive(clap::Args, Debug)]
pub(crate) struct ClientArgs {
    /// Server address; without it a server is started here on loopback (same runtime).
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
    /// Instead of -k fixed connections, a multiclient pool of up to K sessions (Go's
    /// `mixer/multiclient`): each call on the least-loaded session, sessions dialed as the
    /// load needs them. The JSON line then has `"pool":K` and `conns` = sessions dialed.
    #[arg(long, value_name = "K", conflicts_with = "conns")]
    pool: Option<usize>,
    /// Unmeasured warm-up calls.
    #[arg(long, default_value_t = 0)]
    warmup: usize,
    /// Worker threads of the async runtime (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Runtime adapter.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: RuntimeKind,
    /// Wire protocol: raw, json, protobuf (pb), thrift, thrift-struct, http.
    #[arg(long, value_parser = named::<WireProtocol>(WireProtocol::NAMES),
          default_value_t = WireProtocol::Raw)]
    proto: WireProtocol,
    /// Network (the server's; with no --addr, the in-process server's too): tcp (`unix:/path`
    /// addresses: unix), tcp4, tcp6, unix, unixpacket, kcp, ws (json sub-protocol at `/`) or
    /// quic (TLS unchecked; not on the blocking runtime).
    #[arg(long, value_parser = named::<Network>(Network::NAMES), default_value_t = Network::Tcp)]
    network: Network,
    #[command(flatten)]
    kcp: KcpArgs,
    /// Print Go eRPC's README table (concurrency 100, 500, 1000, 2000, 5000) as Markdown.
    #[arg(long)]
    table: bool,
    /// What each call carries.
    #[arg(long, value_enum, default_value = "proto")]
    payload: Payload,
    /// With `--payload bytes`: opaque bodies of this many bytes (K, M suffixes) instead of the
    /// encoded benchmark message (0, the default: its 581 bytes).
    #[arg(long, value_name = "BYTES", default_value = "0", value_parser = parse_size)]
    size: usize,
    /// Where the in-process server's (no --addr) handlers run: adaptive, always, never.
    #[arg(long, value_name = "MODE", default_value = "adaptive", value_parser = parse_handler_tasks)]
    handler_tasks: HandlerTasks,
    /// Bytes queued for one connection's socket before it stops taking calls (client and
    /// in-process server; `PeerConfig::max_queued_bytes`; K, M, G suffixes).
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size)]
    max_queued: usize,
}

/// `--handler-tasks` of this process's `bench-server` or in-process `bench` server.
static HANDLER_TASKS: std::sync::Mutex<HandlerTasks> =
    std::sync::Mutex::new(HandlerTasks::Adaptive);

/// `--network` and `--addr` as the peer takes them: a `unix:/path` address is the path, on
/// network `unix` when `--network` said `tcp`.
fn bench_address(network: Network, addr: &str) -> (Network, String) {
    match addr.strip_prefix("unix:") {
        Some(path) if network == Network::Tcp => (Network::Unix, path.to_owned()),
        Some(path) => (network, path.to_owned()),
        None => (network, addr.to_owned()),
    }
}

/// `--max-queued` of this process's `bench-server` or `bench`.
static MAX_QUEUED: std::sync::Mutex<usize> =
    std::sync::Mutex::new(erpc_peer::limits::MAX_QUEUED_BYTES);

/// `--network` of this process's `bench-server` or `bench`.
static NETWORK: std::sync::Mutex<Network> = std::sync::Mutex::new(Network::Tcp);

fn peer_config(proto: WireProtocol) -> PeerConfig {
    PeerConfig {
        max_queued_bytes: *MAX_QUEUED.lock().unwrap_or_else(|e| e.into_inner()),
        network: *NETWORK.lock().unwrap_or_else(|e| e.into_inner()),
        default_body_codec: BodyCodec::Protobuf,
        protocol: proto,
        call_timeout: Duration::from_secs(60),
        handler_tasks: *HANDLER_TASKS.lock().unwrap_or_else(|e| e.into_inner()),
        ..PeerConfig::default()
    }
}

/// `--kcp-window` and `--kcp-turbo` of this process's `bench-server` or `bench`.
static KCP: std::sync::OnceLock<KcpArgs> = std::sync::OnceLock::new();

/// The blocking adapter's builder with the `--kcp-*` parameters.
fn blocking_builder(proto: WireProtocol) -> erpc_runtime_blocking::PeerBuilder {
    let b = erpc_runtime_blocking::builder(peer_config(proto));
    #[cfg(feature = "kcp")]
    if let Some(c) = KCP.get().and_then(KcpArgs::config) {
        return b.kcp(c);
    }
    b
}

/// The network's settings: the `--kcp-*` parameters, and with `--network quic` the TLS QUIC
/// needs: a self-signed certificate on the server, a client that does not check it (the
/// benchmark runs on loopback).
fn network_settings<R: Runtime>(
    b: PeerBuilder<R>,
    server: bool,
) -> Result<PeerBuilder<R>, BoxError> {
    let b = match KCP.get() {
        Some(k) => k.apply(b),
        None => b,
    };
    if *NETWORK.lock().unwrap_or_else(|e| e.into_inner()) != Network::Quic {
        return Ok(b);
    }
    Ok(if server {
        b.tls_server(erpc_peer::tls::self_signed_server(&["localhost"])?.0)
    } else {
        b.tls_client(
            erpc_peer::tls::dangerous_client_config_skip_verify()?,
            "localhost",
        )
    })
}

fn threads(n: Option<usize>) -> usize {
    n.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1)
}

/// The handler of Go's benchmark server.
async fn say(
    _ctx: CallCtx,
    Proto(msg): Proto<BenchmarkMessage>,
) -> Result<Proto<BenchmarkMessage>, Status> {
    Ok(Proto(msg.into_reply()))
}

/// `Hello.Echo`: the body back unchanged (the framework-only workload).
async fn echo(_ctx: CallCtx, body: Raw) -> Result<Raw, Status> {
    Ok(body)
}

/// One benchmark call on an async session; `Ok(true)` when the reply is the expected one.
async fn call_once(s: &erpc_peer::Session, args: &Args) -> Result<bool, Status> {
    match args {
        Args::Proto(m) => {
            let r: Proto<BenchmarkMessage> = s.call("Hello.Say", &**m).await?;
            Ok(r.is_ok_reply())
        }
        Args::Bytes(b) => {
            let r: Raw = s.call("Hello.Echo", b).await?;
            Ok(same_echo(&r.0, &b.0))
        }
    }
}

/// [`call_once`] on a blocking session.
fn call_once_blocking(s: &erpc_runtime_blocking::Session, args: &Args) -> Result<bool, Status> {
    match args {
        Args::Proto(m) => {
            let r: Proto<BenchmarkMessage> = s.call("Hello.Say", &**m)?;
            Ok(r.is_ok_reply())
        }
        Args::Bytes(b) => {
            let r: Raw = s.call("Hello.Echo", b)?;
            Ok(same_echo(&r.0, &b.0))
        }
    }
}

/// Bodies up to this size are compared whole with what was sent; larger ones by samples.
const WHOLE_COMPARE: usize = 64 * 1024;

/// Whether an echoed body is the one sent: the same length, and the same bytes — all of them
/// up to [`WHOLE_COMPARE`], else 64 windows of 64 bytes spread over the body, its first and
/// last bytes among them. Comparing megabytes whole would add a pass over both bodies to
/// every call on the client's side (the raw floor it is measured against checks only the
/// length).
fn same_echo(got: &[u8], sent: &[u8]) -> bool {
    if got.len() != sent.len() {
        return false;
    }
    if sent.len() <= WHOLE_COMPARE {
        return got == sent;
    }
    const WINDOWS: usize = 64;
    const WINDOW: usize = 64;
    let last = sent.len() - WINDOW;
    (0..WINDOWS).all(|i| {
        let at = last * i / (WINDOWS - 1);
        got[at..at + WINDOW] == sent[at..at + WINDOW]
    })
}

/// The arguments every call sends.
#[derive(Clone)]
enum Args {
    Proto(Box<Proto<BenchmarkMessage>>),
    Bytes(Raw),
}

impl Args {
    /// `size`: with [`Payload::Bytes`], the body's length (0: the encoded message).
    fn new(payload: Payload, size: usize) -> Args {
        match payload {
            Payload::Proto => Args::Proto(Box::new(Proto(BenchmarkMessage::filled()))),
            Payload::Bytes if size == 0 => {
                Args::Bytes(Raw(BenchmarkMessage::filled().encode_to_vec().into()))
            }
            // Not all zeros, so that nothing on the way can shortcut it.
            Payload::Bytes => Args::Bytes(Raw((0..size).map(|i| (i * 31 % 251) as u8).collect())),
        }
    }

    /// The request body's size.
    fn len(&self) -> usize {
        match self {
            Args::Proto(m) => m.0.encoded_len(),
            Args::Bytes(b) => b.0.len(),
        }
    }
}

/// Runs `f` to completion on the chosen async runtime, with `R` handed to it.
fn on_runtime<T: Send + 'static>(
    kind: RuntimeKind,
    worker_threads: Option<usize>,
    f: impl AsyncRun<T>,
) -> Result<T, BoxError> {
    match kind {
        RuntimeKind::Tokio => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.enable_all().worker_threads(threads(worker_threads));
            let rt = b.build()?;
            rt.block_on(f.run(erpc_runtime_tokio::Tokio))
        }
        #[cfg(feature = "async-std")]
        RuntimeKind::AsyncStd => {
            async_std::task::block_on(f.run(erpc_runtime_async_std::AsyncIo::async_std()))
        }
        RuntimeKind::Smol => {
            let ex = Arc::new(smol::Executor::new());
            let (stop, stopped) = smol::channel::unbounded::<()>();
            let mut helpers = Vec::new();
            for _ in 1..threads(worker_threads) {
                let ex = ex.clone();
                let stopped = stopped.clone();
                helpers.push(std::thread::spawn(move || {
                    smol::block_on(ex.run(stopped.recv()))
                }));
            }
            let rt = erpc_runtime_async_std::AsyncIo::smol_executor(ex.clone());
            let out = smol::block_on(ex.run(f.run(rt)));
            drop(stop);
            for h in helpers {
                let _ = h.join();
            }
            out
        }
        RuntimeKind::Blocking => Err("not an async runtime".into()),
    }
}

/// An async job generic over the runtime (a closure cannot be generic).
trait AsyncRun<T> {
    fn run<R: Runtime>(self, rt: R) -> impl std::future::Future<Output = Result<T, BoxError>>;
}

struct ServeForever {
    addr: String,
    proto: WireProtocol,
}

impl AsyncRun<()> for ServeForever {
    async fn run<R: Runtime>(self, rt: R) -> Result<(), BoxError> {
        let (peer, addr) = start_async_server(rt, &self.addr, self.proto).await?;
        eprintln!("erpc bench-server listening on {addr}");
        // Runs until killed (the bench-peers driver sends SIGTERM).
        peer.wait_closed().await;
        Ok(())
    }
}

async fn start_async_server<R: Runtime>(
    rt: R,
    addr: &str,
    proto: WireProtocol,
) -> Result<(Peer<R>, String), BoxError> {
    let peer = network_settings(PeerBuilder::new(rt, peer_config(proto)), true)?
        .call("Hello.Say", say)
        .call("Hello.Echo", echo)
        .build()?;
    let bound = peer.listen_on(peer.endpoint(addr)).await?;
    Ok((peer, bound))
}

fn start_blocking_server(
    addr: &str,
    proto: WireProtocol,
) -> Result<(erpc_runtime_blocking::Peer, String), BoxError> {
    let peer = blocking_builder(proto)
        .call(
            "Hello.Say",
            |_ctx: erpc_runtime_blocking::CallCtx, Proto(msg): Proto<BenchmarkMessage>| {
                Ok::<_, Status>(Proto(msg.into_reply()))
            },
        )
        .call(
            "Hello.Echo",
            |_ctx: erpc_runtime_blocking::CallCtx, body: Raw| Ok::<_, Status>(body),
        )
        .build()?;
    let bound = peer.listen_on(peer.endpoint(addr))?;
    Ok((peer, bound))
}

pub(crate) fn server(args: ServerArgs) -> Result<(), BoxError> {
    let _ = KCP.set(args.kcp.clone());
    *HANDLER_TASKS.lock().unwrap_or_else(|e| e.into_inner()) = args.handler_tasks;
    *MAX_QUEUED.lock().unwrap_or_else(|e| e.into_inner()) = args.max_queued;
    let (network, addr) = bench_address(args.network, &args.addr);
    *NETWORK.lock().unwrap_or_else(|e| e.into_inner()) = network;
    if args.runtime == RuntimeKind::Blocking {
        let (peer, addr) = start_blocking_server(&addr, args.proto)?;
        eprintln!("erpc bench-server (blocking) listening on {addr}");
        peer.wait_closed();
        return Ok(());
    }
    on_runtime(
        args.runtime,
        args.threads,
        ServeForever {
            addr,
            proto: args.proto,
        },
    )
}

/// Result of one benchmark run.
#[derive(Debug, serde::Serialize)]
struct Report {
    #[serde(rename = "impl")]
    implementation: String,
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
    /// `--pool K`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pool: Option<usize>,
}

impl Report {
    /// The statistics of a run of `plan` that took `secs`, with `bytes` in each request.
    fn new(plan: &Plan, secs: f64, lat: &Summary, errors: usize, bytes: usize) -> Report {
        let ms = |ns: u64| ns as f64 / 1e6;
        Report {
            implementation: plan.kind.impl_name(plan.payload),
            concurrency: plan.c,
            conns: plan.k,
            total: plan.n,
            secs,
            tps: (lat.count() as usize).saturating_sub(errors) as f64 / secs,
            mean_ms: lat.mean_ns() / 1e6,
            p50_ms: ms(lat.quantile_ns(0.50)),
            p99_ms: ms(lat.quantile_ns(0.99)),
            max_ms: ms(lat.max_ns()),
            min_ms: ms(lat.min_ns()),
            bytes,
            errors,
            pool: plan.pool,
        }
    }
}

#[derive(Clone)]
struct Plan {
    addr: String,
    proto: WireProtocol,
    c: usize,
    n: usize,
    k: usize,
    pool: Option<usize>,
    warmup: usize,
    kind: RuntimeKind,
    payload: Payload,
    size: usize,
}

impl AsyncRun<Report> for Plan {
    async fn run<R: Runtime>(self, rt: R) -> Result<Report, BoxError> {
        if let Some(k) = self.pool {
            return self.run_pool(rt, k).await;
        }
        let client =
            network_settings(PeerBuilder::new(rt.clone(), peer_config(self.proto)), false)?
                .build()?;
        let args = Args::new(self.payload, self.size);
        let mut sessions = Vec::with_capacity(self.k.max(1));
        for _ in 0..self.k.max(1) {
            let s = client.dial(&self.addr).await?;
            // One unmeasured round trip per connection.
            call_once(&s, &args).await?;
            sessions.push(s);
        }
        for i in 0..self.warmup {
            call_once(&sessions[i % sessions.len()], &args).await?;
        }
        let callers = (0..self.c.max(1)).map(|i| SessionCaller {
            session: sessions[i % sessions.len()].clone(),
            args: args.clone(),
        });
        let (secs, latencies, errors) = drive(&rt, self.n, callers).await;
        client.close().await;
        Ok(Report::new(&self, secs, &latencies, errors, args.len()))
    }
}

/// One benchmark caller: makes calls one after another.
trait Caller: Send + 'static {
    /// One call; `Ok(true)` when the reply is the expected one.
    fn call(&self) -> impl std::future::Future<Output = Result<bool, Status>> + Send + '_;
}

/// A caller on one session.
struct SessionCaller {
    session: erpc_peer::Session,
    args: Args,
}

impl Caller for SessionCaller {
    fn call(&self) -> impl std::future::Future<Output = Result<bool, Status>> + Send + '_ {
        call_once(&self.session, &self.args)
    }
}

/// A caller that hires a session of a multiclient pool for each call.
struct PoolCaller<R: Runtime> {
    pool: MultiClient<R>,
    args: Args,
}

impl<R: Runtime> Caller for PoolCaller<R> {
    async fn call(&self) -> Result<bool, Status> {
        let s = self.pool.hire().await?;
        call_once(&s, &self.args).await
    }
}

/// Runs every caller as a task of its own until `n` calls were made between them; the
/// seconds it took, the latencies and the number of failed calls.
async fn drive<R: Runtime, C: Caller>(
    rt: &R,
    n: usize,
    callers: impl Iterator<Item = C>,
) -> (f64, Summary, usize) {
    let issued = Arc::new(AtomicUsize::new(0));
    let pb = progress::bar(n as u64);
    // Unbounded but bounded in fact: each caller task sends exactly one result, so it never
    // holds more than one entry per caller.
    let (tx, mut rx) = futures_channel::mpsc::unbounded();
    let latencies = Latencies::new();
    let start = Instant::now();
    for caller in callers {
        let (issued, tx, pb) = (issued.clone(), tx.clone(), pb.clone());
        let mut lat = latencies.recorder();
        rt.spawn(async move {
            let mut errors = 0usize;
            while issued.fetch_add(1, Ordering::Relaxed) < n {
                let t0 = Instant::now();
                let r = caller.call().await;
                lat.record(t0.elapsed().as_nanos() as u64);
                if !matches!(r, Ok(true)) {
                    errors += 1;
                }
                if let Some(pb) = &pb {
                    pb.inc(1);
                }
            }
            drop(lat);
            let _ = tx.unbounded_send(errors);
        });
    }
    drop(tx);
    let mut errors = 0;
    while let Some(e) = rx.next().await {
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    (secs, latencies.finish(), errors)
}

impl Plan {
    /// `--pool K`: the callers share a multiclient pool of up to `k` sessions.
    async fn run_pool<R: Runtime>(mut self, rt: R, k: usize) -> Result<Report, BoxError> {
        let client =
            network_settings(PeerBuilder::new(rt.clone(), peer_config(self.proto)), false)?
                .build()?;
        let args = Args::new(self.payload, self.size);
        let config = MultiClientConfig::default().max_sessions(k.max(1));
        let pool = MultiClient::new(client.clone(), self.addr.clone(), config);
        // One unmeasured round trip (dials the first session), then the warm-ups.
        for _ in 0..self.warmup.max(1) {
            call_once(&*pool.hire().await?, &args).await?;
        }
        let callers = (0..self.c.max(1)).map(|_| PoolCaller {
            pool: pool.clone(),
            args: args.clone(),
        });
        let (secs, latencies, errors) = drive(&rt, self.n, callers).await;
        let stats = pool.stats();
        tracing::info!(?stats, "multiclient pool");
        pool.close();
        client.close().await;
        self.k = usize::try_from(stats.created).unwrap_or(usize::MAX);
        Ok(Report::new(&self, secs, &latencies, errors, args.len()))
    }
}

/// The blocking adapter's client: one thread per caller.
fn run_blocking(p: &Plan) -> Result<Report, BoxError> {
    let client = blocking_builder(p.proto).build()?;
    let args = Args::new(p.payload, p.size);
    let mut sessions = Vec::new();
    for _ in 0..p.k.max(1) {
        let s = client.dial(&p.addr)?;
        call_once_blocking(&s, &args)?;
        sessions.push(s);
    }
    for i in 0..p.warmup {
        call_once_blocking(&sessions[i % sessions.len()], &args)?;
    }
    let issued = AtomicUsize::new(0);
    let pb = progress::bar(p.n as u64);
    let start = Instant::now();
    let latencies = Latencies::new();
    let errors: Vec<usize> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..p.c.max(1))
            .map(|i| {
                let s = &sessions[i % sessions.len()];
                let (issued, pb, args) = (&issued, &pb, &args);
                let mut lat = latencies.recorder();
                std::thread::Builder::new()
                    .stack_size(256 * 1024)
                    .spawn_scoped(scope, move || {
                        let mut errors = 0usize;
                        while issued.fetch_add(1, Ordering::Relaxed) < p.n {
                            let t0 = Instant::now();
                            let r = call_once_blocking(s, args);
                            lat.record(t0.elapsed().as_nanos() as u64);
                            if !matches!(r, Ok(true)) {
                                errors += 1;
                            }
                            if let Some(pb) = pb {
                                pb.inc(1);
                            }
                        }
                        errors
                    })
                    .expect("spawn a caller thread")
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    });
    let secs = start.elapsed().as_secs_f64();
    if let Some(pb) = pb {
        pb.finish_and_clear();
    }
    client.close();
    let errors = errors.iter().sum();
    Ok(Report::new(
        p,
        secs,
        &latencies.finish(),
        errors,
        args.len(),
    ))
}

fn run(p: &Plan, threads: Option<usize>) -> Result<Report, BoxError> {
    match p.kind {
        RuntimeKind::Blocking => run_blocking(p),
        kind => on_runtime(kind, threads, p.clone()),
    }
}

/// A server started in this process for `erpc bench` without `--addr`.
enum LocalServer {
    Async(std::process::Child),
    Blocking(erpc_runtime_blocking::Peer),
}

fn local_server(args: &ClientArgs) -> Result<(LocalServer, String), BoxError> {
    let addr = if args.network.is_unix() {
        let path = std::env::temp_dir().join(format!("erpc-bench-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        path.display().to_string()
    } else if args.network == Network::Tcp6 {
        let port = std::net::TcpListener::bind("[::1]:0")?.local_addr()?.port();
        format!("[::1]:{port}")
    } else {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        format!("127.0.0.1:{port}")
    };
    if args.runtime == RuntimeKind::Blocking {
        let (peer, addr) = start_blocking_server(&addr, args.proto)?;
        return Ok((LocalServer::Blocking(peer), addr));
    }
    // The async server runs as a second process of this program, so that client and server
    // have their own runtime as in the real benchmark.
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args([
        "bench-server",
        "--addr",
        &addr,
        "--proto",
        args.proto.as_str(),
        "--network",
        args.network.as_str(),
        "--runtime",
    ])
    .arg(
        format!("{:?}", args.runtime)
            .to_lowercase()
            .replace("asyncstd", "async-std"),
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    if let Some(t) = args.threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    if let Some(w) = args.kcp.kcp_window {
        cmd.args(["--kcp-window", &w.to_string()]);
    }
    if args.kcp.kcp_turbo {
        cmd.arg("--kcp-turbo");
    }
    let child = cmd.spawn()?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let ready = || match args.network {
        // UDP: the server's socket holding the port says it listens.
        Network::Kcp | Network::Quic => std::net::UdpSocket::bind(&addr).is_err(),
        // The socket file appears when the server binds.
        n if n.is_unix() => std::path::Path::new(&addr).exists(),
        _ => std::net::TcpStream::connect(&addr).is_ok(),
    };
    while !ready() {
        if Instant::now() > deadline {
            return Err(format!("the benchmark server did not start on {addr}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((LocalServer::Async(child), addr))
}

pub(crate) fn client(args: ClientArgs) -> Result<(), BoxError> {
    let _ = KCP.set(args.kcp.clone());
    if args.pool == Some(0) {
        return Err("--pool needs at least 1 session".into());
    }
    if args.pool.is_some() && args.runtime == RuntimeKind::Blocking {
        return Err("--pool runs on the async runtimes (tokio, smol, async-std)".into());
    }
    if args.size > 0 && args.payload != Payload::Bytes {
        return Err("--size sets the size of opaque bodies: it needs --payload bytes".into());
    }
    if args.network == Network::Quic && args.runtime == RuntimeKind::Blocking {
        return Err(
            "--network quic runs on the async runtimes only (the blocking adapter has no QUIC)"
                .into(),
        );
    }
    *HANDLER_TASKS.lock().unwrap_or_else(|e| e.into_inner()) = args.handler_tasks;
    *MAX_QUEUED.lock().unwrap_or_else(|e| e.into_inner()) = args.max_queued;
    let (server, addr) = match &args.addr {
        Some(a) => {
            let (network, addr) = bench_address(args.network, a);
            *NETWORK.lock().unwrap_or_else(|e| e.into_inner()) = network;
            (None, addr)
        }
        None => {
            *NETWORK.lock().unwrap_or_else(|e| e.into_inner()) = args.network;
            let (s, a) = local_server(&args)?;
            (Some(s), a)
        }
    };
    let plan = |c: usize, n: usize| Plan {
        addr: addr.clone(),
        proto: args.proto,
        c,
        n,
        k: args.conns,
        pool: args.pool,
        warmup: args.warmup,
        kind: args.runtime,
        payload: args.payload,
        size: args.size,
    };
    let result = (|| -> Result<(), BoxError> {
        if args.table {
            println!("| concurrency | mean (ms) | median (ms) | max (ms) | min (ms) | throughput (TPS) |");
            println!("|---|---|---|---|---|---|");
            for c in [100, 500, 1000, 2000, 5000] {
                let r = run(&plan(c, args.total.max(c)), args.threads)?;
                println!(
                    "| {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |",
                    c, r.mean_ms, r.p50_ms, r.max_ms, r.min_ms, r.tps
                );
            }
            Ok(())
        } else {
            let r = run(&plan(args.concurrency, args.total), args.threads)?;
            println!("{}", serde_json::to_string(&r)?);
            if r.errors > 0 {
                return Err(format!("{} calls failed", r.errors).into());
            }
            Ok(())
        }
    })();
    match server {
        Some(LocalServer::Async(mut child)) => {
            let _ = child.kill();
            let _ = child.wait();
        }
        Some(LocalServer::Blocking(peer)) => peer.close(),
        None => {}
    }
    if args.addr.is_none() && args.network.is_unix() {
        // The killed server process left its socket file.
        let _ = std::fs::remove_file(&addr);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_differing_anywhere_small_or_at_a_sampled_byte_large_is_refused() {
        let small: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
        assert!(same_echo(&small, &small));
        let mut bad = small.clone();
        bad[500] ^= 1;
        assert!(!same_echo(&bad, &small));
        assert!(!same_echo(&small[..999], &small));

        let large: Vec<u8> = (0..(1u32 << 20)).map(|i| (i * 31 % 251) as u8).collect();
        assert!(same_echo(&large, &large));
        let middle = (large.len() - 64) * 31 / 63 + 10; // inside the 32nd window
        for at in [0, large.len() - 1, middle] {
            let mut bad = large.clone();
            bad[at] ^= 1;
            assert!(!same_echo(&bad, &large), "byte {at}");
        }
        assert!(!same_echo(&large[1..], &large[..large.len() - 1]));
    }
}
