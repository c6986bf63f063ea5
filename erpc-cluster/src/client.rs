//! [`ClusterClient`]: calls and pushes that pick a node per call, with failover.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use erpc_peer::erpc_proto::codec::{DecodeBody, EncodeBody};
use erpc_peer::erpc_proto::session::CallOptions;
use erpc_peer::{CallReply, Code, CodecId, Message, Peer, Runtime, Session, Status};
use event_listener::Event;
use futures_util::future::{select, Either};

use crate::balancer::{Balancer, Candidate, Pick, Random};
use crate::breaker::BreakerState;
use crate::config::{ClusterConfig, MAX_SESSIONS_PER_NODE};
use crate::directory::Change;
use crate::discovery::Discovery;
use crate::node::Node;

struct Inner<R: Runtime> {
    peer: Peer<R>,
    discovery: Arc<dyn Discovery>,
    balancer: Box<dyn Balancer>,
    config: ClusterConfig,
    nodes: Mutex<HashMap<String, Arc<Node>>>,
    closed: AtomicBool,
    close_event: Event,
}

/// Ends the watcher task when the last handle of a client goes.
struct Closer<R: Runtime>(Arc<Inner<R>>);

impl<R: Runtime> Drop for Closer<R> {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// A client of many nodes that looks like a session: [`call_with`](ClusterClient::call_with)
/// and [`push`](ClusterClient::push) pick a node per call among those the [`Discovery`]
/// source says serve the route (not draining, breaker not open), through the
/// [`Balancer`]; a connection error (105, 102) sends the call to another node, the failed
/// one excluded, up to [`ClusterConfig::max_failover`] times.
///
/// Sessions are dialed through `peer` (a peer of any async runtime adapter) when a node is
/// first picked, [`ClusterConfig::sessions_per_node`] per node, and closed gracefully when
/// the node leaves the discovery source or starts draining. Use a peer with `redial_times`
/// 0 (the default): failover, not redial, is what moves calls off a dead node.
///
/// A call that failed with 102 may have reached the node before its connection broke:
/// failover sends it again, so calls that must not run twice need idempotent handlers or
/// `max_failover` 0. Cheap to clone; the last handle dropped (or
/// [`close`](ClusterClient::close)) closes its sessions.
pub struct ClusterClient<R: Runtime> {
    inner: Arc<Inner<R>>,
    _closer: Arc<Closer<R>>,
}

impl<R: Runtime> Clone for ClusterClient<R> {
    fn clone(&self) -> Self {
        ClusterClient {
            inner: Arc::clone(&self.inner),
            _closer: Arc::clone(&self._closer),
        }
    }
}

impl<R: Runtime> fmt::Debug for ClusterClient<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClusterClient")
            .field("discovery", &self.inner.discovery)
            .field("balancer", &self.inner.balancer)
            .field("config", &self.inner.config)
            .finish()
    }
}

/// What a cluster client knows of one node (from [`ClusterClient::nodes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NodeStatus {
    /// Its `host:port`.
    pub addr: String,
    /// Calls and pushes in flight to it.
    pub in_flight: usize,
    /// Sessions open to it.
    pub sessions: usize,
    /// Its breaker's state, when breakers are on.
    pub breaker: Option<BreakerState>,
}

fn is_conn_error(s: &Status) -> bool {
    s.code() == Code::DIAL_FAILED || s.code() == Code::CONN_CLOSED
}

impl<R: Runtime> ClusterClient<R> {
    /// A client with the random balancer (tp-micro's) and default settings.
    pub fn new(peer: Peer<R>, discovery: Arc<dyn Discovery>) -> Self {
        Self::with(
            peer,
            discovery,
            Box::new(Random::new()),
            ClusterConfig::default(),
        )
    }

    /// A client with this balancer and these settings (`sessions_per_node` is taken into
    /// `1..=64`).
    pub fn with(
        peer: Peer<R>,
        discovery: Arc<dyn Discovery>,
        balancer: Box<dyn Balancer>,
        mut config: ClusterConfig,
    ) -> Self {
        config.sessions_per_node = config.sessions_per_node.clamp(1, MAX_SESSIONS_PER_NODE);
        let inner = Arc::new(Inner {
            peer,
            discovery,
            balancer,
            config,
            nodes: Mutex::new(HashMap::new()),
            closed: AtomicBool::new(false),
            close_event: Event::new(),
        });
        let watcher = Arc::clone(&inner);
        inner
            .peer
            .runtime()
            .spawn(async move { watcher.watch().await });
        ClusterClient {
            _closer: Arc::new(Closer(Arc::clone(&inner))),
            inner,
        }
    }

    /// The peer sessions are dialed through.
    pub fn peer(&self) -> &Peer<R> {
        &self.inner.peer
    }

    /// The discovery source.
    pub fn discovery(&self) -> &Arc<dyn Discovery> {
        &self.inner.discovery
    }

