//! A graceful reboot away from an `erpc-runtime-blocking` peer: its listening socket goes to
//! a new process (`erpc serve`, which takes inherited listeners over), and closing the old
//! peer afterwards leaves the new process's copy of the socket serving (the blocking
//! adapter's accept thread waits in `poll` beside a wake socket and never shuts the
//! listening socket down).
//!
//! A test binary of its own: a reboot hands over every listener of the process, and the
//! other tests' in-process peers must not be among them.
#![cfg(target_os = "linux")]

use std::time::Duration;

use erpc_peer::reboot::{start_successor, RebootOptions};
use erpc_runtime_blocking::{builder, CallCtx, PeerConfig, Status};

/// Stops the successor however the test ends.
struct Kill(u32);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.0.to_string())
            .status();
    }
}

fn add(client: &erpc_runtime_blocking::Peer, addr: &str, args: [i64; 2]) -> i64 {
    let session = client
        .dial(addr)
        .unwrap_or_else(|s| panic!("dial {addr}: {s}"));
    let sum: i64 = session
        .call("/math/add", &args)
        .unwrap_or_else(|s| panic!("call {addr}: {s}"));
    session.close();
    sum
}

#[test]
fn a_blocking_peer_hands_its_listener_to_the_next_process() {
    let config = PeerConfig {
        local_ip: "127.0.0.1".into(),
        call_timeout: Duration::from_secs(20),
        ..PeerConfig::default()
    };
    // The old process's route answers 1000 more than `erpc serve`'s, so each reply says
    // which process served it.
    let old = builder(config.clone())
        .call("/math/add", |_ctx: CallCtx, v: Vec<i64>| {
            Ok::<_, Status>(v.iter().sum::<i64>() + 1000)
        })
        .build()
        .unwrap();
    let addr = old.listen().unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    assert_eq!(add(&client, &addr, [1, 2]), 1003);

    let opts = RebootOptions::default()
        .with_program(env!("CARGO_BIN_EXE_erpc"))
        .with_args(["serve", "--addr", &addr, "--push-interval", "0"])
        .with_ready_timeout(Duration::from_secs(20));
    let successor = start_successor(&opts).unwrap();
    let _kill = Kill(successor.pid);

    // The old peer stops accepting and goes; its listening socket lives on in the new
    // process, which serves every new connection.
    old.close();
    drop(old);
    for i in 0..20 {
        assert_eq!(
            add(&client, &addr, [i, 2]),
            i + 2,
            "call {i} after the hand-over"
        );
    }
}
