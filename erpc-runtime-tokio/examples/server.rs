//! Go eRPC README's `server.go` on erpc-rs: `Math.Add` at `/math/add`, and a broadcast push to
//! every session.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example server
//! ERPC_PUSH_INTERVAL=500ms ERPC_PORT=9090 cargo run -p erpc-runtime-tokio --example server
//! ```
//!
//! `ERPC_PUSH_INTERVAL` (Go duration syntax, default `5s`) sets the broadcast period,
//! `ERPC_PORT` (default 9090) the port, `ERPC_LISTEN_IP` (default `127.0.0.1`; Go's example
//! listens on every interface, `0.0.0.0`) the address. Ctrl-C or SIGTERM shuts down gracefully.
//! Works with Go's `client.go` as well as with `--example client`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use erpc_runtime_tokio::{
    builder, graceful_shutdown_on_signal, parse_go_duration, CallCtx, PeerConfig, Status,
};

fn env_or(key: &str, default: &str) -> String {
    std::env::var(key).unwrap_or_else(|_| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let interval =
        parse_go_duration(&env_or("ERPC_PUSH_INTERVAL", "5s"))?.max(Duration::from_millis(1));
    let srv = builder(PeerConfig {
        count_time: true,
        print_detail: true,
        local_ip: env_or("ERPC_LISTEN_IP", "127.0.0.1"),
        listen_port: env_or("ERPC_PORT", "9090").parse()?,
        ..PeerConfig::default()
    })
    // Go: `srv.RouteCall(new(Math))` with `func (m *Math) Add(arg *[]int) (int, *erpc.Status)`.
    .call("/math/add", |ctx: CallCtx, args: Vec<i64>| async move {
        tracing::info!("author: {}", ctx.peek_meta("author").unwrap_or(""));
        Ok::<_, Status>(args.iter().sum::<i64>())
    })
    .build()?;
    let addr = srv.listen().await?;
    tracing::info!(%addr, ?interval, "server ready");

    // Broadcast every `interval`.
    let broadcaster = srv.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            tick.tick().await;
            if broadcaster.is_closing() {
                break;
            }
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let text = format!(
                "this is a broadcast, server time: {}.{:03}",
                now.as_secs(),
                now.subsec_millis()
            );
            broadcaster.range_sessions(|sess| {
                let (sess, text) = (sess.clone(), text.clone());
                tokio::spawn(async move {
                    if let Err(st) = sess.push("/push/status", &text).await {
                        tracing::warn!(session = %sess.id(), %st, "push failed");
                    }
                });
                true
            });
        }
    });

    graceful_shutdown_on_signal(&srv).await?;
    tracing::info!("server stopped");
    Ok(())
}
