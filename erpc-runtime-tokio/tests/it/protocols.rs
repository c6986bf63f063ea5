//! Every wire protocol end to end on tokio: chosen by `PeerConfig::protocol` and per
//! listen/dial, calls, error statuses, unknown routes, pushes where the protocol carries them,
//! transfer filters where it allows them, and many concurrent calls.

use std::time::Duration;

use erpc_runtime_tokio::erpc_proto;
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, PushCtx, Status};
use serde::{Deserialize, Serialize};

/// Structs, so that every codec can carry them (thrift-struct bodies must be Thrift structs).
#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
struct Nums {
    nums: Vec<i64>,
}

#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
struct Sum {
    sum: i64,
}

#[derive(Serialize, Deserialize, Default, Debug, PartialEq)]
struct Text {
    text: String,
}

fn nums(n: &[i64]) -> Nums {
    Nums { nums: n.to_vec() }
}

fn config(protocol: &str) -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        protocol: protocol.parse().expect("a protocol name"),
        // thrift-struct carries Thrift structs only.
        default_body_codec: if protocol == "thrift-struct" {
            "thrift"
        } else {
            "json"
        }
        .into(),
        ..PeerConfig::default()
    }
}

const ALL: [&str; 6] = ["raw", "json", "protobuf", "thrift", "thrift-struct", "http"];

async fn scenario(protocol: &str) {
    let server = builder(config(protocol))
        .call("/math/add", |_ctx: CallCtx, args: Nums| async move {
            Ok::<_, Status>(Sum {
                sum: args.nums.iter().sum(),
            })
        })
        .call("/err/code", |_ctx: CallCtx, _: Nums| async move {
            Err::<Sum, _>(Status::new(1001, "custom error", Some("custom cause")))
        })
        .push("/push/echo", |ctx: PushCtx, t: Text| async move {
            let _ = ctx.session().push("/push/echo_back", &t).await;
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(config(protocol))
        .push("/push/echo_back", move |_ctx: PushCtx, t: Text| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(t.text);
            }
        })
        .build()
        .unwrap();
    let s = client.dial(&addr).await.unwrap();
    let sum: Sum = s.call("/math/add", &nums(&[1, 2, 3, 4, 5])).await.unwrap();
    assert_eq!(sum.sum, 15, "{protocol}");
    let err = s.call::<_, Sum>("/err/code", &nums(&[])).await.unwrap_err();
    assert_eq!(err.code().0, 1001, "{protocol}");
    assert_eq!(err.cause(), Some("custom cause"), "{protocol}");
    let err = s.call::<_, Sum>("/no/such", &nums(&[])).await.unwrap_err();
    assert_eq!(err.code().0, 404, "{protocol}");

    // Many calls at once on the one session.
    let mut set = tokio::task::JoinSet::new();
    for i in 0..200i64 {
        let s = s.clone();
        set.spawn(async move { (i, s.call::<_, Sum>("/math/add", &nums(&[i, 1])).await) });
    }
    while let Some(r) = set.join_next().await {
        let (i, got) = r.unwrap();
        assert_eq!(got.unwrap().sum, i + 1, "{protocol}");
    }

    // Filters: gzip everywhere but thrift-struct (Go forbids filters there).
    if protocol != "thrift-struct" {
        let r = s
            .call_with("/math/add")
            .xfer(b"g")
            .send::<_, Sum>(&nums(&[2, 2]))
            .await
            .unwrap();
        assert_eq!(r.body.sum, 4, "{protocol}");
    }

    // PUSH: httproto cannot carry it (as in Go); the others round-trip it.
    let pushed = s
        .push(
            "/push/echo",
            &Text {
                text: "ping".into(),
            },
        )
        .await;
    if protocol == "http" {
        assert_eq!(
            pushed.unwrap_err().code().0,
            104,
            "PUSH over http is refused locally"
        );
    } else {
        pushed.unwrap();
        let back = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, "ping", "{protocol}");
    }
    server.close().await;
    client.close().await;
}

#[tokio::test]
async fn every_protocol_by_config() {
    for p in ALL {
        tokio::time::timeout(Duration::from_secs(20), scenario(p))
            .await
            .unwrap_or_else(|_| panic!("{p} timed out"));
    }
}

#[tokio::test]
async fn protocol_per_listener_and_dial() {
    // One peer listening raw and json at once; the client dials each explicitly.
    let server = builder(config("raw"))
        .call("/math/add", |_ctx: CallCtx, args: Vec<i64>| async move {
            Ok::<_, Status>(args.iter().sum::<i64>())
        })
        .build()
        .unwrap();
    let raw_addr = server.listen().await.unwrap();
    let json = erpc_proto::proto::by_name("json").unwrap();
    let json_addr = server
        .listen_on_with(server.endpoint("127.0.0.1:0"), json.clone())
        .await
        .unwrap();
    let client = builder(config("raw")).build().unwrap();
    let a = client.dial(&raw_addr).await.unwrap();
    let b = client.dial_with(&json_addr, json).await.unwrap();
    assert_eq!(a.call::<_, i64>("/math/add", &[1, 2]).await.unwrap(), 3);
    assert_eq!(b.call::<_, i64>("/math/add", &[3, 4]).await.unwrap(), 7);
    server.close().await;
    client.close().await;
}

#[test]
fn unknown_protocol_names_are_refused_with_the_known_ones() {
    let e = "carrier-pigeon"
        .parse::<erpc_runtime_tokio::WireProtocol>()
        .unwrap_err();
    assert_eq!(e.name, "carrier-pigeon");
    assert!(
        e.to_string().contains("raw, json, protobuf, pb, thrift"),
        "{e}"
    );
}
