//! A service registry on etcd in tp-micro's layout, so Go (tp-micro) and Rust nodes see
//! each other: key `TP-SRV@<host:port>` (namespace configurable), value JSON
//! `{"uri_paths":[…]}` — every registered route but `/heartbeat` — plus fields of ours Go
//! ignores (`network`, `protocol`, `weight`, `tls`, `version`, `draining`), under a lease
//! (5 s TTL by default) kept alive every TTL/3.
//!
//! * [`Registrar`]: registers a [`Peer`](erpc_peer::Peer)'s routes at its listener's real
//!   address, re-registers after losing the lease, revokes first on a graceful close.
//! * [`EtcdDiscovery`]: an [`erpc_cluster::Discovery`] that lists and watches the
//!   namespace; give it to an [`erpc_cluster::ClusterClient`].
//!
//! ```no_run
//! # async fn demo(server: erpc_runtime_tokio::Peer, client: erpc_runtime_tokio::Peer) -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use erpc_registry_etcd::{EtcdDiscovery, EtcdUrl, Registrar, RegistrarConfig};
//!
//! let url = EtcdUrl::parse("etcd://127.0.0.1:2379")?;
//! let etcd = url.connect().await?;
//! // Server side.
//! let bound = server.listen().await?;
//! let reg = Registrar::register(etcd.clone(), &server, &bound, RegistrarConfig::default()).await?;
//! // Client side.
//! let nodes = EtcdDiscovery::start(etcd, url.namespace.clone()).await?;
//! let cluster = erpc_cluster::ClusterClient::new(client, Arc::new(nodes));
//! let sum: i64 = cluster.call("/math/add", &[1, 2]).await?;
//! // Server leaves: revoke, then drain.
//! reg.leave_and_close(&server).await?;
//! # let _ = sum; Ok(()) }
//! ```
//!
//! etcd-client runs on tokio, so the registrar and the watcher are tokio tasks; the
//! cluster client itself is runtime-agnostic.

mod discovery;
mod error;
mod record;
mod registrar;
mod url;

pub use discovery::EtcdDiscovery;
pub use error::RegistryError;
pub use record::{
    addr_of, node_key, NodeRecord, DEFAULT_NAMESPACE, MAX_RECORD_BYTES, MAX_ROUTES, MAX_WEIGHT,
};
pub use registrar::{Registrar, RegistrarConfig};
pub use url::EtcdUrl;

pub use etcd_client;
