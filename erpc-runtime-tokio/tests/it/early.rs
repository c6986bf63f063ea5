//! Early exchange (Go's `PreSend`/`PreReceive` in `PostDial`/`PostAccept`, as in Go's
//! `examples/early_comm`): messages on a new connection before its session opens.

use std::time::Duration;

use crate::common::{local, within};
use erpc_runtime_tokio::early::EarlyConn;
use erpc_runtime_tokio::erpc_proto::MessageType;
use erpc_runtime_tokio::{builder, CallCtx, Code, Message, PeerConfig, PushCtx, Status};
use tokio::sync::mpsc;

/// Go's early_comm server: `/early/ping` with `{"author": "henrylee2cn"}` gets an OK
/// `/early/pong` reply, anything else a reply with status 10005.
fn early_server() -> erpc_runtime_tokio::PeerBuilder {
    builder(local())
        .early_accept(|conn: &mut EarlyConn| {
            Box::pin(async move {
                let ping = conn.receive().await?;
                let mut pong = Message::new(MessageType::REPLY, ping.seq, "/early/pong");
                pong.body_codec = ping.body_codec;
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
        })
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
}

fn early_client(author: &'static str) -> erpc_runtime_tokio::Peer {
    builder(PeerConfig::default())
        .early_dial(move |conn: &mut EarlyConn| {
            Box::pin(async move {
                let mut ping = Message::new(MessageType::CALL, 1, "/early/ping");
                ping.body_codec = erpc_runtime_tokio::CodecId::JSON;
                ping.body = format!(r#"{{"author":"{author}"}}"#).into();
                conn.send(&ping).await?;
                let pong = conn.receive().await?;
                if !pong.status.is_ok() {
                    return Err(pong.status);
                }
                assert_eq!(pong.service_method, "/early/pong");
                assert_eq!(&pong.body[..], br#""OK""#);
                Ok(())
            })
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn go_early_comm_example() {
    let server = early_server().build().unwrap();
    let addr = server.listen().await.unwrap();
    let client = early_client("henrylee2cn");
    let s = within("dial", client.dial(&addr)).await.unwrap();
    assert_eq!(s.call::<_, i64>("/echo", &5).await.unwrap(), 5);
}

#[tokio::test]
async fn a_refused_exchange_fails_the_dial_with_its_status() {
    let server = early_server().build().unwrap();
    let addr = server.listen().await.unwrap();
    let client = early_client("someone else");
    let err = within("dial", client.dial(&addr)).await.unwrap_err();
    // 105 as every failed dial, with the exchange's own status as its source.
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert_eq!(err.cause(), Some("someone else"));
    let own = std::error::Error::source(&err)
        .and_then(|e| e.downcast_ref::<Status>())
        .expect("the exchange's status");
    assert_eq!(own.code(), Code(10005));
    assert_eq!(own.msg(), "incorrect author");
}

#[tokio::test]
async fn bytes_past_the_early_messages_reach_the_session() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let server = builder(local())
        .early_accept(|conn: &mut EarlyConn| {
            Box::pin(async move {
                let hello = conn.receive().await?;
                assert_eq!(hello.service_method, "/early/hello");
                Ok(())
            })
        })
        .push("/after", move |_ctx: PushCtx, n: i64| {
            let _ = tx.send(n);
            async {}
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    // The early message and the session's first push leave in one write.
    let client = builder(PeerConfig::default())
        .early_dial(|conn: &mut EarlyConn| {
            Box::pin(async move {
                conn.send(&Message::new(MessageType::PUSH, 1, "/early/hello"))
                    .await
            })
        })
        .build()
        .unwrap();
    let s = within("dial", client.dial(&addr)).await.unwrap();
    s.push("/after", &42).await.unwrap();
    assert_eq!(within("push", rx.recv()).await, Some(42));
}

#[tokio::test]
async fn an_exchange_that_never_ends_is_bounded_by_the_auth_timeout() {
    let server = builder(PeerConfig {
        auth_timeout: Duration::from_millis(200),
        ..local()
    })
    .early_accept(|conn: &mut EarlyConn| {
        Box::pin(async move {
            // Waits for an early message the client never sends.
            conn.receive().await.map(drop)
        })
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig {
        auth_timeout: Duration::from_millis(200),
        ..PeerConfig::default()
    })
    .early_dial(|conn: &mut EarlyConn| {
        Box::pin(async move {
            // And waits for the server's, which never comes either.
            conn.receive().await.map(drop)
        })
    })
    .build()
    .unwrap();
    let err = within("dial", client.dial(&addr)).await.unwrap_err();
    assert!(
        err.cause().unwrap_or("").contains("early exchange"),
        "{err}"
    );
    // A connection that sends nothing is dropped by the server once its bound passed.
    let mut raw = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    let n = within(
        "server closes",
        tokio::io::AsyncReadExt::read(&mut raw, &mut buf),
    )
    .await
    .unwrap_or(0);
    assert_eq!(n, 0, "the server sent something");
}
