use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use erpc_cluster::{
    Balancer, ClusterClient, ClusterConfig, ConsistentHash, Instance, PowerOfTwo, Random,
    RoundRobin, StaticDiscovery,
};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};

/// A server on a loopback port 0 answering `/who` with its address after `delay`.
async fn server(delay: Duration) -> (Peer, String) {
    let addr = Arc::new(std::sync::OnceLock::<String>::new());
    let a = Arc::clone(&addr);
    let peer = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/who", move |_ctx: CallCtx, _: ()| {
        let a = Arc::clone(&a);
        async move {
            tokio::time::sleep(delay).await;
            Ok::<_, Status>(a.get().cloned().unwrap_or_default())
        }
    })
    .build()
    .unwrap();
    let bound = peer.listen().await.unwrap();
    addr.set(bound.clone()).unwrap();
    (peer, bound)
}

fn client_peer() -> Peer {
    builder(PeerConfig::default()).build().unwrap()
}

async fn spread(
    client: &ClusterClient<erpc_runtime_tokio::Tokio>,
    calls: usize,
) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for _ in 0..calls {
        let who: String = client.call("/who", &()).await.unwrap();
        *n.entry(who).or_insert(0) += 1;
    }
    n
}

#[tokio::test]
async fn balancers_spread_over_three_nodes() {
    let mut addrs = Vec::new();
    let mut servers = Vec::new();
    for _ in 0..3 {
        let (p, a) = server(Duration::ZERO).await;
        servers.push(p);
        addrs.push(a);
    }
    let cases: Vec<(&str, Box<dyn Balancer>, std::ops::RangeInclusive<usize>)> = vec![
        // 300 calls: round-robin is exact, random and p2c within ±40 % of 100.
        ("round-robin", Box::new(RoundRobin::new()), 100..=100),
        ("random", Box::new(Random::with_seed(1)), 60..=140),
        ("p2c", Box::new(PowerOfTwo::with_seed(2)), 60..=140),
    ];
    for (name, balancer, bounds) in cases {
        let client = ClusterClient::with(
            client_peer(),
            Arc::new(StaticDiscovery::addrs(addrs.clone())),
            balancer,
            ClusterConfig::default(),
        );
        let n = spread(&client, 300).await;
        assert_eq!(n.len(), 3, "{name}: {n:?}");
        for (node, c) in &n {
            assert!(bounds.contains(c), "{name}: {node} got {c} of 300: {n:?}");
        }
        println!("{name}: {n:?}");
        assert!(client.nodes().iter().all(|s| s.sessions == 1));
    }
    // Consistent hash: one user always lands on the same node.
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs(addrs.clone())),
        Box::new(ConsistentHash::new("uid")),
        ClusterConfig::default(),
    );
    for user in ["ann", "bob", "cid"] {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..20 {
            let who: String = client
                .call_with("/who")
                .meta("uid", user)
                .send(&())
                .await
                .unwrap()
                .body;
            seen.insert(who);
        }
        assert_eq!(seen.len(), 1, "{user}: {seen:?}");
    }
}

#[tokio::test]
async fn p2c_sends_less_to_a_slow_node() {
    let (_s1, a1) = server(Duration::ZERO).await;
    let (_s2, a2) = server(Duration::ZERO).await;
    let (_s3, slow) = server(Duration::from_millis(30)).await;
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs([a1, a2, slow.clone()])),
        Box::new(PowerOfTwo::with_seed(5)),
        ClusterConfig::default(),
    );
    // 16 callers × 40 calls: the slow node keeps calls in flight, so p2c avoids it.
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let c = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..40 {
                mine.push(c.call::<_, String>("/who", &()).await.unwrap());
            }
            mine
        }));
    }
    let mut n: HashMap<String, usize> = HashMap::new();
    for t in tasks {
        for who in t.await.unwrap() {
            *n.entry(who).or_insert(0) += 1;
        }
    }
    let slow_share = n.get(&slow).copied().unwrap_or(0);
    println!("p2c with a slow node: {n:?}");
    // Random would give it a third (≈213 of 640); p2c must give it well under that.
    assert!(slow_share < 120, "slow node got {slow_share} of 640: {n:?}");
}

