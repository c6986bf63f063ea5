//! `erpc bench` end to end on every runtime adapter, with a small workload: the server
//! process starts, the calls all succeed, one JSON line of the bench-peers contract comes out.

use std::process::Command;

fn bench(runtime: &str, extra: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_erpc"))
        .args([
            "bench",
            "--runtime",
            runtime,
            "-c",
            "20",
            "-n",
            "400",
            "--threads",
            "2",
        ])
        .args(extra)
        .output()
        .expect("run erpc bench");
    assert!(
        out.status.success(),
        "{runtime}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(line.trim()).expect("one JSON line")
}

#[test]
fn every_runtime_runs_the_benchmark() {
    let mut runtimes = vec![
        ("tokio", "erpc-rs"),
        ("smol", "erpc-rs-smol"),
        ("blocking", "erpc-rs-blocking"),
    ];
    if cfg!(feature = "async-std") {
        runtimes.push(("async-std", "erpc-rs-async-std"));
    }
    for (runtime, name) in runtimes {
        let r = bench(runtime, &[]);
        assert_eq!(r["impl"], name);
        assert_eq!(r["errors"], 0, "{runtime}");
        assert_eq!(r["total"], 400);
        assert_eq!(r["bytes"], 581);
        assert!(r["tps"].as_f64().unwrap() > 0.0);
        for key in ["secs", "mean_ms", "p50_ms", "p99_ms", "max_ms", "min_ms"] {
            assert!(r[key].is_number(), "{runtime}: {key}");
        }
    }
}

#[test]
fn benchmark_over_other_protocols() {
    for proto in ["json", "protobuf", "thrift", "http"] {
        let r = bench("tokio", &["--proto", proto]);
        assert_eq!(r["errors"], 0, "{proto}");
    }
}

#[test]
fn framework_only_payload_on_every_runtime() {
    for (runtime, name) in [
        ("tokio", "erpc-rs-bytes"),
        ("smol", "erpc-rs-smol-bytes"),
        ("blocking", "erpc-rs-blocking-bytes"),
    ] {
        let r = bench(runtime, &["--payload", "bytes"]);
        assert_eq!(r["impl"], name);
        // An echo that did not return the 581 bytes unchanged counts as an error.
        assert_eq!(r["errors"], 0, "{runtime}");
        assert_eq!(r["bytes"], 581);
    }
}

#[test]
fn benchmark_over_kcp() {
    let r = bench("tokio", &["--network", "kcp"]);
    assert_eq!(r["errors"], 0);
    assert_eq!(r["total"], 400);
}

#[test]
fn benchmark_over_tuned_kcp_on_every_runtime() {
    // `--kcp-window`/`--kcp-turbo` reach both the client and the server process; 64 KiB
    // bodies cross as ~48 segments each way.
    for runtime in ["tokio", "smol", "blocking"] {
        let r = bench(
            runtime,
            &[
                "--network",
                "kcp",
                "--kcp-window",
                "256",
                "--kcp-turbo",
                "--payload",
                "bytes",
                "--size",
                "64K",
            ],
        );
        assert_eq!(r["errors"], 0, "{runtime}");
        assert_eq!(r["bytes"], 64 << 10, "{runtime}");
    }
    let out = Command::new(env!("CARGO_BIN_EXE_erpc"))
        .args(["bench", "--network", "kcp", "--kcp-window", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "a zero window is refused");
}

#[test]
fn large_opaque_bodies_on_every_runtime() {
    for runtime in ["tokio", "smol", "blocking"] {
        let r = bench(runtime, &["--payload", "bytes", "--size", "1M"]);
        assert_eq!(r["bytes"], 1 << 20, "{runtime}");
        // Each echo is compared with what was sent.
        assert_eq!(r["errors"], 0, "{runtime}");
    }
}

#[test]
fn size_without_opaque_bodies_is_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_erpc"))
        .args(["bench", "-n", "10", "--size", "1000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("needs --payload bytes"), "{err}");
}

#[test]
fn pool_spreads_the_callers_over_its_sessions() {
    for runtime in ["tokio", "smol"] {
        let v = bench(runtime, &["--pool", "3"]);
        assert_eq!(v["pool"], 3, "{v}");
        assert_eq!(v["errors"], 0, "{v}");
        assert_eq!(v["total"], 400, "{v}");
        // 20 concurrent callers keep every session of the quota busy: all 3 are dialed.
        assert_eq!(v["conns"], 3, "{v}");
    }
    // Without --pool the line has no "pool" field (the bench-peers contract is unchanged).
    assert!(bench("tokio", &[]).get("pool").is_none());
}

#[test]
fn pool_needs_an_async_runtime_and_a_session() {
    for (args, want) in [
        (
            &["--pool", "2", "--runtime", "blocking"][..],
            "async runtimes",
        ),
        (&["--pool", "0"][..], "at least 1"),
        (&["--pool", "2", "-k", "2"][..], "cannot be used with"),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_erpc"))
            .args(["bench", "-n", "10"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
    }
}

#[test]
#[cfg(feature = "quic")]
fn benchmark_over_quic() {
    for runtime in ["tokio", "smol"] {
        let r = bench(runtime, &["--network", "quic"]);
        assert_eq!(r["errors"], 0, "{runtime}");
        assert_eq!(r["total"], 400, "{runtime}");
    }
    // The blocking adapter has no QUIC: one clear line.
    let out = Command::new(env!("CARGO_BIN_EXE_erpc"))
        .args([
            "bench",
            "--runtime",
            "blocking",
            "-n",
            "10",
            "--network",
            "quic",
        ])
        .output()
        .expect("run erpc bench");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the blocking adapter has no QUIC"), "{err}");
}

#[test]
fn benchmark_over_unix_sockets_on_every_runtime() {
    let mut networks = vec!["unix"];
    if cfg!(all(feature = "unixpacket", target_os = "linux")) {
        networks.push("unixpacket");
    }
    for network in networks {
        for runtime in ["tokio", "smol", "blocking"] {
            let r = bench(runtime, &["--network", network]);
            assert_eq!(r["errors"], 0, "{runtime} over {network}");
            assert_eq!(r["total"], 400, "{runtime} over {network}");
        }
    }
}

#[test]
fn benchmark_against_a_server_on_a_unix_address() {
    let dir = std::env::temp_dir().join(format!("erpc-bench-unix-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s.sock");
    let addr = format!("unix:{}", path.display());
    let mut server = Command::new(env!("CARGO_BIN_EXE_erpc"))
        .args(["bench-server", "--addr", &addr, "--threads", "1"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start erpc bench-server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !path.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never bound {addr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // `unix:` addresses with the default network mean unix sockets, as for `erpc call`.
    let r = bench("tokio", &["--addr", &addr]);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(r["errors"], 0);
    assert_eq!(r["total"], 400);
}
