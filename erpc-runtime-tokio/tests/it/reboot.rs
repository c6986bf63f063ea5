//! Graceful reboot failures (feature `reboot`): a new process that exits, or does not serve
//! in time, leaves this one serving as before. (A reboot that succeeds is tested with real
//! `erpc serve` processes in erpc-cli's tests.)

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::{echo_ok, local, within};
use erpc_runtime_tokio::reboot::{start_successor, RebootOptions};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

async fn serving() -> (erpc_runtime_tokio::Peer, String) {
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    (server, addr)
}

async fn still_serves(addr: &str) {
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = within("dial", client.dial(addr)).await.unwrap();
    echo_ok(&s, 7).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_that_exits_leaves_this_process_serving() {
    let (_server, addr) = serving().await;
    let opts = RebootOptions::default().with_program("/bin/false");
    let err = tokio::task::spawn_blocking(move || start_successor(&opts))
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.to_string().contains("exited"), "{err}");
    still_serves(&addr).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successor_that_does_not_serve_in_time_is_killed() {
    let (_server, addr) = serving().await;
    let dir = std::env::temp_dir().join(format!("erpc-reboot-it-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("never-ready.sh");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let opts = RebootOptions::default()
        .with_program(&script)
        .with_ready_timeout(Duration::from_millis(300));
    let err = tokio::task::spawn_blocking(move || start_successor(&opts))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    still_serves(&addr).await;
    let _ = std::fs::remove_dir_all(&dir);
}
