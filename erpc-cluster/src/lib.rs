//! Many nodes behind one client: a [`ClusterClient`] that picks a node per call through a
//! [`Balancer`], fails over on connection errors and can put a circuit [`Breaker`] on each
//! node; the [`Discovery`] trait it learns its nodes from, with a [`StaticDiscovery`] list
//! and a [`DnsDiscovery`] (headless services) here, and an etcd watcher in
//! `erpc-registry-etcd` (tp-micro's registry layout).
//!
//! Everything here is runtime-agnostic: the client runs on a [`Peer`](erpc_peer::Peer) of
//! any async adapter (tokio, smol/async-std: `ClusterClient<Tokio>`,
//! `ClusterClient<AsyncIo>`), time comes from the runtime's `now()` and the breaker takes it
//! as an argument. Users of the blocking adapter use the parts directly: a [`Discovery`]'s
//! `instances(route)`, a [`Balancer`]'s `pick`, a [`Breaker`] per node, and their own
//! sessions; [`Changes::next`] can be driven by `futures::executor::block_on`.
//!
//! ```no_run
//! # async fn demo(peer: erpc_peer::Peer<impl erpc_peer::Runtime>) -> Result<(), erpc_peer::Status> {
//! use std::sync::Arc;
//! use erpc_cluster::{ClusterClient, ClusterConfig, PowerOfTwo, StaticDiscovery};
//!
//! let nodes = StaticDiscovery::addrs(["127.0.0.1:9090", "127.0.0.1:9091"]);
//! let client = ClusterClient::with(
//!     peer,
//!     Arc::new(nodes),
//!     Box::new(PowerOfTwo::new()),
//!     ClusterConfig::default(),
//! );
//! let sum: i64 = client.call("/math/add", &[1, 2]).await?;
//! # let _ = sum; Ok(()) }
//! ```
//!
//! # Bounds
//!
//! Memory follows the node set the discovery source holds: per node, its sessions
//! ([`ClusterConfig::sessions_per_node`], default 1, at most 64), one counter and, with
//! breakers, at most [`BreakerConfig::buckets`] buckets. [`Changes`] streams queue nothing
//! (they answer the difference since they last looked).

pub mod balancer;
mod breaker;
mod client;
mod config;
mod directory;
mod discovery;
mod dns;
mod instance;
mod node;
mod rng;
mod static_list;
#[cfg(feature = "tower")]
pub mod tower;

pub use balancer::{Balancer, Candidate, ConsistentHash, Pick, PowerOfTwo, Random, RoundRobin};
pub use breaker::{Breaker, BreakerConfig, BreakerState};
pub use client::{ClusterCall, ClusterClient, NodeStatus};
pub use config::{ClusterConfig, MAX_SESSIONS_PER_NODE};
pub use directory::{Change, Changes, Directory};
pub use discovery::Discovery;
pub use dns::{DnsDiscovery, MIN_DNS_INTERVAL};
pub use instance::Instance;
pub use static_list::StaticDiscovery;
#[cfg(feature = "tower")]
pub use tower::TowerCluster;