#[tokio::test]
async fn failover_skips_a_dead_node_and_reports_when_none_is_left() {
    let (_s1, a1) = server(Duration::ZERO).await;
    // A port nothing listens on: bind, note, drop.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let nodes = StaticDiscovery::addrs([dead.clone(), a1.clone()]);
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(nodes.clone()),
        Box::new(RoundRobin::new()),
        ClusterConfig::default(),
    );
    for _ in 0..20 {
        let who: String = client.call("/who", &()).await.unwrap();
        assert_eq!(who, a1);
    }
    // Without failover, the dead node's turn fails with 105.
    let strict = ClusterClient::with(
        client_peer(),
        Arc::new(nodes.clone()),
        Box::new(RoundRobin::new()),
        ClusterConfig::default().max_failover(0),
    );
    let results: Vec<Result<String, Status>> = vec![
        strict.call("/who", &()).await,
        strict.call("/who", &()).await,
    ];
    assert_eq!(
        results
            .iter()
            .filter(|r| r.as_ref().is_err_and(|e| e.code() == Code::DIAL_FAILED))
            .count(),
        1,
        "{results:?}"
    );
    // Only the dead node left: 105, and a route no node serves: 105 with a cause.
    nodes.set([Instance::new(dead)]);
    let e = client.call::<_, String>("/who", &()).await.unwrap_err();
    assert_eq!(e.code(), Code::DIAL_FAILED, "{e:?}");
    nodes.set([Instance::new(a1).with_routes(["/other"])]);
    let e = client.call::<_, String>("/who", &()).await.unwrap_err();
    assert_eq!(e.code(), Code::DIAL_FAILED);
    assert!(
        e.cause().unwrap_or("").contains("no node serves /who"),
        "{e:?}"
    );
}

#[tokio::test]
async fn removed_and_draining_nodes_lose_their_sessions() {
    let (s1, a1) = server(Duration::ZERO).await;
    let (s2, a2) = server(Duration::ZERO).await;
    let nodes = StaticDiscovery::addrs([a1.clone(), a2.clone()]);
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(nodes.clone()),
        Box::new(RoundRobin::new()),
        ClusterConfig::default(),
    );
    spread(&client, 10).await;
    assert_eq!(s1.count_sessions() + s2.count_sessions(), 2);
    nodes.set([
        Instance::new(a1.clone()),
        Instance::new(a2.clone()).with_draining(true),
    ]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while s2.count_sessions() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "draining node's session not closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let n = spread(&client, 10).await;
    assert_eq!(n.get(&a1), Some(&10), "{n:?}");
    nodes.set([Instance::new(a2.clone())]);
    while s1.count_sessions() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "removed node's session not closed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let n = spread(&client, 5).await;
    assert_eq!(n.get(&a2), Some(&5), "{n:?}");
    let known: Vec<_> = client.nodes().into_iter().map(|n| n.addr).collect();
    assert_eq!(known, vec![a2], "a1 forgotten, a2 back after draining");
}

#[tokio::test]
async fn breaker_takes_a_failing_node_out() {
    let (_s1, a1) = server(Duration::ZERO).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs([dead.clone(), a1])),
        Box::new(RoundRobin::new()),
        ClusterConfig::default()
            .dial_backoff(Duration::ZERO)
            .breaker(Some(erpc_cluster::BreakerConfig::default())),
    );
    for _ in 0..30 {
        let _: String = client.call("/who", &()).await.unwrap();
    }
    let dead_status = client.nodes().into_iter().find(|n| n.addr == dead).unwrap();
    assert_eq!(
        dead_status.breaker,
        Some(erpc_cluster::BreakerState::Open),
        "{dead_status:?}"
    );
}

#[tokio::test]
async fn sessions_per_node_are_used_in_turn() {
    let (s1, a1) = server(Duration::ZERO).await;
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs([a1])),
        Box::new(RoundRobin::new()),
        ClusterConfig::default().sessions_per_node(3),
    );
    spread(&client, 12).await;
    assert_eq!(s1.count_sessions(), 3);
    assert_eq!(client.nodes()[0].sessions, 3);
    client.close();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while s1.count_sessions() > 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "sessions not closed by close()"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The same client on smol (erpc-runtime-async-std): nothing in it is tokio's.
