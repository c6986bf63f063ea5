//! [`Peer`]: one endpoint that listens and dials; the threads behind its connections.

use erpc_proto::proto::Protocol;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use erpc_peer::adapter::{
    endpoint, listen_addr, redial_interval, session_core, LogConfig, PeerParts,
};
use erpc_peer::{Connected, Endpoint, PeerConfig, SocketOptions};
use erpc_proto::plugin::{Plugins, SessionInfo};
use erpc_proto::session::{Session as Core, SessionConfig};
use erpc_proto::{Code, Status};

use crate::conn::{self, Link};
use crate::handler::{AuthFn, Handler, Work};
use crate::pool::{Pool, PoolStats};
use crate::session::{lock, Command, Inbox, Session, SessionParts};
use crate::socket::{self, Listener, Socket};
use crate::transport::Transport;

/// How long an accepted connection may take to finish its TLS handshake.
#[cfg(feature = "tls")]
const SERVER_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS settings of a peer.
#[cfg(feature = "tls")]
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) server: Option<Arc<erpc_peer::rustls::ServerConfig>>,
    pub(crate) client: Option<(
        Arc<erpc_peer::rustls::ClientConfig>,
        erpc_peer::rustls::pki_types::ServerName<'static>,
    )>,
}

struct ListenerEntry {
    listener: Arc<Listener>,
    /// Disconnects when the accept thread ends.
    done: Receiver<()>,
}

/// Everything the threads of a peer share.
pub(crate) struct Shared {
    pub(crate) config: PeerConfig,
    pub(crate) session_cfg: SessionConfig,
    pub(crate) plugins: Plugins,
    pub(crate) socket_opts: SocketOptions,
    pub(crate) handlers: Vec<Option<Handler>>,
    pub(crate) auth_checker: Option<AuthFn>,
    pub(crate) log: LogConfig,
    pub(crate) pool: Pool<Work>,
    #[cfg(feature = "tls")]
    pub(crate) tls: TlsSettings,
    pub(crate) sessions: Mutex<HashMap<String, Session>>,
    live: Mutex<usize>,
    live_cv: Condvar,
    closing: AtomicBool,
    closing_mx: Mutex<bool>,
    closing_cv: Condvar,
    listeners: Mutex<Vec<ListenerEntry>>,
}

impl Shared {
    pub(crate) fn new(
        parts: PeerParts<Handler>,
        auth_checker: Option<AuthFn>,
        pool: Pool<Work>,
        #[cfg(feature = "tls")] tls: TlsSettings,
    ) -> Shared {
        Shared {
            config: parts.config,
            session_cfg: parts.session_cfg,
            plugins: parts.plugins,
            socket_opts: parts.socket,
            handlers: parts.handlers,
            auth_checker,
            log: parts.log,
            pool,
            #[cfg(feature = "tls")]
            tls,
            sessions: Mutex::new(HashMap::new()),
            live: Mutex::new(0),
            live_cv: Condvar::new(),
            closing: AtomicBool::new(false),
            closing_mx: Mutex::new(false),
            closing_cv: Condvar::new(),
            listeners: Mutex::new(Vec::new()),
        }
    }

    fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Acquire)
    }

    /// Sleeps `d`, or less if the peer starts closing; returns whether it is closing.
    fn sleep_unless_closing(&self, d: Duration) -> bool {
        let guard = lock(&self.closing_mx);
        let (closing, _) = self
            .closing_cv
            .wait_timeout_while(guard, d, |c| !*c)
            .unwrap_or_else(|e| e.into_inner());
        *closing
    }

    /// Waits until no connection thread is left or `deadline` passed; returns whether none is.
    fn wait_idle(&self, deadline: Instant) -> bool {
        let mut live = lock(&self.live);
        while *live > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            live = self
                .live_cv
                .wait_timeout(live, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}

/// Counts a peer's connection threads while they run.
struct LiveGuard(Arc<Shared>);

impl LiveGuard {
    fn new(shared: &Arc<Shared>) -> Self {
        *lock(&shared.live) += 1;
        LiveGuard(Arc::clone(shared))
    }
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        *lock(&self.0.live) -= 1;
        self.0.live_cv.notify_all();
    }
}

