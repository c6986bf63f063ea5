use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_cluster::{ClusterClient, ClusterConfig, RoundRobin};
use erpc_registry_etcd::etcd_client::{Client, GetOptions, PutOptions};
use erpc_registry_etcd::{EtcdDiscovery, EtcdUrl, Registrar, RegistrarConfig};
use erpc_runtime_tokio::{builder, CallCtx, Peer, PeerConfig, Status, Tokio};

use crate::etcd::Etcd;

async fn connect(etcd: &Etcd) -> Client {
    EtcdUrl::parse(&etcd.url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// A server on 127.0.0.1 port 0: `/math/add` and `/who` (its address).
async fn server() -> (Peer, String) {
    let me = Arc::new(std::sync::OnceLock::<String>::new());
    let m = Arc::clone(&me);
    let peer = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/math/add", |_ctx: CallCtx, v: Vec<i64>| async move {
        Ok::<_, Status>(v.iter().sum::<i64>())
    })
    .call("/who", move |_ctx: CallCtx, _: ()| {
        let m = Arc::clone(&m);
        async move { Ok::<_, Status>(m.get().cloned().unwrap_or_default()) }
    })
    .build()
    .unwrap();
    let bound = peer.listen().await.unwrap();
    me.set(bound.clone()).unwrap();
    (peer, bound)
}

fn cluster(nodes: EtcdDiscovery) -> ClusterClient<Tokio> {
    ClusterClient::with(
        builder(PeerConfig::default()).build().unwrap(),
        Arc::new(nodes),
        Box::new(RoundRobin::new()),
        ClusterConfig::default(),
    )
}

async fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < timeout, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    t0.elapsed()
}