#[test]
fn runs_on_smol() {
    use erpc_runtime_async_std as smol_rt;
    smol::block_on(async {
        let mut addrs = Vec::new();
        let mut servers = Vec::new();
        for i in 0..3 {
            let p = smol_rt::builder(PeerConfig {
                local_ip: "127.0.0.1".into(),
                ..PeerConfig::default()
            })
            .call("/who", move |_ctx: CallCtx, _: ()| async move {
                Ok::<_, Status>(i)
            })
            .build()
            .unwrap();
            addrs.push(p.listen().await.unwrap());
            servers.push(p);
        }
        let client = ClusterClient::with(
            smol_rt::builder(PeerConfig::default()).build().unwrap(),
            Arc::new(StaticDiscovery::addrs(addrs)),
            Box::new(RoundRobin::new()),
            ClusterConfig::default(),
        );
        let mut n = [0; 3];
        for _ in 0..9 {
            let i: usize = client.call("/who", &()).await.unwrap();
            n[i] += 1;
        }
        assert_eq!(n, [3, 3, 3]);
    });
}

#[tokio::test]
async fn a_failed_dial_backs_the_node_off() {
    let (_s1, a1) = server(Duration::ZERO).await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs([dead, a1])),
        Box::new(RoundRobin::new()),
        ClusterConfig::default().max_failover(0),
    );
    // No failover: only the first pick of the dead node fails; for the next second (the
    // default back-off) it is not picked while the live one is there.
    let mut failed = 0;
    for _ in 0..20 {
        if client.call::<_, String>("/who", &()).await.is_err() {
            failed += 1;
        }
    }
    assert_eq!(failed, 1);
}

#[tokio::test]
async fn dns_discovery_of_localhost() {
    let (_s1, a1) = server(Duration::ZERO).await;
    let port = a1.rsplit_once(':').unwrap().1;
    let d = erpc_cluster::DnsDiscovery::start(format!("localhost:{port}"), Duration::from_secs(1))
        .unwrap();
    let client = ClusterClient::new(client_peer(), Arc::new(d));
    // localhost may also resolve to [::1], where nothing listens: failover covers it.
    for _ in 0..5 {
        assert_eq!(client.call::<_, String>("/who", &()).await.unwrap(), a1);
    }
}

/// The cluster client as a tower service: tower's layers wrap the calls it spreads.
#[cfg(feature = "tower")]
#[tokio::test]
async fn tower_layers_wrap_cluster_calls() {
    use erpc_cluster::tower::Call;
    use tower::{Service, ServiceBuilder, ServiceExt};

    let (a, addr_a) = server(Duration::ZERO).await;
    let (b, addr_b) = server(Duration::ZERO).await;
    let client = ClusterClient::with(
        client_peer(),
        Arc::new(StaticDiscovery::addrs(vec![addr_a.clone(), addr_b.clone()])),
        Box::new(RoundRobin::new()),
        ClusterConfig::default(),
    );
    let mut svc = ServiceBuilder::new()
        .concurrency_limit(4)
        .timeout(Duration::from_secs(5))
        .service(client.tower::<(), String>());
    let mut seen = HashMap::new();
    for _ in 0..20 {
        let who = svc
            .ready()
            .await
            .unwrap()
            .call(Call::new("/who", ()))
            .await
            .unwrap()
            .body;
        *seen.entry(who).or_insert(0) += 1;
    }
    assert_eq!(seen.get(&addr_a), Some(&10), "{seen:?}");
    assert_eq!(seen.get(&addr_b), Some(&10), "{seen:?}");

    // A node slower than tower's timeout: the layer's own error, boxed as tower does.
    let (slow, addr_slow) = server(Duration::from_secs(3)).await;
    let slow_client = ClusterClient::new(
        client_peer(),
        Arc::new(StaticDiscovery::addrs(vec![addr_slow])),
    );
    let mut timed = ServiceBuilder::new()
        .timeout(Duration::from_millis(200))
        .service(slow_client.tower::<(), String>());
    let err = timed
        .ready()
        .await
        .unwrap()
        .call(Call::new("/who", ()))
        .await
        .unwrap_err();
    assert!(err.is::<tower::timeout::error::Elapsed>(), "{err}");

    // A status from the cluster (no such route) comes through as the service's error.
    let err = svc
        .ready()
        .await
        .unwrap()
        .call(Call::new("/nope", ()))
        .await
        .unwrap_err();
    let st = err.downcast::<Status>().expect("a status");
    assert_eq!(st.code(), Code::NOT_FOUND);

    client.close();
    slow_client.close();
    for p in [a, b, slow] {
        p.close().await;
    }
}
