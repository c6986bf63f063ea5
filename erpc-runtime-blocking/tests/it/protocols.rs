//! The wire protocol per listener and per dial, whatever the peer's default.

use erpc_runtime_blocking::{builder, erpc_proto, CallCtx, PeerConfig, Status};

#[test]
fn protocol_per_listener_and_dial() {
    let cfg = PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    };
    let server = builder(cfg.clone())
        .call("/math/add", |_ctx: CallCtx, args: Vec<i64>| {
            Ok::<_, Status>(args.iter().sum::<i64>())
        })
        .build()
        .unwrap();
    let raw_addr = server.listen().unwrap();
    let json = erpc_proto::proto::by_name("json").unwrap();
    let json_addr = server
        .listen_on_with(server.endpoint("127.0.0.1:0"), json.clone())
        .unwrap();
    let client = builder(cfg).build().unwrap();
    let a = client.dial(&raw_addr).unwrap();
    let b = client.dial_with(&json_addr, json).unwrap();
    assert_eq!(a.call::<_, i64>("/math/add", &[1, 2]).unwrap(), 3);
    assert_eq!(b.call::<_, i64>("/math/add", &[3, 4]).unwrap(), 7);
    client.close();
    server.close();
}