    /// A call to `service_method` with options; finish with [`send`](ClusterCall::send).
    pub fn call_with(&self, service_method: &str) -> ClusterCall<'_, R> {
        ClusterCall {
            client: self,
            service_method: service_method.to_owned(),
            meta: Vec::new(),
            codec: None,
            accept_codec: None,
            xfer: None,
            timeout: None,
        }
    }

    /// Calls `service_method` with `args` on a node picked for it and decodes the reply.
    pub async fn call<A, T>(&self, service_method: &str, args: &A) -> Result<T, Status>
    where
        A: EncodeBody + Sync + ?Sized,
        T: DecodeBody,
    {
        self.call_with(service_method)
            .send(args)
            .await
            .map(|r| r.body)
    }

    /// Pushes `args` to `service_method` on a node picked for it (failover as for calls:
    /// `Ok` once a node's session queued it).
    pub async fn push<A>(&self, service_method: &str, args: &A) -> Result<(), Status>
    where
        A: EncodeBody + Sync + ?Sized,
    {
        self.inner
            .attempt(service_method, &[], |s| async move {
                s.push(service_method, args).await
            })
            .await
    }

    /// Sends a raw CALL message (body already encoded) to a node picked for its service
    /// method and returns the raw REPLY (failover as for [`call_with`](Self::call_with)).
    /// Its meta is what [`ConsistentHash`](crate::ConsistentHash) hashes on.
    pub async fn call_message(&self, msg: Message, opts: CallOptions) -> Result<Message, Status> {
        let service_method = msg.service_method.as_str().to_owned();
        let meta: Vec<(Vec<u8>, Vec<u8>)> = msg
            .meta
            .iter()
            .map(|(k, v)| (k.to_vec(), v.to_vec()))
            .collect();
        let msg = &msg;
        self.inner
            .attempt(&service_method, &meta, |s| async move {
                s.call_message(msg.clone(), opts).await
            })
            .await
    }

    /// Sends a raw PUSH message to a node picked for its service method.
    pub async fn push_message(&self, msg: Message) -> Result<(), Status> {
        let service_method = msg.service_method.as_str().to_owned();
        let msg = &msg;
        self.inner
            .attempt(&service_method, &[], |s| async move {
                s.push_message(msg.clone()).await
            })
            .await
    }

    /// The nodes this client has used and still knows, by address.
    pub fn nodes(&self) -> Vec<NodeStatus> {
        let now = self.inner.peer.runtime().now();
        let mut list: Vec<_> = self
            .inner
            .lock()
            .values()
            .map(|n| NodeStatus {
                addr: n.addr.clone(),
                in_flight: n.in_flight(),
                sessions: n.sessions(),
                breaker: n.breaker_state(now),
            })
            .collect();
        list.sort_by(|a, b| a.addr.cmp(&b.addr));
        list
    }

    /// Closes every session gracefully and stops following the discovery source; later
    /// calls dial again. Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }
}

