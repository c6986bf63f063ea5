//! The state a peer's façade ([`Peer`](crate::Peer)), its builder and its connection tasks
//! share: the session table, the live-task count, the closing flag.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use erpc_proto::plugin::Plugins;
use erpc_proto::session::SessionConfig;
use erpc_proto::{Code, Status};

use crate::config::PeerConfig;
use crate::conn::PeerCore;
use crate::runtime::{Runtime, SocketOptions, Stream};
use crate::session::Session;

/// A connection's stream once TLS (if any) is on.
pub(crate) type BoxedStream = Box<dyn Stream>;

/// What a peer's façade, its builder and its connection tasks share.
pub(crate) struct Shared<R: Runtime> {
    pub(crate) rt: R,
    pub(crate) config: PeerConfig,
    pub(crate) core: Arc<PeerCore>,
    pub(crate) session_cfg: SessionConfig,
    /// `session_cfg` as each protocol and side runs it, shared by the sessions.
    pub(crate) session_cfgs: crate::setup::SessionConfigs,
    pub(crate) plugins: Plugins,
    /// Early exchanges on dialed and accepted connections ([`crate::early`]).
    pub(crate) early: crate::early::EarlyHooks,
    pub(crate) socket: SocketOptions,
    #[cfg(feature = "tls")]
    pub(crate) tls: crate::tls::TlsSettings,
    #[cfg(feature = "quic")]
    pub(crate) quic: crate::quic::QuicConfig,
    /// The KCP parameters of this peer's sessions ([`PeerBuilder::kcp`](crate::PeerBuilder::kcp)).
    #[cfg(feature = "kcp")]
    pub(crate) kcp: crate::kcp::KcpConfig,
    pub(crate) sessions: Mutex<HashMap<String, Session>>,
    pub(crate) live: AtomicUsize,
    pub(crate) live_event: event_listener::Event,
    pub(crate) closing: AtomicBool,
    pub(crate) close_event: event_listener::Event,
}

/// A status for a local I/O failure: `context: error` as its cause, the error as its source.
pub(crate) fn io_status(code: Code, context: impl std::fmt::Display, e: std::io::Error) -> Status {
    Status::with_cause(code, format!("{context}: {e}")).with_source(e)
}

/// Keeps the live-connection count of a peer while a connection task runs.
pub(crate) struct LiveGuard<R: Runtime>(Arc<Shared<R>>);

impl<R: Runtime> LiveGuard<R> {
    pub(crate) fn new(shared: &Arc<Shared<R>>) -> Self {
        shared.live.fetch_add(1, Ordering::AcqRel);
        shared.core.metrics.connection(true);
        LiveGuard(Arc::clone(shared))
    }
}

impl<R: Runtime> Drop for LiveGuard<R> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::AcqRel);
        self.0.core.metrics.connection(false);
        self.0.live_event.notify(usize::MAX);
    }
}

/// Sleeps `d` on the runtime's clock.
pub(crate) async fn sleep<R: Runtime>(rt: &R, d: Duration) {
    rt.timer(rt.now() + d).await;
}

impl<R: Runtime> Shared<R> {
    /// Whether the peer is closing.
    pub(crate) fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }
}

/// Runs `fut` until it completes (`Some`) or the peer starts closing (`None`).
pub(crate) async fn until_closed<R: Runtime, F: std::future::Future>(
    shared: &Shared<R>,
    fut: F,
) -> Option<F::Output> {
    use futures_util::future::{select, Either};
    let mut fut = std::pin::pin!(fut);
    loop {
        if shared.is_closing() {
            return None;
        }
        let closed = shared.close_event.listen();
        if shared.is_closing() {
            return None;
        }
        match select(fut.as_mut(), closed).await {
            Either::Left((v, _)) => return Some(v),
            Either::Right(_) => continue,
        }
    }
}
