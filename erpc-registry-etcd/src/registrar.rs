//! [`Registrar`]: puts a node's record in etcd under a lease and keeps it there.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use erpc_peer::{Peer, Runtime};
use etcd_client::{Client, PutOptions};
use tokio::task::JoinHandle;

use crate::error::RegistryError;
use crate::record::{node_key, NodeRecord, DEFAULT_NAMESPACE};

/// Settings of a [`Registrar`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RegistrarConfig {
    /// Key namespace (default `TP-SRV@`, tp-micro's).
    pub namespace: String,
    /// Lease TTL (default 5 s, tp-micro's; 1 s to 1 day). Kept alive every TTL/3; a killed
    /// node's key is gone about one TTL later.
    pub ttl: Duration,
    /// The `host:port` announced; default: the listener's address, with an unspecified
    /// host (`0.0.0.0`, `::`) replaced by `127.0.0.1` (set this on a real network).
    pub advertise: Option<String>,
    /// Routes not announced (besides `/heartbeat`, which never is).
    pub exclude: Vec<String>,
    /// Announced weight (default: none, read as 1).
    pub weight: Option<u32>,
    /// Announced version string.
    pub version: Option<String>,
    /// Announced `tls` flag (default: none; set it when the peer serves TLS, so clients
    /// know to dial with TLS).
    pub tls: Option<bool>,
    /// First back-off after losing the lease (default 100 ms), doubled up to
    /// `backoff_max` (default 5 s).
    pub backoff_min: Duration,
    /// Longest back-off between re-registration attempts.
    pub backoff_max: Duration,
    /// How long [`Registrar::leave_and_close`] waits between revoking and closing the peer,
    /// for watchers to see the key go (default 300 ms).
    pub leave_grace: Duration,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        RegistrarConfig {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            ttl: Duration::from_secs(5),
            advertise: None,
            exclude: Vec::new(),
            weight: None,
            version: None,
            tls: None,
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            leave_grace: Duration::from_millis(300),
        }
    }
}

impl RegistrarConfig {
    /// With this namespace.
    pub fn namespace(mut self, ns: impl Into<String>) -> Self {
        self.namespace = ns.into();
        self
    }

    /// With this lease TTL.
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Announcing this `host:port`.
    pub fn advertise(mut self, addr: impl Into<String>) -> Self {
        self.advertise = Some(addr.into());
        self
    }

    /// With this weight.
    pub fn weight(mut self, w: u32) -> Self {
        self.weight = Some(w);
        self
    }

    /// With this grace between revoking and closing.
    pub fn leave_grace(mut self, d: Duration) -> Self {
        self.leave_grace = d;
        self
    }
}

struct Shared {
    client: Client,
    key: String,
    ttl_secs: i64,
    record: Mutex<NodeRecord>,
    lease: Mutex<Option<i64>>,
    backoff: (Duration, Duration),
    leave_grace: Duration,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A node's registration: its record under `<namespace><host:port>` with a lease kept
/// alive in the background (a tokio task: etcd-client runs on tokio). When the keep-alive
/// stream ends or the lease is gone (etcd restarted, a partition longer than the TTL), it
/// grants a new lease and puts the record again, backing off between failed attempts.
///
/// [`leave_and_close`](Registrar::leave_and_close) is the graceful exit: revoke first, so
/// watchers drop the node, then close the peer, which drains its calls in flight.
/// Dropping the registrar stops the keep-alive only (the key expires after the TTL).
pub struct Registrar {
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Registrar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registrar")
            .field("key", &self.shared.key)
            .field("lease", &*lock(&self.shared.lease))
            .finish()
    }
}

impl Drop for Registrar {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `host:port` announced for a listener bound at `bound`.
fn advertised(bound: &str, cfg: &RegistrarConfig) -> Result<String, RegistryError> {
    if let Some(a) = &cfg.advertise {
        return Ok(a.clone());
    }
    let addr: std::net::SocketAddr = bound.parse().map_err(|_| {
        RegistryError::BadConfig(format!(
            "listener address {bound:?} is not ip:port: set `advertise`"
        ))
    })?;
    Ok(if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    })
}

