//! Go eRPC's `examples/age` on erpc-rs: a session age (the server closes every session
//! after it) and a context age (a handler that runs longer is answered `408` by the
//! session), against a caller-side timeout. Ages are shorter than Go's so it ends quickly.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example age
//! ```

use std::time::Duration;

use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        default_session_age: Duration::from_millis(1400),
        default_context_age: Duration::from_millis(400),
        ..PeerConfig::default()
    })
    .call("/test/ok", |_ctx: CallCtx, arg: String| async move {
        Ok::<_, Status>(format!("{arg} -> OK"))
    })
    .call("/test/timeout", |_ctx: CallCtx, arg: String| async move {
        tokio::time::sleep(Duration::from_millis(800)).await;
        Ok::<_, Status>(format!("{arg} -> Not Timeout"))
    })
    .build()?;
    let addr = server.listen().await?;

    let client = builder(PeerConfig::default()).build()?;
    let sess = client.dial(&addr).await?;
    let r: String = sess.call("/test/ok", &"test1").await?;
    println!("test sync1: {r}");
    let e = sess.call::<_, String>("/test/timeout", &"test2").await;
    println!("test sync2: server context timeout: {e:?}");
    let e = sess
        .call_with("/test/timeout")
        .timeout(Duration::from_millis(200))
        .send::<_, String>(&"test3")
        .await;
    println!("test async1: client timeout: {e:?}");

    tokio::time::sleep(Duration::from_millis(1500)).await;
    let e = sess.call::<_, String>("/test/ok", &"test4").await;
    println!("test sync3: disconnected by the server's session age: {e:?}");
    client.close().await;
    server.close().await;
    Ok(())
}
