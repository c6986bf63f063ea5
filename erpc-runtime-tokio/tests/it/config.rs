//! `PeerConfig` from TOML and JSON files with Go's keys (`network`, `local_ip`,
//! `listen_port`, …), Go's duration syntax (`100ms`, `1.5s`, `2m`, `1h`) and Go's defaults;
//! and a peer built from such a file actually listening.
//!
//! Go eRPC's own config files are YAML (cfgo). `PeerConfig`'s serde impls do not depend on
//! the format: TOML stands for the formats that say what type a value has (quoted durations),
//! JSON for the self-describing ones like YAML (a bare number is a Go `time.Duration` in
//! nanoseconds, a string is Go's duration syntax). The tests used serde_yaml before; it is
//! deprecated, and a YAML crate would test nothing here that JSON does not.

use crate::common;
use std::time::Duration;

use common::{echo_ok, within};
use erpc_runtime_tokio::{
    builder, BodyCodec, CallCtx, Network, PeerConfig, Status, WireProtocol, WsSubprotocol,
};

/// Every key of Go's `PeerConfig` (the yaml tags of `erpc.PeerConfig`).
const GO_JSON: &str = r#"{
  "network": "tcp4",
  "local_ip": "127.0.0.1",
  "listen_port": 9090,
  "dial_timeout": "3s",
  "redial_times": -1,
  "redial_interval": "150ms",
  "default_body_codec": "protobuf",
  "default_session_age": "1h30m",
  "default_context_age": "1.5s",
  "slow_comet_duration": "500ms",
  "print_detail": true,
  "count_time": true
}"#;

const GO_TOML: &str = r#"
network = "tcp4"
local_ip = "127.0.0.1"
listen_port = 9090
dial_timeout = "3s"
redial_times = -1
redial_interval = "150ms"
default_body_codec = "protobuf"
default_session_age = "1h30m"
default_context_age = "1.5s"
slow_comet_duration = "500ms"
print_detail = true
count_time = true
"#;

fn check_go_file(cfg: &PeerConfig) {
    assert_eq!(cfg.network, "tcp4");
    assert_eq!(cfg.local_ip, "127.0.0.1");
    assert_eq!(cfg.listen_port, 9090);
    assert_eq!(cfg.dial_timeout, Duration::from_secs(3));
    assert_eq!(cfg.redial_times, -1);
    assert_eq!(cfg.redial_interval, Duration::from_millis(150));
    assert_eq!(cfg.default_body_codec, "protobuf");
    assert_eq!(cfg.default_session_age, Duration::from_secs(5400));
    assert_eq!(cfg.default_context_age, Duration::from_millis(1500));
    assert_eq!(cfg.slow_comet_duration, Duration::from_millis(500));
    assert!(cfg.print_detail);
    assert!(cfg.count_time);
    // Keys the file did not name keep their defaults.
    let d = PeerConfig::default();
    assert_eq!(cfg.max_message_size, d.max_message_size);
    assert_eq!(cfg.shutdown_timeout, d.shutdown_timeout);
    assert_eq!(cfg.call_timeout, d.call_timeout);
}

#[test]
fn go_keys_from_json() {
    let cfg: PeerConfig = serde_json::from_str(GO_JSON).unwrap();
    check_go_file(&cfg);
}

#[test]
fn go_keys_from_toml() {
    let cfg: PeerConfig = toml::from_str(GO_TOML).unwrap();
    check_go_file(&cfg);
}

#[test]
fn empty_files_give_go_defaults() {
    for cfg in [
        serde_json::from_str::<PeerConfig>("{}").unwrap(),
        toml::from_str::<PeerConfig>("").unwrap(),
    ] {
        // Go's PeerConfig after its check(): §11.1 of the reference.
        assert_eq!(cfg.network, "tcp");
        assert_eq!(cfg.local_ip, "0.0.0.0");
        assert_eq!(cfg.listen_port, 0);
        assert_eq!(cfg.dial_timeout, Duration::ZERO);
        assert_eq!(cfg.redial_times, 0);
        assert_eq!(cfg.redial_interval, Duration::from_millis(100));
        assert_eq!(cfg.default_body_codec, "json");
        assert_eq!(cfg.default_session_age, Duration::ZERO);
        assert_eq!(cfg.default_context_age, Duration::ZERO);
        assert_eq!(cfg.slow_comet_duration, Duration::ZERO);
        assert!(!cfg.print_detail);
        assert!(!cfg.count_time);
        // Go's process-wide defaults: no-delay on, 1 GiB read limit.
        assert!(cfg.tcp_nodelay);
        assert_eq!(cfg.max_message_size, 1 << 30);
        assert_eq!(cfg, PeerConfig::default());
    }
}