/// An eRPC peer on std threads: listens and dials with the same routes; every session,
/// dialed or accepted, can call and push to the other side. Cheap to clone; every method
/// blocks the calling thread at most as long as it says.
///
/// Build one with [`PeerBuilder`](crate::PeerBuilder) (or [`builder`](crate::builder)).
#[derive(Clone)]
pub struct Peer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("network", &self.shared.config.network)
            .field("sessions", &self.count_sessions())
            .finish()
    }
}

fn io_status(code: Code, e: impl std::fmt::Display) -> Status {
    Status::with_cause(code, e.to_string())
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) -> Result<(), Status> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map(|_| ())
        .map_err(|e| io_status(Code::INTERNAL_SERVER_ERROR, format!("spawn thread: {e}")))
}

impl Peer {
    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.shared.config
    }

    /// Whether [`close`](Peer::close) was called.
    pub fn is_closing(&self) -> bool {
        self.shared.is_closing()
    }

    /// A snapshot of the handler worker pool: threads, queue, refused work.
    pub fn pool_stats(&self) -> PoolStats {
        self.shared.pool.stats()
    }

    /// The endpoint of `addr` on the configured network (`unix`: `addr` is a path).
    pub fn endpoint(&self, addr: &str) -> Endpoint {
        endpoint(&self.shared.config, addr)
    }

    /// Starts listening on the configured `local_ip:listen_port` (for `unix`: the path in
    /// `local_ip`) and serving on a background thread. Returns the bound address.
    pub fn listen(&self) -> Result<String, Status> {
        let addr = listen_addr(&self.shared.config);
        self.listen_on(self.endpoint(&addr))
    }

    /// Starts listening on `endpoint` and serving on a background thread. Returns the bound
    /// address (with the port chosen when it was 0).
    pub fn listen_on(&self, endpoint: Endpoint) -> Result<String, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.listen_on_with(endpoint, protocol)
    }

    /// Listens on `endpoint` speaking `protocol` there (e.g. `erpc_proto::proto::by_name("json")`),
    /// whatever the peer's default.
    pub fn listen_on_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<String, Status> {
        if self.is_closing() {
            return Err(Status::with_cause(Code::WRONG_CONN, "peer is closed"));
        }
        let (listener, addr) = socket::bind(&endpoint)
            .map_err(|e| io_status(Code::WRONG_CONN, format!("listen on {endpoint}: {e}")))?;
        for p in self.shared.plugins.iter() {
            p.post_listen(&addr)?;
        }
        tracing::info!(%addr, "listening");
        let listener = Arc::new(listener);
        let (done_tx, done) = mpsc::sync_channel::<()>(0);
        let shared = Arc::clone(&self.shared);
        let l = Arc::clone(&listener);
        spawn_named("erpc-accept", move || {
            accept_loop(shared, l, protocol, done_tx)
        })?;
        lock(&self.shared.listeners).push(ListenerEntry { listener, done });
        Ok(addr)
    }

    /// Listens like [`listen`](Peer::listen) and blocks until the peer is closed (by another
    /// thread, or [`graceful_shutdown_on_signal`](crate::graceful_shutdown_on_signal)).
    pub fn listen_and_serve(&self) -> Result<(), Status> {
        self.listen()?;
        self.wait_closed();
        Ok(())
    }

    /// Blocks until [`close`](Peer::close) is called.
    pub fn wait_closed(&self) {
        let shared = &self.shared;
        let mut closing = lock(&shared.closing_mx);
        while !*closing {
            closing = shared
                .closing_cv
                .wait(closing)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Dials `addr` on the configured network and blocks until the session is open
    /// (authenticated, when auth is configured). With `redial_times` ≠ 0 failed attempts
    /// (including a refused authentication) are retried, and a session that breaks later is
    /// re-established behind the same handle. Fails with 105 `Dial Failed`.
    pub fn dial(&self, addr: &str) -> Result<Session, Status> {
        self.dial_endpoint(self.endpoint(addr))
    }

    /// Dials an explicit endpoint.
    pub fn dial_endpoint(&self, endpoint: Endpoint) -> Result<Session, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.dial_endpoint_with(endpoint, protocol)
    }

    /// Dials `addr` speaking `protocol` on that session, whatever the peer's default.
    pub fn dial_with(&self, addr: &str, protocol: Arc<dyn Protocol>) -> Result<Session, Status> {
        self.dial_endpoint_with(self.endpoint(addr), protocol)
    }

    /// Dials an explicit endpoint with an explicit protocol.
    pub fn dial_endpoint_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        if self.is_closing() {
            return Err(Status::with_cause(Code::DIAL_FAILED, "peer is closed"));
        }
        let shared = &self.shared;
        let mut left = shared.config.redial_times;
        loop {
            let last = match connect_attempt(shared, &endpoint, false) {
                Ok(link) => {
                    let (ready_tx, ready_rx) = mpsc::sync_channel(1);
                    match start_dialed(
                        shared,
                        endpoint.clone(),
                        Arc::clone(&protocol),
                        link,
                        ready_tx,
                    ) {
                        Ok(handle) => {
                            let st = match ready_rx.recv() {
                                Ok(Ok(())) => return Ok(handle),
                                Ok(Err(st)) => st,
                                Err(_) => Status::from_code(Code::CONN_CLOSED),
                            };
                            // Gone from the hub now, not when its thread has wound down.
                            leave_hub(shared, &handle);
                            st
                        }
                        Err(st) => st,
                    }
                }
                Err(st) => st,
            };
            if left == 0 || self.is_closing() {
                let cause = last
                    .cause()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(last.msg())
                    .to_owned();
                return Err(Status::with_cause(Code::DIAL_FAILED, cause));
            }
            if left > 0 {
                left -= 1;
            }
            shared.sleep_unless_closing(redial_interval(&shared.config));
        }
    }

    /// The session with this id.
    pub fn session(&self, id: &str) -> Option<Session> {
        lock(&self.shared.sessions).get(id).cloned()
    }

    /// Visits every live session until `f` returns false (e.g. to broadcast a push).
    pub fn range_sessions(&self, mut f: impl FnMut(&Session) -> bool) {
        let list: Vec<Session> = lock(&self.shared.sessions).values().cloned().collect();
        for s in &list {
            if !f(s) {
                break;
            }
        }
    }

    /// Number of live sessions.
    pub fn count_sessions(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// Closes gracefully and blocks until done: stops accepting (the listening sockets are
    /// closed when this returns), asks every session to finish its calls in flight within
    /// `shutdown_timeout`, then cuts whatever is left. Idempotent.
    pub fn close(&self) {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::Release);
        *lock(&shared.closing_mx) = true;
        shared.closing_cv.notify_all();

        let listeners: Vec<ListenerEntry> = std::mem::take(&mut *lock(&shared.listeners));
        for l in &listeners {
            l.listener.wake();
        }
        for l in listeners {
            let _ = l.done.recv_timeout(Duration::from_secs(1));
        }

        let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
        for s in &sessions {
            s.close();
        }
        let deadline = Instant::now() + shared.config.shutdown_timeout + Duration::from_millis(100);
        if !shared.wait_idle(deadline) {
            tracing::warn!("shutdown timeout: closing the remaining sessions now");
            let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
            for s in &sessions {
                s.close_now();
                s.abort();
            }
            shared.wait_idle(Instant::now() + Duration::from_secs(1));
        }
        shared.pool.close();
    }
}

