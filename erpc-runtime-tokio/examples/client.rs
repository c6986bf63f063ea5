//! Go eRPC README's `client.go` on erpc-rs: call `/math/add` with meta `author`, then receive
//! the server's `/push/status` broadcasts.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example server     # in one terminal
//! cargo run -p erpc-runtime-tokio --example client     # in another
//! ERPC_ADDR=127.0.0.1:9090 ERPC_WAIT=2s cargo run -p erpc-runtime-tokio --example client
//! ```
//!
//! `ERPC_ADDR` (default `127.0.0.1:9090`) is the server, `ERPC_WAIT` (Go duration, default
//! `10s`, as Go's example) how long to listen for pushes; Ctrl-C ends it earlier, gracefully,
//! and so does the server closing the session.
//! Works against Go's `server.go` as well as `--example server`.

use erpc_runtime_tokio::{
    builder, graceful_shutdown_on_signal, parse_go_duration, PeerConfig, PushCtx,
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
    let addr = env_or("ERPC_ADDR", "127.0.0.1:9090");
    let wait = parse_go_duration(&env_or("ERPC_WAIT", "10s"))?;

    let cli = builder(PeerConfig::default())
        // Go: `cli.RoutePush(new(Push))` with `func (p *Push) Status(arg *string) *erpc.Status`.
        .push("/push/status", |_ctx: PushCtx, arg: String| async move {
            tracing::info!("{arg}");
        })
        .build()?;

    let sess = match cli.dial(&addr).await {
        Ok(s) => s,
        Err(st) => {
            tracing::error!(%st, %addr, "dial failed");
            std::process::exit(1);
        }
    };
    let result: i64 = match sess
        .call_with("/math/add")
        .meta("author", "henrylee2cn")
        .send(&[1, 2, 3, 4, 5])
        .await
    {
        Ok(r) => r.body,
        Err(st) => {
            tracing::error!(%st, "call failed");
            std::process::exit(1);
        }
    };
    tracing::info!("result: {result}");

    tracing::info!("Wait {wait:?} to receive the push...");
    tokio::select! {
        r = graceful_shutdown_on_signal(&cli) => r?,
        _ = tokio::time::sleep(wait) => cli.close().await,
        _ = sess.closed() => tracing::info!("the server closed the session"),
    }
    Ok(())
}
