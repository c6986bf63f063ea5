//! Go eRPC's `examples/early_comm` on erpc-rs: before the session opens, the client sends
//! `/early/ping` with its author and the server answers `/early/pong` (or a 10005 status,
//! which fails the dial). Server and client run in this one process.
//!
//! ```text
//! cargo run -p erpc-runtime-tokio --example early_comm
//! ```

use erpc_runtime_tokio::early::EarlyConn;
use erpc_runtime_tokio::erpc_proto::MessageType;
use erpc_runtime_tokio::{builder, CallCtx, CodecId, Message, PeerConfig, Status};

/// The server's side: Go's `PostAccept` with `PreReceive` then `PreSend`.
fn check_author(conn: &mut EarlyConn) -> erpc_runtime_tokio::early::EarlyFuture<'_> {
    Box::pin(async move {
        let ping = conn.receive().await?;
        let mut pong = Message::new(MessageType::REPLY, ping.seq, "/early/pong");
        pong.body_codec = CodecId::JSON;
        let author = serde_json::from_slice::<serde_json::Value>(&ping.body)
            .ok()
            .and_then(|v| v["author"].as_str().map(str::to_owned));
        if ping.service_method != "/early/ping" {
            pong.status = Status::new(10005, "unexpected request", None::<String>);
        } else if author.as_deref() != Some("henrylee2cn") {
            pong.status = Status::new(10005, "incorrect author", author);
        } else {
            pong.body = r#""OK""#.into();
        }
        conn.send(&pong).await
    })
}

/// The client's side: Go's `PostDial` with `PreSend` then `PreReceive`.
fn introduce(
    author: &'static str,
) -> impl for<'a> Fn(&'a mut EarlyConn) -> erpc_runtime_tokio::early::EarlyFuture<'a>
       + Send
       + Sync
       + 'static {
    move |conn| {
        Box::pin(async move {
            let mut ping = Message::new(MessageType::CALL, 1, "/early/ping");
            ping.body_codec = CodecId::JSON;
            ping.body = serde_json::json!({ "author": author }).to_string().into();
            conn.send(&ping).await?;
            let pong = conn.receive().await?;
            if !pong.status.is_ok() {
                return Err(pong.status);
            }
            println!("early result: {}", String::from_utf8_lossy(&pong.body));
            Ok(())
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .early_accept(check_author)
    .call("/hello", |_ctx: CallCtx, name: String| async move {
        Ok::<_, Status>(format!("hello, {name}"))
    })
    .build()?;
    let addr = server.listen().await?;

    let client = builder(PeerConfig::default())
        .early_dial(introduce("henrylee2cn"))
        .build()?;
    let session = client.dial(&addr).await?;
    let greeting: String = session.call("/hello", &"early bird").await?;
    println!("after the early exchange: {greeting}");

    let stranger = builder(PeerConfig::default())
        .early_dial(introduce("someone else"))
        .build()?;
    match stranger.dial(&addr).await {
        Ok(_) => println!("unexpected: the stranger got in"),
        Err(e) => println!("the stranger's dial failed: {e}"),
    }
    client.close().await;
    server.close().await;
    Ok(())
}
