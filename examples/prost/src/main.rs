//! `cargo run -p erpc-example-prost`: a greeter server and a client on loopback, with
//! prost-generated types.

use erpc_example_prost::{greeter::HelloRequest, say_hello, server};
use erpc_runtime_tokio::{builder, PeerConfig};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let srv = server(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })?;
    let addr = srv.listen().await?;
    let client = builder(PeerConfig::default()).build()?;
    let session = client.dial(&addr).await?;
    let reply = say_hello(
        &session,
        HelloRequest {
            name: "erpc".into(),
            times: 3,
        },
    )
    .await?;
    for line in reply.lines {
        println!("{line}");
    }
    client.close().await;
    srv.close().await;
    Ok(())
}
