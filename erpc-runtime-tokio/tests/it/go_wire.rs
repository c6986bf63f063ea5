//! Interop with Go eRPC, proven on bytes: the client frames a Go eRPC client wrote (captured
//! on a loopback socket, `tests/vectors/`) are played over a raw socket at an erpc-rs tokio
//! server, and what comes back must be byte for byte what the Go server answered.

use crate::common;
use std::path::PathBuf;

use common::{local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, Raw, Status};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn vector(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/vectors")
        .join(format!("{name}.hex"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let clean: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(clean).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The Go test server: `/math/add`, `/err/code`, heartbeat pong.
fn go_like_server() -> Peer {
    builder(local())
        .call("/math/add", |ctx: CallCtx, args: Vec<i64>| async move {
            assert_eq!(ctx.peek_meta("author"), Some("henrylee2cn"));
            Ok::<_, Status>(args.iter().sum::<i64>())
        })
        .call("/err/code", |_ctx: CallCtx, _: Raw| async move {
            Err::<i64, _>(Status::new(
                Code(1001),
                "custom error",
                Some("custom cause"),
            ))
        })
        .heartbeat_pong()
        .build()
        .unwrap()
}

/// Reads one whole rawproto frame: a u32 BE total length that counts itself, then the rest.
async fn read_frame(s: &mut TcpStream) -> Vec<u8> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let total = u32::from_be_bytes(len) as usize;
    assert!(
        (5..1 << 20).contains(&total),
        "implausible frame length {total}"
    );
    let mut frame = len.to_vec();
    frame.resize(total, 0);
    s.read_exact(&mut frame[4..]).await.unwrap();
    frame
}

async fn exchange(s: &mut TcpStream, call: &str, want: &str) {
    s.write_all(&vector(call)).await.unwrap();
    let got = within(call, read_frame(s)).await;
    let want_bytes = vector(want);
    assert_eq!(
        hex::encode(&got),
        hex::encode(&want_bytes),
        "reply to {call} differs from Go's {want}:\n got  {:?}\n want {:?}",
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want_bytes)
    );
}

#[tokio::test]
async fn replies_match_the_go_server_byte_for_byte() {
    let server = go_like_server();
    let addr = server.listen().await.unwrap();
    let mut s = within("connect", TcpStream::connect(&addr)).await.unwrap();
    exchange(&mut s, "raw_call_math_add", "raw_reply_math_add").await;
    exchange(&mut s, "raw_call_err_code", "raw_reply_err_code").await;
    exchange(&mut s, "raw_call_not_found", "raw_reply_not_found").await;

    // The Go heart-ping's first CALL gets Go's pong, on a connection of its own (seq 1 again).
    let mut hb = within("connect", TcpStream::connect(&addr)).await.unwrap();
    exchange(
        &mut hb,
        "raw_heartbeat_ping_call",
        "raw_heartbeat_pong_reply",
    )
    .await;
    drop((s, hb));
    within("server close", server.close()).await;
}

#[tokio::test]
async fn pipelined_go_frames_in_one_write_get_every_reply() {
    let server = go_like_server();
    let addr = server.listen().await.unwrap();
    let mut s = within("connect", TcpStream::connect(&addr)).await.unwrap();
    let mut all = vector("raw_call_math_add");
    all.extend(vector("raw_call_err_code"));
    all.extend(vector("raw_call_not_found"));
    s.write_all(&all).await.unwrap();
    // Handlers run concurrently, so replies may come in any order (as with Go).
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(hex::encode(
            within("pipelined reply", read_frame(&mut s)).await,
        ));
    }
    got.sort();
    let mut want: Vec<String> = [
        "raw_reply_math_add",
        "raw_reply_err_code",
        "raw_reply_not_found",
    ]
    .iter()
    .map(|n| hex::encode(vector(n)))
    .collect();
    want.sort();
    assert_eq!(got, want);
    drop(s);
    within("server close", server.close()).await;
}

#[tokio::test]
async fn frames_split_byte_by_byte_are_reassembled() {
    let server = go_like_server();
    let addr = server.listen().await.unwrap();
    let mut s = within("connect", TcpStream::connect(&addr)).await.unwrap();
    s.set_nodelay(true).unwrap();
    for b in vector("raw_call_math_add") {
        s.write_all(&[b]).await.unwrap();
        s.flush().await.unwrap();
    }
    let got = within("reply to a dribbled frame", read_frame(&mut s)).await;
    assert_eq!(got, vector("raw_reply_math_add"));
    drop(s);
    within("server close", server.close()).await;
}
