//! Three servers register in etcd, one cluster client spreads calls over them, then one
//! server leaves gracefully (revoke first, then drain) while the calls go on.
//!
//! ```text
//! etcd --data-dir /tmp/etcd-demo --unsafe-no-fsync &      # Debian: apt-get install etcd-server
//! cargo run -p erpc-registry-etcd --example many_nodes [etcd://127.0.0.1:2379]
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use erpc_cluster::{ClusterClient, ClusterConfig, RoundRobin};
use erpc_registry_etcd::{EtcdDiscovery, EtcdUrl, Registrar, RegistrarConfig};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "etcd://127.0.0.1:2379".into());
    let url = EtcdUrl::parse(&url)?;
    let etcd = url.connect().await?;

    // Three servers on free loopback ports, each registered under TP-SRV@127.0.0.1:PORT.
    let mut servers = Vec::new();
    for i in 0..3 {
        let peer = builder(PeerConfig {
            local_ip: "127.0.0.1".into(),
            ..PeerConfig::default()
        })
        .call("/math/add", move |_ctx: CallCtx, v: Vec<i64>| async move {
            Ok::<_, Status>((i, v.iter().sum::<i64>()))
        })
        .build()?;
        let bound = peer.listen().await?;
        let cfg = RegistrarConfig::default().namespace(url.namespace.clone());
        let reg = Registrar::register(etcd.clone(), &peer, &bound, cfg).await?;
        println!("server {i}: {bound}, registered as {}", reg.key());
        servers.push((peer, reg));
    }

    // One client: discovery from etcd, round-robin over the nodes.
    let nodes = EtcdDiscovery::start(etcd.clone(), url.namespace.clone()).await?;
    let client = ClusterClient::with(
        builder(PeerConfig::default()).build()?,
        Arc::new(nodes),
        Box::new(RoundRobin::new()),
        ClusterConfig::default(),
    );
    let mut per = BTreeMap::new();
    for _ in 0..30 {
        let (server, sum): (i32, i64) = client.call("/math/add", &[1, 2]).await?;
        assert_eq!(sum, 3);
        *per.entry(server).or_insert(0) += 1;
    }
    println!("30 calls by server: {per:?}");

    // Server 0 leaves: its key is revoked, clients drop it, then it drains and closes.
    let (peer, reg) = servers.remove(0);
    reg.leave_and_close(&peer).await?;
    let mut per = BTreeMap::new();
    for _ in 0..30 {
        let (server, _): (i32, i64) = client.call("/math/add", &[1, 2]).await?;
        *per.entry(server).or_insert(0) += 1;
    }
    println!("after server 0 left, 30 calls by server: {per:?}");
    for (peer, reg) in servers {
        reg.leave_and_close(&peer).await?;
    }
    Ok(())
}