/// One connection attempt: connect (bounded by the dial timeout), TLS, `post_dial`.
fn connect_attempt(shared: &Shared, endpoint: &Endpoint, is_redial: bool) -> Result<Link, Status> {
    let dial_timeout = shared.config.dial_timeout;
    let timeout = (!dial_timeout.is_zero()).then_some(dial_timeout);
    let conn = socket::connect(endpoint, shared.socket_opts, timeout)
        .map_err(|e| io_status(Code::DIAL_FAILED, format!("dial {endpoint}: {e}")))?;
    let Connected {
        stream: mut socket,
        local_addr,
        remote_addr,
    } = conn;
    let transport = secure_client(shared, &mut socket, timeout)?;
    let info = SessionInfo::new(local_addr.clone(), Some(remote_addr.clone()), true);
    for p in shared.plugins.iter() {
        p.post_dial(&info, is_redial)?;
    }
    Ok(Link {
        socket,
        transport,
        local_addr,
        remote_addr,
    })
}

#[cfg(feature = "tls")]
fn secure_client(
    shared: &Shared,
    socket: &mut Socket,
    timeout: Option<Duration>,
) -> Result<Transport, Status> {
    match &shared.tls.client {
        Some((cfg, name)) => Transport::client_handshake(
            socket,
            Arc::clone(cfg),
            name.clone(),
            timeout.unwrap_or(SERVER_HANDSHAKE_TIMEOUT),
        )
        .map_err(|e| io_status(Code::DIAL_FAILED, format!("TLS handshake: {e}"))),
        None => Ok(Transport::Plain),
    }
}

