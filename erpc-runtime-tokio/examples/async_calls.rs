//! Go eRPC's `examples/async` on erpc-rs: one call polled until it is done, then a batch of
//! ten calls in flight at once, their replies taken as they come. (Go's `AsyncCall` with a
//! channel; here call futures, spawned or polled together.)
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example async_calls
//! ```

use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};
use futures_util::stream::{FuturesUnordered, StreamExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/test/wait", |_ctx: CallCtx, arg: String| async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        Ok::<_, Status>(format!("{arg} -> OK"))
    })
    .build()?;
    let addr = server.listen().await?;
    let client = builder(PeerConfig::default()).build()?;
    let sess = client.dial(&addr).await?;

    // Test 1: a single call running in the background, checked now and then.
    let single = tokio::spawn({
        let sess = sess.clone();
        async move {
            sess.call::<_, String>("/test/wait", &"Single asynchronous call")
                .await
        }
    });
    while !single.is_finished() {
        println!("test 1: not yet returned, try again later...");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("test 1: {:?}", single.await?);

    // Test 2: ten calls at once; the replies in the order they complete.
    let mut batch: FuturesUnordered<_> = (1..=10)
        .map(|i| {
            let sess = sess.clone();
            async move {
                sess.call::<_, String>("/test/wait", &format!("Batch asynchronous call {i}"))
                    .await
            }
        })
        .collect();
    while let Some(r) = batch.next().await {
        match r {
            Ok(v) => println!("test 2: result: {v}"),
            Err(e) => println!("test 2: error: {e}"),
        }
    }
    client.close().await;
    server.close().await;
    Ok(())
}