impl<R: Runtime> Inner<R> {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Node>>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.close_event.notify(usize::MAX);
        let nodes: Vec<_> = self.lock().drain().map(|(_, n)| n).collect();
        for n in nodes {
            n.remove_now();
        }
    }

    fn node(&self, addr: &str) -> Arc<Node> {
        let mut map = self.lock();
        Arc::clone(map.entry(addr.to_owned()).or_insert_with(|| {
            Arc::new(Node::new(
                addr.to_owned(),
                self.config.sessions_per_node,
                self.config.breaker,
            ))
        }))
    }

    /// Follows the discovery source: nodes that leave or start draining lose their sessions.
    async fn watch(&self) {
        let mut changes = self.discovery.changes();
        loop {
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let closed = self.close_event.listen();
            if self.closed.load(Ordering::Acquire) {
                return;
            }
            let batch = match select(std::pin::pin!(changes.next()), closed).await {
                Either::Left((Some(batch), _)) => batch,
                Either::Left((None, _)) | Either::Right(_) => return,
            };
            for change in batch {
                let gone = match change {
                    Change::Removed(addr) => Some(addr),
                    Change::Updated(i) if i.draining => Some(i.addr),
                    _ => None,
                };
                if let Some(addr) = gone {
                    let node = self.lock().remove(&addr);
                    if let Some(node) = node {
                        tracing::debug!(node = %addr, "cluster: node left, closing its sessions");
                        node.remove().await;
                    }
                }
            }
        }
    }

    /// Runs `op` on a session of a node picked for `service_method`, failing over on
    /// connection errors.
    async fn attempt<T, F, Fut>(
        &self,
        service_method: &str,
        meta: &[(Vec<u8>, Vec<u8>)],
        mut op: F,
    ) -> Result<T, Status>
    where
        F: FnMut(Session) -> Fut,
        Fut: Future<Output = Result<T, Status>>,
    {
        let rt = self.peer.runtime();
        let mut excluded: Vec<String> = Vec::new();
        let mut last: Option<Status> = None;
        for _ in 0..=self.config.max_failover {
            let now = rt.now();
            let instances: Vec<_> = {
                let nodes = self.lock();
                self.discovery
                    .instances(service_method)
                    .into_iter()
                    .filter(|i| !excluded.contains(&i.addr))
                    .map(|i| {
                        let node = nodes.get(&i.addr).cloned();
                        (i, node)
                    })
                    .filter(|(_, n)| n.as_ref().is_none_or(|n| n.available(now)))
                    .collect::<Vec<_>>()
            };
            // Nodes whose last dial failed just now wait, unless nothing else is left.
            let backoff = self.config.dial_backoff;
            let fresh = instances
                .iter()
                .filter(|(_, n)| {
                    n.as_ref()
                        .is_none_or(|n| !n.dial_failed_recently(now, backoff))
                })
                .count();
            let instances: Vec<_> = if fresh > 0 && fresh < instances.len() {
                instances
                    .into_iter()
                    .filter(|(_, n)| {
                        n.as_ref()
                            .is_none_or(|n| !n.dial_failed_recently(now, backoff))
                    })
                    .collect()
            } else {
                instances
            };
            if instances.is_empty() {
                break;
            }
            let candidates: Vec<_> = instances
                .iter()
                .map(|(i, n)| {
                    Candidate::new(&i.addr, n.as_ref().map_or(0, |n| n.in_flight()), i.weight)
                })
                .collect();
            let Some(idx) = self
                .balancer
                .pick(&candidates, &Pick::new(service_method, meta))
                .filter(|&i| i < instances.len())
            else {
                break;
            };
            let addr = &instances[idx].0.addr;
            let node = self.node(addr);
            if !node.allow(now) {
                excluded.push(addr.clone());
                continue;
            }
            let result = {
                let _in_flight = node.start();
                match node.session(&self.peer).await {
                    Ok(s) => op(s).await,
                    Err(e) => Err(e),
                }
            };
            let failed = result
                .as_ref()
                .err()
                .is_some_and(|s| is_conn_error(s) || s.code() == Code::HANDLE_TIMEOUT);
            node.record(rt.now(), !failed);
            match result {
                Err(s) if is_conn_error(&s) => {
                    tracing::debug!(node = %addr, status = %s, "cluster: failing over");
                    excluded.push(addr.clone());
                    last = Some(s);
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| {
            Status::with_cause(
                Code::DIAL_FAILED,
                format!("no node serves {service_method} (or every one failed or is open)"),
            )
        }))
    }
}

/// A call through a [`ClusterClient`], with options; finish with
/// [`send`](ClusterCall::send). The options are those of a session's `CallBuilder`, applied
/// on whichever node takes the call (every failover attempt gets the full timeout).
#[derive(Debug)]
pub struct ClusterCall<'c, R: Runtime> {
    client: &'c ClusterClient<R>,
    service_method: String,
    meta: Vec<(Vec<u8>, Vec<u8>)>,
    codec: Option<CodecId>,
    accept_codec: Option<CodecId>,
    xfer: Option<Vec<u8>>,
    timeout: Option<Option<Duration>>,
}

impl<R: Runtime> ClusterCall<'_, R> {
    /// Adds a meta pair (also what [`ConsistentHash`](crate::ConsistentHash) hashes on).
    pub fn meta(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.meta
            .push((key.as_ref().to_vec(), value.as_ref().to_vec()));
        self
    }

    /// Encodes the arguments with this codec.
    pub fn codec(mut self, codec: CodecId) -> Self {
        self.codec = Some(codec);
        self
    }

    /// Asks the node to encode its reply with this codec.
    pub fn accept_codec(mut self, codec: CodecId) -> Self {
        self.accept_codec = Some(codec);
        self
    }

    /// Applies these transfer filters (ids, outer-most first).
    pub fn xfer(mut self, ids: &[u8]) -> Self {
        self.xfer = Some(ids.to_vec());
        self
    }

    /// Fails an attempt with 408 if no reply came within `d`.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = Some(Some(d));
        self
    }

    /// Waits for the reply however long it takes.
    pub fn no_timeout(mut self) -> Self {
        self.timeout = Some(None);
        self
    }

    /// Picks a node, sends the call there (elsewhere on connection errors) and decodes the
    /// reply. With no node for the route: 105 `Dial Failed`, cause `no node serves …`.
    pub async fn send<A, T>(self, args: &A) -> Result<CallReply<T>, Status>
    where
        A: EncodeBody + Sync + ?Sized,
        T: DecodeBody,
    {
        let this = &self;
        this.client
            .inner
            .attempt(&this.service_method, &this.meta, |s| async move {
                let mut b = s.call_with(&this.service_method);
                for (k, v) in &this.meta {
                    b = b.meta(k, v);
                }
                if let Some(c) = this.codec {
                    b = b.codec(c);
                }
                if let Some(c) = this.accept_codec {
                    b = b.accept_codec(c);
                }
                if let Some(x) = &this.xfer {
                    b = b.xfer(x);
                }
                match this.timeout {
                    Some(Some(d)) => b = b.timeout(d),
                    Some(None) => b = b.no_timeout(),
                    None => {}
                }
                b.send(args).await
            })
            .await
    }
}
