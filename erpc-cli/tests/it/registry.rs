//! `erpc serve --register`, `erpc call etcd://…`, `erpc nodes` against a real etcd, with
//! server processes killed (`kill -9`) or stopped (SIGTERM) under 100 concurrent callers.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_cluster::{ClusterClient, Discovery};
use erpc_registry_etcd::{EtcdDiscovery, EtcdUrl};
use erpc_runtime_tokio::{builder, PeerConfig};

use crate::common::{run, Server};
use crate::etcd::Etcd;

fn nodes(url: &str) -> Vec<serde_json::Value> {
    run(&["nodes", url])
        .ok()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn many_nodes_kill_and_graceful_stop_under_load() {
    let Some(etcd) = Etcd::start("many_nodes_kill_and_graceful_stop_under_load") else {
        return;
    };
    let url = etcd.url();
    let mut servers: Vec<Server> = (0..3)
        .map(|_| Server::start(&["--push-interval", "0", "--register", &url]))
        .collect();
    for s in &servers {
        assert!(
            s.log().contains(&format!("registered TP-SRV@{}", s.addr)),
            "{}",
            s.log()
        );
    }
    let listed = nodes(&url);
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(listed[0]["uri_paths"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!("/math/add")));
    assert_eq!(run(&["call", &url, "/math/add", "[1,2]"]).ok().trim(), "3");
    let e = run(&["call", &url, "/no/such", "[]"]);
    assert!(e.error_line().contains("no node serves /no/such"), "{e:?}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let u = EtcdUrl::parse(&url).unwrap();
        let d = Arc::new(
            EtcdDiscovery::start(u.connect().await.unwrap(), u.namespace.clone())
                .await
                .unwrap(),
        );
        let client = ClusterClient::new(builder(PeerConfig::default()).build().unwrap(), d.clone());
        let ok = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let callers: Vec<_> = (0..100)
            .map(|_| {
                let (c, ok, stop) = (client.clone(), ok.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut errors = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        match c
                            .call_with("/math/add")
                            .timeout(Duration::from_secs(5))
                            .send::<_, i64>(&[1, 2])
                            .await
                        {
                            Ok(r) if r.body == 3 => {
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            other => errors.push(format!("{other:?}")),
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    errors
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;

        // kill -9: no revoke; the key goes with its lease (TTL 5 s).
        let mut dead = servers.remove(0);
        let t0 = Instant::now();
        dead.kill9();
        while d.instances("/math/add").len() != 2 {
            assert!(
                t0.elapsed() < Duration::from_secs(8),
                "killed node still registered"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let expired = t0.elapsed();

        // SIGTERM: revoked first (the watcher sees it go), then the server drains and exits.
        let mut leaving = servers.remove(0);
        let t1 = Instant::now();
        let status = tokio::task::spawn_blocking(move || {
            let st = leaving.terminate();
            (st, leaving.log())
        });
        while d.instances("/math/add").len() != 1 {
            assert!(
                t1.elapsed() < Duration::from_secs(3),
                "stopped node not revoked"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let revoked = t1.elapsed();
        let (st, log) = status.await.unwrap();
        let exited = t1.elapsed();
        assert!(st.success(), "{st:?}: {log}");
        assert!(log.contains("leaving the registry"), "{log}");
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        let mut errors = Vec::new();
        for c in callers {
            errors.extend(c.await.unwrap());
        }
        let ok = ok.load(Ordering::Relaxed);
        println!(
            "3 `erpc serve` processes, 100 callers: kill -9 → key gone after {expired:?}; \
             SIGTERM → revoked after {revoked:?}, process exited after {exited:?}; \
             {ok} calls ok, {} failed",
            errors.len()
        );
        assert!(expired <= Duration::from_millis(6_500), "{expired:?}");
        assert!(
            revoked < exited,
            "revoked {revoked:?} after exit {exited:?}"
        );
        assert!(
            errors.is_empty(),
            "{} failed: {:?}",
            errors.len(),
            &errors[..errors.len().min(5)]
        );
        assert!(ok > 1_000, "only {ok} calls");
    });
    assert_eq!(nodes(&url).len(), 1);
}