impl Registrar {
    /// Registers `peer`, listening at `bound` (what `listen`/`listen_on` returned, so a
    /// port-0 listener announces its real port): its routes ([`Peer::routes`]) minus
    /// `/heartbeat` and `config.exclude`. Returns once the record is in etcd.
    pub async fn register<R: Runtime>(
        client: Client,
        peer: &Peer<R>,
        bound: &str,
        config: RegistrarConfig,
    ) -> Result<Registrar, RegistryError> {
        if config.ttl < Duration::from_secs(1) || config.ttl > Duration::from_secs(86_400) {
            return Err(RegistryError::BadConfig(format!(
                "lease TTL {:?} (1 s to 1 day)",
                config.ttl
            )));
        }
        let addr = advertised(bound, &config)?;
        let mut record = NodeRecord::new(
            peer.routes()
                .into_iter()
                .filter(|r| !config.exclude.contains(r)),
        );
        record.network = Some(peer.config().network.to_string());
        record.protocol = Some(peer.protocol().name().to_owned());
        record.weight = config.weight;
        record.version = config.version.clone();
        record.tls = config.tls;
        let shared = Arc::new(Shared {
            client,
            key: node_key(&config.namespace, &addr),
            ttl_secs: config.ttl.as_secs() as i64,
            record: Mutex::new(record),
            lease: Mutex::new(None),
            backoff: (
                config.backoff_min.max(Duration::from_millis(1)),
                config.backoff_max.max(config.backoff_min),
            ),
            leave_grace: config.leave_grace,
        });
        let lease = shared.grant_and_put().await?;
        let s = Arc::clone(&shared);
        let task = tokio::spawn(async move { s.keep(lease).await });
        Ok(Registrar { shared, task })
    }

    /// The etcd key of this node.
    pub fn key(&self) -> &str {
        &self.shared.key
    }

    /// The lease the record is under now.
    pub fn lease(&self) -> Option<i64> {
        *lock(&self.shared.lease)
    }

    /// The record as announced.
    pub fn record(&self) -> NodeRecord {
        lock(&self.shared.record).clone()
    }

    /// Takes the node out of rotation (`true`) or back in, without stopping it: the record
    /// is put again with `draining` set; clients of this crate stop picking it (Go's
    /// clients do not know the flag).
    pub async fn set_draining(&self, draining: bool) -> Result<(), RegistryError> {
        lock(&self.shared.record).draining = draining.then_some(true);
        self.shared.put_current().await
    }

    /// Revokes the lease (the key goes at once) and stops keeping it alive. The peer keeps
    /// serving.
    pub async fn deregister(self) -> Result<(), RegistryError> {
        self.task.abort();
        let lease = lock(&self.shared.lease).take();
        if let Some(id) = lease {
            self.shared.client.clone().lease_revoke(id).await?;
        }
        Ok(())
    }

    /// The graceful exit: revokes the lease, waits `leave_grace` for watchers to drop the
    /// node, then closes `peer` (which finishes its calls in flight). The peer is closed
    /// even when the revoke fails (the key then expires after the TTL); that error is
    /// returned.
    pub async fn leave_and_close<R: Runtime>(self, peer: &Peer<R>) -> Result<(), RegistryError> {
        let grace = self.shared.leave_grace;
        let revoked = self.deregister().await;
        if revoked.is_ok() {
            tokio::time::sleep(grace).await;
        }
        peer.close().await;
        revoked
    }
}

impl Shared {
    async fn grant_and_put(&self) -> Result<i64, RegistryError> {
        let mut c = self.client.clone();
        let id = c.lease_grant(self.ttl_secs, None).await?.id();
        *lock(&self.lease) = Some(id);
        self.put_current().await?;
        tracing::debug!(key = %self.key, lease = id, "registry: registered");
        Ok(id)
    }

    async fn put_current(&self) -> Result<(), RegistryError> {
        let Some(id) = *lock(&self.lease) else {
            return Ok(());
        };
        let value = lock(&self.record).to_json();
        self.client
            .clone()
            .put(
                self.key.as_bytes(),
                value,
                Some(PutOptions::new().with_lease(id)),
            )
            .await?;
        Ok(())
    }

    /// Keeps `lease` alive; when that fails, grants a new one and puts again, forever
    /// (the task is aborted to stop).
    async fn keep(&self, mut lease: i64) {
        let mut backoff = self.backoff.0;
        loop {
            let why = self.keep_alive(lease).await;
            tracing::warn!(key = %self.key, lease, error = %why, "registry: lease lost, registering again");
            loop {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.backoff.1);
                match self.grant_and_put().await {
                    Ok(id) => {
                        lease = id;
                        backoff = self.backoff.0;
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(key = %self.key, error = %e, "registry: re-register failed")
                    }
                }
            }
        }
    }

    /// Sends keep-alives every TTL/3 until the lease is lost; answers why.
    async fn keep_alive(&self, lease: i64) -> RegistryError {
        let (mut keeper, mut stream) = match self.client.clone().lease_keep_alive(lease).await {
            Ok(pair) => pair,
            Err(e) => return e.into(),
        };
        let period = Duration::from_secs(self.ttl_secs as u64) / 3;
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    if let Err(e) = keeper.keep_alive().await {
                        return e.into();
                    }
                }
                msg = stream.message() => match msg {
                    Ok(Some(r)) if r.ttl() > 0 => {}
                    Ok(Some(_)) => return RegistryError::LeaseLost("lease expired"),
                    Ok(None) => return RegistryError::LeaseLost("keep-alive stream ended"),
                    Err(e) => return e.into(),
                }
            }
        }
    }
}
