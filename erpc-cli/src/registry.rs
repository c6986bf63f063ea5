//! Many nodes from the shell: `erpc call etcd://…` (discover, pick, call), `erpc nodes
//! etcd://…` (what is registered) and `erpc serve --register etcd://…` (the registrar).

use std::sync::Arc;
use std::time::Duration;

use erpc_cluster::ClusterClient;
use erpc_proto::session::CallOptions;
use erpc_registry_etcd::{EtcdDiscovery, EtcdUrl, Registrar, RegistrarConfig};
use erpc_runtime_tokio::{Message, Peer};

use crate::client::{Addr, BoxError};

/// The registry URL when ADDR is one (`etcd://…`).
pub(crate) fn url_of(addr: &Addr) -> Option<&str> {
    match addr {
        Addr::Tcp(s) if s.starts_with("etcd://") => Some(s),
        _ => None,
    }
}

async fn discovery(url: &str) -> Result<EtcdDiscovery, BoxError> {
    let u = EtcdUrl::parse(url)?;
    let client = u
        .connect()
        .await
        .map_err(|e| format!("cannot reach the registry {url}: {e}"))?;
    EtcdDiscovery::start(client, u.namespace.clone())
        .await
        .map_err(|e| format!("cannot read the registry {url}: {e}").into())
}

/// Sends `msg` (a CALL, or a PUSH when `opts` is `None`) to a node that serves it, found in
/// the registry at `url` (tp-micro's random choice, failover on connection errors).
/// Returns the reply (a PUSH: `None`) and the node count.
pub(crate) async fn send(
    peer: &Peer,
    url: &str,
    msg: Message,
    opts: Option<CallOptions>,
) -> Result<Option<Message>, BoxError> {
    let nodes = discovery(url).await?;
    let route = msg.service_method.as_str().to_owned();
    let known = nodes.all().len();
    let client = ClusterClient::new(peer.clone(), Arc::new(nodes));
    let result = match opts {
        Some(o) => client.call_message(msg, o).await.map(Some),
        None => client.push_message(msg).await.map(|()| None),
    };
    client.close();
    result.map_err(|st| {
        format!("{route} through {url} ({known} nodes registered) failed: {st}").into()
    })
}

/// `erpc nodes URL`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct NodesArgs {
    /// The registry: `etcd://host:port[,host:port…][/namespace]` (namespace default
    /// `TP-SRV@`).
    #[arg(value_name = "URL")]
    url: String,
}

/// `erpc nodes`: one JSON line per registered node, by address.
pub(crate) fn nodes(a: NodesArgs) -> Result<(), BoxError> {
    let rt = crate::client::runtime()?;
    rt.block_on(async {
        let d = discovery(&a.url).await?;
        for n in d.all() {
            let line = serde_json::json!({
                "addr": n.addr,
                "uri_paths": n.routes,
                "weight": n.weight,
                "draining": n.draining,
            });
            println!("{line}");
        }
        Ok(())
    })
}

/// Registry flags of `erpc serve`.
#[derive(clap::Args, Debug, Clone, Default)]
pub(crate) struct RegisterArgs {
    /// Register in this registry (`etcd://127.0.0.1:2379[/namespace]`), tp-micro's layout;
    /// on SIGINT/SIGTERM the key is revoked before the server drains.
    #[arg(long, value_name = "URL")]
    pub(crate) register: Option<String>,
    /// The `host:port` to register (default: the bound address; 127.0.0.1 for 0.0.0.0).
    #[arg(long, value_name = "HOST:PORT", requires = "register")]
    pub(crate) advertise: Option<String>,
    /// Lease TTL of the registration (Go syntax, 1s to 24h).
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = crate::client::parse_duration)]
    pub(crate) register_ttl: Duration,
}

impl RegisterArgs {
    /// Registers `peer` listening at `bound`, when asked to.
    pub(crate) async fn register(
        &self,
        peer: &Peer,
        bound: &str,
    ) -> Result<Option<Registrar>, BoxError> {
        let Some(url) = &self.register else {
            return Ok(None);
        };
        let u = EtcdUrl::parse(url)?;
        let client = u
            .connect()
            .await
            .map_err(|e| format!("cannot reach the registry {url}: {e}"))?;
        let mut cfg = RegistrarConfig::default()
            .namespace(u.namespace.clone())
            .ttl(self.register_ttl);
        if let Some(a) = &self.advertise {
            cfg = cfg.advertise(a.clone());
        }
        let reg = Registrar::register(client, peer, bound, cfg).await?;
        Ok(Some(reg))
    }
}

/// Waits for SIGINT or SIGTERM (Ctrl-C elsewhere).
pub(crate) async fn wait_for_signal() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await
}
