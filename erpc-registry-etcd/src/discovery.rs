//! [`EtcdDiscovery`]: the nodes under a namespace, followed with one prefix get and one
//! prefix watch.

use std::sync::Arc;
use std::time::Duration;

use erpc_cluster::{Directory, Discovery, Instance};
use etcd_client::{Client, EventType, GetOptions, KeyValue, WatchOptions};
use tokio::task::JoinHandle;

use crate::error::RegistryError;
use crate::record::{addr_of, NodeRecord};

/// Back-off between failed attempts to list or watch (doubled from 100 ms to 5 s).
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Follows the node records under a namespace: lists them once (`Get(prefix)`), then
/// watches the prefix from the next revision; on compaction, a cancelled watch or a broken
/// connection it lists again and watches anew (backing off from 100 ms to 5 s while etcd
/// is unreachable). Records that do not parse are logged and left out (a bad value for a
/// known address removes that node). One per client process is enough: share it as
/// `Arc<dyn Discovery>` between cluster clients.
///
/// The watcher is a tokio task (etcd-client runs on tokio); what it maintains, the
/// [`Directory`], is runtime-agnostic, so a cluster client on another runtime reads it as
/// long as a tokio runtime runs somewhere in the process.
#[derive(Debug)]
pub struct EtcdDiscovery {
    dir: Arc<Directory>,
    task: JoinHandle<()>,
}

impl Drop for EtcdDiscovery {
    fn drop(&mut self) {
        self.task.abort();
        self.dir.close();
    }
}

fn parse(namespace: &str, kv: &KeyValue) -> Result<Instance, RegistryError> {
    let key = std::str::from_utf8(kv.key()).map_err(|_| RegistryError::BadRecord {
        key: String::from_utf8_lossy(kv.key()).into_owned(),
        reason: "key is not UTF-8".into(),
    })?;
    let addr = addr_of(namespace, key)?;
    Ok(NodeRecord::parse(key, kv.value())?.instance(addr))
}

/// Lists the namespace: the nodes and the revision of the listing.
async fn list(client: &Client, namespace: &str) -> Result<(Vec<Instance>, i64), RegistryError> {
    let resp = client
        .clone()
        .get(namespace, Some(GetOptions::new().with_prefix()))
        .await?;
    let rev = resp.header().map_or(0, |h| h.revision());
    let nodes = resp
        .kvs()
        .iter()
        .filter_map(|kv| match parse(namespace, kv) {
            Ok(i) => Some(i),
            Err(e) => {
                tracing::warn!(error = %e, "discovery: skipping a record");
                None
            }
        })
        .collect();
    Ok((nodes, rev))
}

impl EtcdDiscovery {
    /// Lists the nodes under `namespace` (so they are there when this returns) and starts
    /// watching.
    pub async fn start(
        client: Client,
        namespace: impl Into<String>,
    ) -> Result<Self, RegistryError> {
        let namespace = namespace.into();
        let dir = Directory::new();
        let (nodes, rev) = list(&client, &namespace).await?;
        dir.replace(nodes);
        let d = Arc::clone(&dir);
        let task = tokio::spawn(async move { follow(client, namespace, d, rev).await });
        Ok(EtcdDiscovery { dir, task })
    }

    /// Every node under the namespace now, draining ones included (`erpc nodes`).
    pub fn all(&self) -> Vec<Instance> {
        self.dir.all()
    }
}

impl Discovery for EtcdDiscovery {
    fn directory(&self) -> &Arc<Directory> {
        &self.dir
    }
}

async fn follow(client: Client, namespace: String, dir: Arc<Directory>, mut rev: i64) {
    let mut backoff = BACKOFF.0;
    loop {
        match watch(&client, &namespace, &dir, rev).await {
            Ok(why) => tracing::debug!(why, "discovery: watch ended, listing again"),
            Err(e) => tracing::warn!(error = %e, "discovery: watch failed, listing again"),
        }
        loop {
            match list(&client, &namespace).await {
                Ok((nodes, r)) => {
                    dir.replace(nodes);
                    rev = r;
                    backoff = BACKOFF.0;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "discovery: list failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF.1);
                }
            }
        }
    }
}

/// Applies the watch's events from `rev + 1` until it must be re-listed; why it ended.
async fn watch(
    client: &Client,
    namespace: &str,
    dir: &Directory,
    rev: i64,
) -> Result<&'static str, RegistryError> {
    let (_watcher, mut stream) = client
        .clone()
        .watch(
            namespace,
            Some(
                WatchOptions::new()
                    .with_prefix()
                    .with_start_revision(rev + 1),
            ),
        )
        .await?;
    while let Some(resp) = stream.message().await? {
        if resp.compact_revision() > 0 {
            return Ok("compacted");
        }
        if resp.canceled() {
            return Ok("cancelled");
        }
        for ev in resp.events() {
            let Some(kv) = ev.kv() else { continue };
            match ev.event_type() {
                EventType::Put => match parse(namespace, kv) {
                    Ok(i) => dir.upsert(i),
                    Err(e) => {
                        tracing::warn!(error = %e, "discovery: bad record, node left out");
                        if let Some(addr) = std::str::from_utf8(kv.key())
                            .ok()
                            .and_then(|k| addr_of(namespace, k).ok())
                        {
                            dir.remove(addr);
                        }
                    }
                },
                EventType::Delete => {
                    if let Some(addr) = std::str::from_utf8(kv.key())
                        .ok()
                        .and_then(|k| addr_of(namespace, k).ok())
                    {
                        dir.remove(addr);
                    }
                }
            }
        }
    }
    Ok("stream ended")
}