#[cfg(not(feature = "tls"))]
fn secure_client(_: &Shared, _: &mut Socket, _: Option<Duration>) -> Result<Transport, Status> {
    Ok(Transport::Plain)
}

#[cfg(feature = "tls")]
fn secure_server(shared: &Shared, socket: &mut Socket) -> std::io::Result<Transport> {
    match &shared.tls.server {
        Some(cfg) => Transport::server_handshake(socket, Arc::clone(cfg), SERVER_HANDSHAKE_TIMEOUT),
        None => Ok(Transport::Plain),
    }
}

#[cfg(not(feature = "tls"))]
fn secure_server(_: &Shared, _: &mut Socket) -> std::io::Result<Transport> {
    Ok(Transport::Plain)
}

/// The sans-IO session of one connection (see [`session_core`]).
fn new_core(
    shared: &Shared,
    protocol: &Arc<dyn Protocol>,
    dialed: bool,
    id: &str,
    remote: &str,
) -> Core {
    let has_checker = shared.auth_checker.is_some();
    session_core(
        &shared.session_cfg,
        protocol,
        has_checker,
        dialed,
        id,
        remote,
    )
}

fn new_handle(
    shared: &Shared,
    tx: Sender<Inbox>,
    id: String,
    link: &Link,
    dialed: bool,
) -> Session {
    Session::new(
        tx,
        SessionParts {
            id,
            local_addr: link.local_addr.clone(),
            remote_addr: link.remote_addr.clone(),
            dialed,
            codecs: shared.session_cfg.codecs.clone(),
            default_codec: shared.session_cfg.default_body_codec,
            close_linger: shared.config.shutdown_timeout,
            call_timeout: shared.session_cfg.call_timeout,
        },
    )
}

/// Starts the thread of a dialed connection; it redials per the configuration.
fn start_dialed(
    shared: &Arc<Shared>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    link: Link,
    ready: SyncSender<Result<(), Status>>,
) -> Result<Session, Status> {
    let (tx, rx) = mpsc::channel();
    let id = link.local_addr.clone();
    let handle = new_handle(shared, tx, id, &link, true);
    let guard = LiveGuard::new(shared);
    let shared2 = Arc::clone(shared);
    let h = handle.clone();
    spawn_named("erpc-conn", move || {
        dialed_thread(&shared2, endpoint, &protocol, link, &h, rx, ready);
        drop(guard);
    })?;
    Ok(handle)
}

fn dialed_thread(
    shared: &Shared,
    endpoint: Endpoint,
    protocol: &Arc<dyn Protocol>,
    mut link: Link,
    handle: &Session,
    rx: Receiver<Inbox>,
    ready: SyncSender<Result<(), Status>>,
) {
    let mut ready = Some(ready);
    let mut stash = VecDeque::new();
    let mut in_hub = false;
    let mut gen = 0;
    loop {
        gen += 1;
        let id = handle.id();
        let core = new_core(shared, protocol, true, &id, &link.remote_addr);
        if !in_hub {
            lock(&shared.sessions).insert(id.clone(), handle.clone());
            in_hub = true;
        }
        let ended = conn::run(
            shared,
            link,
            core,
            handle,
            &rx,
            &mut stash,
            gen,
            ready.take(),
        );
        let redial = shared.config.redial_times != 0
            && ended.opened
            && !ended.closed_locally
            && !shared.is_closing();
        if !redial {
            break;
        }
        tracing::info!(session = %id, reason = %ended.reason, "connection lost; redialing");
        match redial_loop(shared, &endpoint, &rx, &mut stash) {
            Some(l) => {
                *lock(&handle.inner.local_addr) = l.local_addr.clone();
                *lock(&handle.inner.remote_addr) = l.remote_addr.clone();
                link = l;
                tracing::info!(session = %id, "redial ok");
            }
            None => {
                tracing::warn!(session = %id, "redial failed");
                break;
            }
        }
    }
    finish(shared, handle, &rx, stash, in_hub);
}

