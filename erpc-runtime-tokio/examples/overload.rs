//! Go's plugin/overloader on erpc-rs, measured: the connection limit refuses every extra
//! connection at once (and keeps refusing it) while the admitted sessions stay responsive,
//! and the QPS limit holds over a 10 s window, also after the limit is changed at run time.
//!
//! ```text
//! cargo run --release -p erpc-runtime-tokio --example overload
//! cargo run --release -p erpc-runtime-tokio --example overload -- 400 100ms 4
//! ```
//!
//! Arguments: the total QPS limit (default 500), the refill interval (Go syntax, default
//! `1s`), the number of callers hammering the server (default 4). Server and client run in
//! this process, over loopback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_runtime_tokio::plugins::{LimitConfig, Overloader};
use erpc_runtime_tokio::{builder, parse_go_duration, CallCtx, Code, PeerConfig, Session, Status};

const MAX_CONN: u32 = 4;

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    let i = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len()) - 1;
    v[i]
}

/// Calls `/math/add` from `callers` tasks on `sessions` for `window` after `warmup`, and
/// returns (OK replies, qps refusals, other failures) inside the window.
async fn hammer(
    sessions: &[Session],
    callers: usize,
    warmup: Duration,
    window: Duration,
) -> (u64, u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (from, until) = (start + warmup, start + warmup + window);
    let mut tasks = Vec::new();
    for i in 0..callers {
        let s = sessions[i % sessions.len()].clone();
        let (ok, refused, failed) = (ok.clone(), refused.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let r: Result<i64, Status> = s.call("/math/add", &[1, 2]).await;
                let now = Instant::now();
                if now >= until {
                    break;
                }
                if now < from {
                    continue;
                }
                match r {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(st) if st.msg().starts_with("qps overload") => {
                        refused.fetch_add(1, Ordering::Relaxed)
                    }
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    (
        ok.load(Ordering::Relaxed),
        refused.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    )
}

fn report(what: &str, limit: u32, window: Duration, (ok, refused, failed): (u64, u64, u64)) {
    let rate = ok as f64 / window.as_secs_f64();
    println!(
        "{what}: limit {limit}/s, {ok} passed in {window:?} = {rate:.1}/s ({:+.2}% of the limit), \
         {refused} refused with \"qps overload, total_limit={limit}\", {failed} other failures",
        (rate / f64::from(limit) - 1.0) * 100.0
    );
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let qps: u32 = args.first().map_or(Ok(500), |s| s.parse())?;
    let interval = args
        .get(1)
        .map_or(Ok(Duration::from_secs(1)), |s| parse_go_duration(s))?;
    let callers: usize = args.get(2).map_or(Ok(4), |s| s.parse())?;

    let overloader = Overloader::new(
        LimitConfig::default()
            .max_conn(MAX_CONN)
            .max_total_qps(qps)
            .qps_interval(interval),
    )?;
    let handle = overloader.clone();
    let srv = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/math/add", |_ctx: CallCtx, v: Vec<i64>| async move {
        Ok::<_, Status>(v.iter().sum::<i64>())
    })
    .plugin(overloader)
    .build()?;
    let addr = srv.listen().await?;
    let cli = builder(PeerConfig {
        redial_times: 0,
        ..PeerConfig::default()
    })
    .build()?;

    // ---- connections ----
    let mut sessions = Vec::new();
    for _ in 0..MAX_CONN {
        let s = cli.dial(&addr).await?;
        let _: i64 = s.call("/math/add", &[1]).await?;
        sessions.push(s);
    }
    let mut refusal = Vec::new();
    let mut live = Vec::new();
    let attempts = 50;
    for _ in 0..attempts {
        let t = Instant::now();
        let refused = match cli.dial(&addr).await {
            Err(_) => true,
            Ok(extra) => {
                let r: Result<i64, Status> = extra.call("/math/add", &[1]).await;
                matches!(r, Err(st) if st.code() == Code::CONN_CLOSED)
            }
        };
        assert!(refused, "connection {} was admitted", MAX_CONN + 1);
        refusal.push(t.elapsed());
        let t = Instant::now();
        let _: i64 = sessions[0].call("/math/add", &[1]).await?;
        live.push(t.elapsed());
    }
    println!(
        "maxconn {MAX_CONN}: {attempts}/{attempts} extra connections refused (closed with nothing \
         sent), dial to refusal p50 {:?} max {:?}; meanwhile an admitted session's call p50 {:?} \
         max {:?}; the server counts {} connections",
        percentile(&mut refusal, 0.5),
        percentile(&mut refusal, 1.0),
        percentile(&mut live, 0.5),
        percentile(&mut live, 1.0),
        handle.connections()
    );
    sessions.pop().expect("one").close();
    while handle.connections() >= MAX_CONN {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let s = cli.dial(&addr).await?;
    let _: i64 = s.call("/math/add", &[1]).await?;
    sessions.push(s);
    println!("after one session closed, a new connection was admitted");

    // ---- QPS ----
    // The first interval drains the initial (full) bucket; the window then covers exactly
    // ten seconds of refills.
    let warmup = interval.max(Duration::from_millis(500));
    let window = Duration::from_secs(10);
    report(
        "total qps",
        qps,
        window,
        hammer(&sessions, callers, warmup, window).await,
    );
    let doubled = qps * 2;
    handle.update(handle.limits().max_total_qps(doubled))?;
    let window = Duration::from_secs(5);
    report(
        "after update(max_total_qps * 2)",
        doubled,
        window,
        hammer(&sessions, callers, warmup, window).await,
    );
    cli.close().await;
    srv.close().await;
    Ok(())
}
