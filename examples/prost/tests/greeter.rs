//! The generated types on the wire: a call through a real loopback session, bad input
//! refused, and the generated benchmark message byte-identical to the one Go eRPC sends.

use erpc_example_prost::{greeter::HelloRequest, msg, say_hello, server, MAX_TIMES};
use erpc_proto::testing::BenchmarkMessage;
use erpc_runtime_tokio::{builder, PeerConfig};
use prost::Message as _;

#[tokio::test]
async fn generated_types_over_a_session() {
    let srv = server(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .unwrap();
    let addr = srv.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let session = client.dial(&addr).await.unwrap();
    let reply = say_hello(
        &session,
        HelloRequest {
            name: "prost".into(),
            times: 2,
        },
    )
    .await
    .unwrap();
    assert_eq!(reply.lines, ["hello prost", "hello prost"]);
    let st = say_hello(
        &session,
        HelloRequest {
            name: "x".into(),
            times: MAX_TIMES + 1,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(st.code().0, 400, "{st}");
    client.close().await;
    srv.close().await;
}

/// The message prost-build generates from `benchmark.proto`, filled as Go's benchmark fills
/// it, from the hand-written one whose bytes the interop tests compare with Go's.
fn generated_filled() -> msg::BenchmarkMessage {
    msg::BenchmarkMessage::decode(BenchmarkMessage::filled().encode_to_vec().as_slice())
        .expect("the generated type reads Go's message")
}

#[test]
fn generated_benchmark_message_encodes_as_go_does() {
    let go_bytes = BenchmarkMessage::filled().encode_to_vec();
    assert_eq!(go_bytes.len(), 581);
    let generated = generated_filled();
    assert_eq!(generated.field1, "许多往事在眼前一幕一幕，变的那麼模糊");
    assert_eq!(generated.encode_to_vec(), go_bytes);
    // And the other way: the hand-written type reads what the generated one writes.
    let back = BenchmarkMessage::decode(generated.encode_to_vec().as_slice()).unwrap();
    assert_eq!(back, BenchmarkMessage::filled());
}