#[test]
fn durations_in_go_syntax_and_bad_values() {
    let cases = [
        ("0", Duration::ZERO),
        ("0s", Duration::ZERO),
        ("250us", Duration::from_micros(250)),
        ("250µs", Duration::from_micros(250)),
        ("10ns", Duration::from_nanos(10)),
        ("2m", Duration::from_secs(120)),
        ("1h", Duration::from_secs(3600)),
        ("1m30s", Duration::from_secs(90)),
    ];
    for (text, want) in cases {
        let cfg: PeerConfig =
            serde_json::from_str(&format!(r#"{{"dial_timeout": "{text}"}}"#)).unwrap();
        assert_eq!(cfg.dial_timeout, want, "json {text}");
        let cfg: PeerConfig = toml::from_str(&format!("dial_timeout = \"{text}\"")).unwrap();
        assert_eq!(cfg.dial_timeout, want, "toml {text}");
    }
    // A bare integer is nanoseconds, like a Go time.Duration.
    let cfg: PeerConfig = toml::from_str("dial_timeout = 1500000000").unwrap();
    assert_eq!(cfg.dial_timeout, Duration::from_millis(1500));
    let cfg: PeerConfig = serde_json::from_str(r#"{"dial_timeout": 0}"#).unwrap();
    assert_eq!(cfg.dial_timeout, Duration::ZERO);
    let cfg: PeerConfig = serde_json::from_str(r#"{"dial_timeout": 250000}"#).unwrap();
    assert_eq!(cfg.dial_timeout, Duration::from_micros(250));
    for bad in ["5", "5x", "ms", "-1s", "1.2.3s"] {
        assert!(
            serde_json::from_str::<PeerConfig>(&format!(r#"{{"dial_timeout": "{bad}"}}"#)).is_err(),
            "{bad}"
        );
    }
    assert!(toml::from_str::<PeerConfig>("redial_times = \"many\"").is_err());
}

#[test]
fn unknown_names_fail_to_load_and_say_what_is_accepted() {
    let e = toml::from_str::<PeerConfig>(r#"network = "carrier-pigeon""#).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("unknown network \"carrier-pigeon\""),
        "{text}"
    );
    assert!(
        text.contains("tcp, tcp4, tcp6, unix, unixpacket, kcp, ws"),
        "{text}"
    );
    let e = serde_json::from_str::<PeerConfig>(r#"{"protocol": "grpc"}"#).unwrap_err();
    assert!(e.to_string().contains("unknown protocol \"grpc\""), "{e}");
    let e = serde_json::from_str::<PeerConfig>(r#"{"ws_subproto": "xml"}"#).unwrap_err();
    assert!(
        e.to_string().contains("unknown ws sub-protocol \"xml\""),
        "{e}"
    );
    // Go's names and their aliases load as the typed values.
    let cfg: PeerConfig =
        toml::from_str("network = \"unixpacket\"\nprotocol = \"pb\"\nws_subproto = \"pb\"")
            .unwrap();
    assert_eq!(cfg.network, Network::Unixpacket);
    assert_eq!(cfg.protocol, WireProtocol::Protobuf);
    assert_eq!(cfg.ws_subproto, WsSubprotocol::Pb);
    // A codec name that is none of the built-in ones is a custom codec's, checked at build.
    let cfg: PeerConfig = toml::from_str("default_body_codec = \"pretty-json\"").unwrap();
    assert_eq!(
        cfg.default_body_codec,
        BodyCodec::Custom("pretty-json".into())
    );
    assert_eq!(
        toml::to_string(&cfg)
            .unwrap()
            .lines()
            .find(|l| l.starts_with("default_body")),
        Some("default_body_codec = \"pretty-json\"")
    );
}

#[test]
fn round_trips_through_json_and_toml() {
    let cfg: PeerConfig = serde_json::from_str(GO_JSON).unwrap();
    let json = serde_json::to_string(&cfg).unwrap();
    assert!(json.contains(r#""redial_interval":"150ms""#), "{json}");
    assert_eq!(serde_json::from_str::<PeerConfig>(&json).unwrap(), cfg);
    let text = toml::to_string(&cfg).unwrap();
    assert!(text.contains("default_session_age = \"5400s\""), "{text}");
    assert_eq!(toml::from_str::<PeerConfig>(&text).unwrap(), cfg);
}

#[tokio::test]
async fn a_peer_built_from_a_toml_file_serves() {
    let server_cfg: PeerConfig = toml::from_str(
        r#"
        network = "tcp4"
        local_ip = "127.0.0.1"
        listen_port = 0
        default_body_codec = "json"
        default_context_age = "5s"
        "#,
    )
    .unwrap();
    let server = builder(server_cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    let client_cfg: PeerConfig = serde_json::from_str(
        r#"{"redial_times": 3, "redial_interval": "50ms", "dial_timeout": "2s"}"#,
    )
    .unwrap();
    let client = builder(client_cfg).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&sess, 42).await;

    // An unknown codec name is refused when the peer is built, as Go's fatal error.
    let bad: PeerConfig = toml::from_str(r#"default_body_codec = "nope""#).unwrap();
    assert!(matches!(
        builder(bad).build(),
        Err(erpc_runtime_tokio::BuildError::UnknownCodec(name)) if name == "nope"
    ));

    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
