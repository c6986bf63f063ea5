//! tower integration (feature `tower`): a [`ClusterClient`] as a
//! [`tower_service::Service`] of calls, so that tower's layers (timeout, retry, rate and
//! concurrency limits, load shedding) wrap the calls an application spreads over its nodes,
//! as they wrap a single session's (`erpc_peer::Session::tower`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! use std::{sync::Arc, time::Duration};
//!
//! use erpc_cluster::{tower::Call, ClusterClient, StaticDiscovery};
//! use erpc_runtime_tokio::{builder, PeerConfig};
//! use tower::{Service, ServiceBuilder, ServiceExt};
//!
//! let nodes = vec!["10.0.0.1:9090".to_string(), "10.0.0.2:9090".to_string()];
//! let cluster = ClusterClient::new(
//!     builder(PeerConfig::default()).build()?,
//!     Arc::new(StaticDiscovery::addrs(nodes)),
//! );
//! // At most 64 calls in flight over the whole cluster, each within 2 s (the cluster's own
//! // failover to another node happens inside that budget).
//! let mut math = ServiceBuilder::new()
//!     .concurrency_limit(64)
//!     .timeout(Duration::from_secs(2))
//!     .service(cluster.tower::<Vec<i64>, i64>());
//! let sum = math.ready().await?.call(Call::new("/math/add", vec![1, 2, 3])).await?.body;
//! assert_eq!(sum, 6);
//! # Ok(())
//! # }
//! ```

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use erpc_peer::erpc_proto::codec::{DecodeBody, EncodeBody};
pub use erpc_peer::tower::Call;
use erpc_peer::{CallReply, Runtime, Status};

use crate::ClusterClient;

/// A [`ClusterClient`] as a tower service of [`Call<A>`]s answered with [`CallReply<R>`]
/// (see [`ClusterClient::tower`]). Cheap to clone; clones share the cluster client.
pub struct TowerCluster<A, R, Rt: Runtime> {
    client: ClusterClient<Rt>,
    _types: PhantomData<fn(A) -> R>,
}

impl<A, R, Rt: Runtime> Clone for TowerCluster<A, R, Rt> {
    fn clone(&self) -> Self {
        TowerCluster {
            client: self.client.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, R, Rt: Runtime> std::fmt::Debug for TowerCluster<A, R, Rt> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TowerCluster")
            .field("client", &self.client)
            .finish()
    }
}

impl<Rt: Runtime> ClusterClient<Rt> {
    /// This cluster client as a tower service of calls with arguments `A` and replies `R`.
    /// Always ready: a call picks a node (and fails over) when it runs, and a cluster with no
    /// reachable node answers the call with its status; limits belong to tower's layers.
    pub fn tower<A, R>(&self) -> TowerCluster<A, R, Rt> {
        TowerCluster {
            client: self.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, R, Rt> tower_service::Service<Call<A>> for TowerCluster<A, R, Rt>
where
    A: EncodeBody + Send + Sync + 'static,
    R: DecodeBody + Send + 'static,
    Rt: Runtime,
{
    type Response = CallReply<R>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<CallReply<R>, Status>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Call<A>) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let mut b = client.call_with(&req.service_method);
            for (k, v) in req.meta.iter() {
                b = b.meta(k, v);
            }
            b.send(&req.args).await
        })
    }
}