async fn key_exists(c: &Client, key: &str) -> bool {
    c.clone().get(key, None).await.unwrap().count() > 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_discover_call_and_tp_micro_layout() {
    let Some(etcd) = Etcd::start("register_discover_call_and_tp_micro_layout") else {
        return;
    };
    let c = connect(&etcd).await;
    let (srv, bound) = server().await;
    assert!(!bound.ends_with(":0"));
    let reg = Registrar::register(c.clone(), &srv, &bound, RegistrarConfig::default())
        .await
        .unwrap();
    // What is in etcd, read the way tp-micro reads it.
    let key = format!("TP-SRV@{bound}");
    assert_eq!(reg.key(), key);
    let resp = c.clone().get(key.as_str(), None).await.unwrap();
    let kv = &resp.kvs()[0];
    let v: serde_json::Value = serde_json::from_slice(kv.value()).unwrap();
    assert_eq!(v["uri_paths"], serde_json::json!(["/math/add", "/who"]));
    assert_eq!(v["network"], "tcp");
    let ttl = c
        .clone()
        .lease_time_to_live(kv.lease(), None)
        .await
        .unwrap();
    assert!(
        (1..=5).contains(&ttl.ttl()) && ttl.granted_ttl() == 5,
        "{ttl:?}"
    );

    let nodes = EtcdDiscovery::start(c.clone(), "TP-SRV@").await.unwrap();
    assert_eq!(nodes.all().len(), 1);
    let client = cluster(nodes);
    let sum: i64 = client.call("/math/add", &[1, 2]).await.unwrap();
    assert_eq!(sum, 3);

    // A key exactly as tp-micro writes it (no extra fields), seen through the watch.
    let (srv2, bound2) = server().await;
    let lease = c.clone().lease_grant(5, None).await.unwrap().id();
    c.clone()
        .put(
            format!("TP-SRV@{bound2}"),
            r#"{"uri_paths":["/who"]}"#,
            Some(PutOptions::new().with_lease(lease)),
        )
        .await
        .unwrap();
    wait_for("tp-micro key seen", Duration::from_secs(5), || {
        client.discovery().instances("/who").len() == 2
    })
    .await;
    assert_eq!(
        client.discovery().instances("/math/add").len(),
        1,
        "node 2 serves only /who"
    );
    let mut seen = std::collections::HashSet::new();
    for _ in 0..6 {
        seen.insert(client.call::<_, String>("/who", &()).await.unwrap());
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // Bad JSON and a bad key under the namespace: left out, nothing panics, calls go on.
    c.clone()
        .put(format!("TP-SRV@{bound2}"), "{oops", None)
        .await
        .unwrap();
    c.clone()
        .put("TP-SRV@no-port", r#"{"uri_paths":[]}"#, None)
        .await
        .unwrap();
    wait_for("bad record drops node 2", Duration::from_secs(5), || {
        client.discovery().instances("/who").len() == 1
    })
    .await;
    assert_eq!(client.call::<_, String>("/who", &()).await.unwrap(), bound);

    // Draining: out of rotation, still serving.
    let (srv3, bound3) = server().await;
    let reg3 = Registrar::register(c.clone(), &srv3, &bound3, RegistrarConfig::default())
        .await
        .unwrap();
    wait_for("node 3 seen", Duration::from_secs(5), || {
        client.discovery().instances("/who").len() == 2
    })
    .await;
    reg3.set_draining(true).await.unwrap();
    wait_for("node 3 draining", Duration::from_secs(5), || {
        client.discovery().instances("/who").len() == 1
    })
    .await;
    for _ in 0..5 {
        assert_eq!(client.call::<_, String>("/who", &()).await.unwrap(), bound);
    }
    let direct = builder(PeerConfig::default()).build().unwrap();
    let s = direct.dial(&bound3).await.unwrap();
    assert_eq!(
        s.call::<_, String>("/who", &()).await.unwrap(),
        bound3,
        "a draining node still serves"
    );
    reg3.set_draining(false).await.unwrap();
    wait_for("node 3 back", Duration::from_secs(5), || {
        client.discovery().instances("/who").len() == 2
    })
    .await;
    drop((reg, reg3, srv, srv2));
}

/// Three servers, 100 concurrent callers; calls counted until `stop`.
struct Load {
    ok: Arc<AtomicUsize>,
    failed: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<String>>>,
}

fn load(client: &ClusterClient<Tokio>, callers: usize) -> Load {
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks = (0..callers)
        .map(|_| {
            let (c, ok, failed, stop) = (client.clone(), ok.clone(), failed.clone(), stop.clone());
            tokio::spawn(async move {
                let mut errors = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    match c
                        .call_with("/who")
                        .timeout(Duration::from_secs(5))
                        .send::<_, String>(&())
                        .await
                    {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            errors.push(format!("{e:?}"));
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                errors
            })
        })
        .collect();
    Load {
        ok,
        failed,
        stop,
        tasks,
    }
}

impl Load {
    async fn finish(self) -> (usize, usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        let mut errors = Vec::new();
        for t in self.tasks {
            errors.extend(t.await.unwrap());
        }
        (
            self.ok.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
            errors,
        )
    }
}

async fn three(c: &Client) -> Vec<(Peer, String, Registrar)> {
    let mut out = Vec::new();
    for _ in 0..3 {
        let (p, a) = server().await;
        let r = Registrar::register(c.clone(), &p, &a, RegistrarConfig::default())
            .await
            .unwrap();
        out.push((p, a, r));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_leave_revokes_first_and_no_call_fails() {
    let Some(etcd) = Etcd::start("graceful_leave_revokes_first_and_no_call_fails") else {
        return;
    };
    let c = connect(&etcd).await;
    let mut nodes = three(&c).await;
    let client = cluster(EtcdDiscovery::start(c.clone(), "TP-SRV@").await.unwrap());
    let run = load(&client, 100);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (peer, addr, reg) = nodes.remove(0);
    let key = reg.key().to_owned();
    // Revoke first: the key is gone while the listener still accepts.
    reg.deregister().await.unwrap();
    assert!(!key_exists(&c, &key).await, "key still there after revoke");
    let probe = builder(PeerConfig::default()).build().unwrap();
    assert!(
        probe.dial(&addr).await.is_ok(),
        "listener closed before the revoke"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    peer.close().await;
    // The other two go through leave_and_close.
    let (p2, _, r2) = nodes.remove(0);
    let k2 = r2.key().to_owned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    r2.leave_and_close(&p2).await.unwrap();
    assert!(!key_exists(&c, &k2).await);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (ok, failed, errors) = run.finish().await;
    println!("graceful leave of 2 of 3 nodes under 100 callers: {ok} calls ok, {failed} failed");
    assert!(ok > 500, "only {ok} calls");
    assert_eq!(failed, 0, "{errors:?}");
    assert_eq!(client.discovery().instances("/who").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_node_expires_and_failover_keeps_calls_going() {
    let Some(etcd) = Etcd::start("dead_node_expires_and_failover_keeps_calls_going") else {
        return;
    };
    let c = connect(&etcd).await;
    let mut nodes = three(&c).await;
    let client = cluster(EtcdDiscovery::start(c.clone(), "TP-SRV@").await.unwrap());
    let run = load(&client, 100);
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A crash: the keep-alive stops without a revoke and every connection is cut.
    let (peer, _addr, reg) = nodes.remove(0);
    let key = reg.key().to_owned();
    drop(reg);
    peer.range_sessions(|s| {
        s.close_now();
        true
    });
    peer.close().await;
    let t0 = Instant::now();
    while key_exists(&c, &key).await {
        assert!(t0.elapsed() < Duration::from_secs(8), "key not expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gone_after = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (ok, failed, errors) = run.finish().await;
    println!("dead node (TTL 5 s): key gone after {gone_after:?}; {ok} calls ok, {failed} failed");
    assert!(gone_after <= Duration::from_millis(6_500), "{gone_after:?}");
    assert_eq!(failed, 0, "{errors:?}");
    assert_eq!(client.discovery().instances("/who").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_restart_reregisters_and_relists() {
    let Some(mut etcd) = Etcd::start("etcd_restart_reregisters_and_relists") else {
        return;
    };
    let c = connect(&etcd).await;
    let nodes = three(&c).await;
    let client = cluster(EtcdDiscovery::start(c.clone(), "TP-SRV@").await.unwrap());
    let run = load(&client, 20);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let leases: Vec<_> = nodes.iter().map(|(_, _, r)| r.lease()).collect();
    etcd.restart();
    // Keys are back under live leases.
    let t0 = Instant::now();
    loop {
        let resp = c
            .clone()
            .get("TP-SRV@", Some(GetOptions::new().with_prefix()))
            .await;
        if let Ok(r) = resp {
            if r.count() == 3 {
                let mut alive = 0;
                for kv in r.kvs() {
                    if let Ok(t) = c.clone().lease_time_to_live(kv.lease(), None).await {
                        alive += usize::from(t.ttl() > 0);
                    }
                }
                if alive == 3 {
                    break;
                }
            }
        }
        assert!(t0.elapsed() < Duration::from_secs(20), "not re-registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The watch is back: a node registered after the restart is seen.
    let (p4, a4) = server().await;
    let _r4 = Registrar::register(c.clone(), &p4, &a4, RegistrarConfig::default())
        .await
        .unwrap();
    wait_for(
        "4th node seen after restart",
        Duration::from_secs(20),
        || client.discovery().instances("/who").len() == 4,
    )
    .await;
    let (ok, failed, errors) = run.finish().await;
    println!(
        "etcd restart: leases before {leases:?}, now {:?}; {ok} calls ok, {failed} failed",
        nodes.iter().map(|(_, _, r)| r.lease()).collect::<Vec<_>>()
    );
    assert_eq!(failed, 0, "{errors:?}");
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        seen.insert(client.call::<_, String>("/who", &()).await.unwrap());
    }
    assert_eq!(seen.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_of_the_cluster_client() {
    let Some(etcd) = Etcd::start("cost_of_the_cluster_client") else {
        return;
    };
    let c = connect(&etcd).await;
    let (srv, bound) = server().await;
    let _reg = Registrar::register(c.clone(), &srv, &bound, RegistrarConfig::default())
        .await
        .unwrap();
    let client = cluster(EtcdDiscovery::start(c.clone(), "TP-SRV@").await.unwrap());
    let direct = builder(PeerConfig::default()).build().unwrap();
    let session = direct.dial(&bound).await.unwrap();
    const N: usize = 2_000;
    let rate = |d: Duration| N as f64 / d.as_secs_f64();
    // Three alternating rounds (the first warms both up); the best round of each counts.
    let (mut single, mut through) = (0f64, 0f64);
    for _ in 0..3 {
        let t = Instant::now();
        for _ in 0..N {
            let _: i64 = session.call("/math/add", &[1, 2]).await.unwrap();
        }
        single = single.max(rate(t.elapsed()));
        let t = Instant::now();
        for _ in 0..N {
            let _: i64 = client.call("/math/add", &[1, 2]).await.unwrap();
        }
        through = through.max(rate(t.elapsed()));
    }
    println!(
        "sequential calls/s: single session {single:.0}, cluster client {through:.0} ({:.0} %)",
        100.0 * through / single
    );
    assert!(
        through > single * 0.3,
        "cluster client {through:.0}/s vs session {single:.0}/s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_lease_is_granted_again_and_bad_settings_are_refused() {
    let Some(etcd) = Etcd::start("lost_lease_is_granted_again_and_bad_settings_are_refused") else {
        return;
    };
    let c = connect(&etcd).await;
    let (srv, bound) = server().await;
    for ttl in [Duration::from_millis(500), Duration::from_secs(100_000)] {
        let e = Registrar::register(c.clone(), &srv, &bound, RegistrarConfig::default().ttl(ttl))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("lease TTL"), "{e}");
    }
    let reg = Registrar::register(c.clone(), &srv, &bound, RegistrarConfig::default())
        .await
        .unwrap();
    let first = reg.lease().unwrap();
    // Someone revokes the lease: the key goes, the keep-alive notices, a new lease is
    // granted and the record put again.
    c.clone().lease_revoke(first).await.unwrap();
    let t0 = Instant::now();
    loop {
        let resp = c.clone().get(reg.key(), None).await.unwrap();
        if let Some(kv) = resp.kvs().first() {
            if kv.lease() != first {
                assert_eq!(Some(kv.lease()), reg.lease());
                break;
            }
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "not registered again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("revoked lease replaced after {:?}", t0.elapsed());
}