/// Redial attempts: the first at once, then `redial_times` more (forever if negative), each
/// after `redial_interval`. Commands that arrive meanwhile wait for the new connection; a
/// close stops the redial.
fn redial_loop(
    shared: &Shared,
    endpoint: &Endpoint,
    rx: &Receiver<Inbox>,
    stash: &mut VecDeque<Command>,
) -> Option<Link> {
    let mut left = shared.config.redial_times;
    loop {
        if shared.is_closing() {
            return None;
        }
        match connect_attempt(shared, endpoint, true) {
            Ok(l) => return Some(l),
            Err(st) => tracing::debug!(status = %st, "redial attempt failed"),
        }
        if left == 0 {
            return None;
        }
        if left > 0 {
            left -= 1;
        }
        let deadline = Instant::now() + redial_interval(&shared.config);
        loop {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(Inbox::Cmd(Command::Close { .. })) => return None,
                Ok(Inbox::Cmd(cmd)) => stash.push_back(cmd),
                Ok(_) => {}
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return None,
            }
        }
    }
}

/// The session is gone for good: fail queued commands, leave the hub, notify.
fn finish(
    shared: &Shared,
    handle: &Session,
    rx: &Receiver<Inbox>,
    stash: VecDeque<Command>,
    in_hub: bool,
) {
    let queued = stash.into_iter().chain(std::iter::from_fn(|| loop {
        match rx.try_recv() {
            Ok(Inbox::Cmd(cmd)) => return Some(cmd),
            Ok(_) => continue,
            Err(_) => return None,
        }
    }));
    for cmd in queued {
        let st = Status::from_code(Code::CONN_CLOSED);
        match cmd {
            Command::Call { tx, .. } => {
                let _ = tx.send(Err(st));
            }
            Command::Push { tx, .. } => {
                let _ = tx.send(Err(st));
            }
            Command::Close { .. } => {}
        }
    }
    if in_hub {
        leave_hub(shared, handle);
    }
    handle.mark_closed();
    let info = SessionInfo::new(handle.id(), Some(handle.remote_addr()), handle.dialed());
    shared
        .plugins
        .run_logged("post_disconnect", |p| p.post_disconnect(&info));
}

/// Removes `handle` from the hub (unless another session took its id since).
fn leave_hub(shared: &Shared, handle: &Session) {
    let id = handle.id();
    let mut hub = lock(&shared.sessions);
    if hub
        .get(&id)
        .is_some_and(|s| Arc::ptr_eq(&s.inner, &handle.inner))
    {
        hub.remove(&id);
    }
}

fn accept_loop(
    shared: Arc<Shared>,
    listener: Arc<Listener>,
    protocol: Arc<dyn Protocol>,
    _done: SyncSender<()>,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        if shared.is_closing() {
            break;
        }
        match listener.accept(shared.socket_opts) {
            Ok(conn) => {
                if shared.is_closing() {
                    break;
                }
                backoff = Duration::from_millis(5);
                let guard = LiveGuard::new(&shared);
                let s = Arc::clone(&shared);
                let p = Arc::clone(&protocol);
                if let Err(st) = spawn_named("erpc-conn", move || {
                    serve_accepted(&s, &p, conn);
                    drop(guard);
                }) {
                    tracing::warn!(status = %st, "connection dropped");
                }
            }
            Err(e) => {
                if shared.is_closing() {
                    break;
                }
                // Out of descriptors and the like: back off (5 ms doubling to 1 s, as Go).
                tracing::warn!(error = %e, "accept failed");
                shared.sleep_unless_closing(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    tracing::debug!("accept loop stopped");
}

fn serve_accepted(shared: &Shared, protocol: &Arc<dyn Protocol>, conn: Connected<Socket>) {
    let Connected {
        stream: mut socket,
        local_addr,
        remote_addr,
    } = conn;
    let transport = match secure_server(shared, &mut socket) {
        Ok(t) => t,
        Err(e) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            return;
        }
    };
    let id = remote_addr.clone();
    let info = SessionInfo::new(id.clone(), Some(remote_addr.clone()), false);
    if let Err(st) = shared.plugins.run(|p| p.post_accept(&info)) {
        tracing::debug!(status = %st, session = %id, "post_accept refused the connection");
        return;
    }
    let link = Link {
        socket,
        transport,
        local_addr,
        remote_addr,
    };
    let (tx, rx) = mpsc::channel();
    let handle = new_handle(shared, tx, id.clone(), &link, false);
    let core = new_core(shared, protocol, false, &id, &link.remote_addr);
    lock(&shared.sessions).insert(id, handle.clone());
    if shared.is_closing() {
        handle.close();
    }
    let mut stash = VecDeque::new();
    conn::run(shared, link, core, &handle, &rx, &mut stash, 1, None);
    finish(shared, &handle, &rx, stash, true);
}
