//! Go eRPC's `examples/proxy_and_seq` on erpc-rs: a front peer serves no route of its own
//! and forwards every call and push (Go's plugin/proxy) to an upstream over one session;
//! many callers share that session, each reply finds its caller (the proxy maps its own
//! seqs to theirs), and the upstream sees the caller's address in `X-Real-IP`.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example proxy_and_seq
//! ```

use erpc_runtime_tokio::plugins::{Proxy, Upstream};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};
use futures_util::future::join_all;

fn loopback() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The upstream: Go's server.go (`/math/add`).
    let upstream = builder(loopback())
        .call("/math/add", |ctx: CallCtx, nums: Vec<i64>| async move {
            let who = ctx.real_ip();
            Ok::<_, Status>(format!("{} (for {who})", nums.iter().sum::<i64>()))
        })
        .build()?;
    let up_addr = upstream.listen().await?;

    // The proxy: every unknown call and push goes to the upstream.
    let dialer = builder(PeerConfig {
        redial_times: 3,
        ..PeerConfig::default()
    })
    .build()?;
    let front = builder(loopback())
        .service(Proxy::new(Upstream::new(dialer, up_addr)))
        .build()?;
    let front_addr = front.listen().await?;

    // Ten callers, each with its own seqs, through the proxy at once.
    let client = builder(PeerConfig::default()).build()?;
    let sess = client.dial(&front_addr).await?;
    let calls = (0..10i64).map(|i| {
        let sess = sess.clone();
        async move { (i, sess.call::<_, String>("/math/add", &[i, 100]).await) }
    });
    for (i, r) in join_all(calls).await {
        println!("{i} + 100 = {:?}", r);
    }
    client.close().await;
    front.close().await;
    upstream.close().await;
    Ok(())
}
