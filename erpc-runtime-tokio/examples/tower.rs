//! tower's layers on both sides: a handler that is a `tower::Service` (one at a time, the
//! rest shed, each within 100 ms), and a client whose calls go through a concurrency limit and
//! a timeout.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --features tower --example tower
//! ```

use std::time::Duration;

use erpc_runtime_tokio::tower::{Call, HandlerRequest};
use erpc_runtime_tokio::{builder, PeerConfig, Status};
use tower::{ServiceBuilder, ServiceExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Server: /math/add as a tower service with its own layers.
    let add = ServiceBuilder::new()
        .load_shed()
        .concurrency_limit(1)
        .timeout(Duration::from_millis(100))
        .service_fn(|req: HandlerRequest<Vec<i64>>| async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<_, Status>(req.args.iter().sum::<i64>())
        });
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call_service("/math/add", add)
    .build()?;
    let addr = server.listen().await?;

    // Client: the session as a tower service, at most 4 calls in flight, each within 1 s.
    let client = builder(PeerConfig::default()).build()?;
    let session = client.dial(&addr).await?;
    let math = ServiceBuilder::new()
        .concurrency_limit(4)
        .timeout(Duration::from_secs(1))
        .service(session.tower::<Vec<i64>, i64>());
    let sum = math
        .clone()
        .oneshot(Call::new("/math/add", vec![1, 2, 3]))
        .await?
        .body;
    println!("1 + 2 + 3 = {sum}");

    // Four at once: the server runs one and sheds the others (500 "overloaded").
    let calls = (0..4).map(|i| math.clone().oneshot(Call::new("/math/add", vec![i, i])));
    for (i, r) in futures_util::future::join_all(calls)
        .await
        .into_iter()
        .enumerate()
    {
        match r {
            Ok(reply) => println!("call {i}: {}", reply.body),
            Err(e) => println!("call {i}: {e}"),
        }
    }
    client.close().await;
    server.close().await;
    Ok(())
}
