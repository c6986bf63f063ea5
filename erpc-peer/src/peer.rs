//! [`Peer`]: one endpoint that listens and dials, the application's façade over the
//! connection tasks (`lifecycle.rs`) and their shared state (`state.rs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use erpc_proto::proto::Protocol;
use erpc_proto::{Code, Status};
use futures_channel::oneshot;
use futures_util::future::{select, Either};

use crate::config::PeerConfig;
use crate::conn::redial::RedialPolicy;
use crate::conn::stats::PeerStats;
use crate::lifecycle::{
    accept_loop, connect_attempt, leave_table, open_accepted, run_accepted, start_dialed,
};
use crate::runtime::{split_host_port, Connected, Endpoint, Runtime, Stream};
use crate::session::{lock, Session};
use crate::setup::{endpoint, listen_addr};
use crate::state::{io_status, until_closed, LiveGuard, Shared};

/// An eRPC peer: listens and dials with the same routes; every session, dialed or accepted,
/// can call and push to the other side. Cheap to clone.
///
/// Build one with [`PeerBuilder`](crate::PeerBuilder) (through a runtime adapter, which picks `R`).
pub struct Peer<R: Runtime> {
    pub(crate) shared: Arc<Shared<R>>,
}

impl<R: Runtime> Peer<R> {
    pub(crate) fn from_shared(shared: Arc<Shared<R>>) -> Self {
        Peer { shared }
    }
}

impl<R: Runtime> Clone for Peer<R> {
    fn clone(&self) -> Self {
        Peer {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for Peer<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Peer")
            .field("network", &self.shared.config.network)
            .field("sessions", &self.count_sessions())
            .finish()
    }
}

impl<R: Runtime> Peer<R> {
    /// The configuration.
    pub fn config(&self) -> &PeerConfig {
        &self.shared.config
    }

    /// The wire protocol of listens and dials that name none: the builder's
    /// [`protocol`](crate::PeerBuilder::protocol) if it was given one, otherwise
    /// [`PeerConfig::protocol`]; on network `ws`, inside the websocket sub-protocol.
    pub fn protocol(&self) -> &Arc<dyn Protocol> {
        &self.shared.session_cfg.protocol
    }

    /// The runtime.
    pub fn runtime(&self) -> &R {
        &self.shared.rt
    }

    /// The service methods of every registered call and push handler, sorted, each once
    /// (the unknown-call and unknown-push fallbacks are not routes). What a service registry
    /// announces (tp-micro's `uri_paths`).
    pub fn routes(&self) -> Vec<String> {
        use erpc_proto::router::RouteKind;
        let router = &self.shared.session_cfg.router;
        let mut list: Vec<String> = router
            .routes(RouteKind::Call)
            .chain(router.routes(RouteKind::Push))
            .map(|r| r.service_method().to_owned())
            .collect();
        list.sort_unstable();
        list.dedup();
        list
    }

    /// Whether [`close`](Peer::close) was called.
    pub fn is_closing(&self) -> bool {
        self.shared.closing.load(Ordering::Acquire)
    }

    /// On a websocket endpoint, the websocket protocol of `ws_subproto` (`proto`: `protocol`
    /// in each message), and the peer's TLS settings moved into the endpoint (`wss://`: the
    /// runtime adapter runs TLS under the websocket, not the peer over its records);
    /// `protocol` and the endpoint unchanged elsewhere.
    fn ws_wrap(
        &self,
        mut endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> (Endpoint, Arc<dyn Protocol>) {
        let Endpoint::Ws(ws) = &mut endpoint else {
            return (endpoint, protocol);
        };
        #[cfg(feature = "tls")]
        {
            ws.tls.settings = self.shared.tls.clone();
        }
        #[cfg(not(feature = "tls"))]
        let _ = ws;
        let protocol = self.shared.config.ws_subproto.protocol(&protocol);
        (endpoint, protocol)
    }

    /// The endpoint of `addr` on the configured network (`unix`: `addr` is a path).
    pub fn endpoint(&self, addr: &str) -> Endpoint {
        endpoint(&self.shared.config, addr)
    }

    /// Starts listening on the configured `local_ip:listen_port` (for `unix`: the path in
    /// `local_ip`) and serving in the background. Returns the bound address.
    pub async fn listen(&self) -> Result<String, Status> {
        let addr = listen_addr(&self.shared.config);
        self.listen_on(self.endpoint(&addr)).await
    }

    /// Starts listening on `endpoint` and serving in the background. Returns the bound
    /// address (with the port chosen when it was 0).
    pub async fn listen_on(&self, endpoint: Endpoint) -> Result<String, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.listen_on_with(endpoint, protocol).await
    }

    /// Listens on `endpoint` speaking `protocol` there (e.g. `erpc_proto::proto::by_name("json")`),
    /// whatever the peer's default.
    pub async fn listen_on_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<String, Status> {
        let (endpoint, protocol) = self.ws_wrap(endpoint, protocol);
        let bound = match self.inherited(&endpoint) {
            Some(r) => r,
            None => match &endpoint {
                #[cfg(feature = "quic")]
                Endpoint::Quic(_) => {
                    let listen = self
                        .shared
                        .quic
                        .listen(self.shared.tls.server_config.as_deref())
                        .map_err(|e| {
                            Status::with_cause(
                                Code::WRONG_CONN,
                                format!("listen on {endpoint}: {e}"),
                            )
                        })?;
                    self.shared.rt.bind_quic(&endpoint, &listen).await
                }
                #[cfg(feature = "kcp")]
                Endpoint::Kcp(_) => self.shared.rt.bind_kcp(&endpoint, &self.shared.kcp).await,
                _ => self.shared.rt.bind(&endpoint).await,
            },
        };
        let (listener, addr) = bound
            .map_err(|e| io_status(Code::WRONG_CONN, format_args!("listen on {endpoint}"), e))?;
        let host = match &endpoint {
            Endpoint::Tcp { addr, .. } => split_host_port(addr).0.to_owned(),
            Endpoint::Ws(ws) => split_host_port(&ws.addr).0.to_owned(),
            _ => String::new(),
        };
        self.serve_listener_as(listener, addr, protocol, &host)
    }

    /// The listener a graceful reboot handed this process for `endpoint`, served by the
    /// runtime: `None` when there is none (or without the `reboot` feature).
    #[cfg(all(unix, feature = "reboot"))]
    fn inherited(&self, endpoint: &Endpoint) -> Option<std::io::Result<(R::Listener, String)>> {
        let l = match endpoint {
            Endpoint::Tcp { addr, .. } => {
                let resolved = endpoint.resolve(true).ok()?;
                crate::reboot::take_tcp(self.shared.config.network.as_str(), addr, &resolved)?
            }
            Endpoint::Ws(ws) => {
                let resolved = endpoint.resolve(true).ok()?;
                crate::reboot::take_tcp(self.shared.config.network.as_str(), &ws.addr, &resolved)?
            }
            Endpoint::Unix(path) => crate::reboot::take_unix(path)?,
            _ => return None,
        };
        tracing::info!(%endpoint, "serving the listener inherited from the previous process");
        Some(self.shared.rt.adopt(endpoint, l))
    }

    #[cfg(not(all(unix, feature = "reboot")))]
    fn inherited(&self, _endpoint: &Endpoint) -> Option<std::io::Result<(R::Listener, String)>> {
        None
    }

    /// Serves a listener the application bound itself (Go's `ServeListener`): one it was
    /// handed by its supervisor (socket activation, an inherited descriptor), bound with
    /// options this crate does not set, or of a kind the runtime adapter builds from std
    /// (`erpc_runtime_tokio::TokioListener::Tcp(tokio::net::TcpListener::from_std(l)?)`).
    /// `addr` is what the `post_listen` plugins and the logs see. Connections are accepted
    /// in the background until the peer closes, exactly as with [`listen_on`](Peer::listen_on).
    pub fn serve_listener(&self, listener: R::Listener, addr: String) -> Result<(), Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        let host = split_host_port(&addr).0.to_owned();
        self.serve_listener_as(listener, addr, protocol, &host)
            .map(drop)
    }

    /// Serves `listener`, bound for a listen on `host` (Go's `LISTEN_PARENT_ADDRS` key, for
    /// a graceful reboot).
    fn serve_listener_as(
        &self,
        listener: R::Listener,
        addr: String,
        protocol: Arc<dyn Protocol>,
        host: &str,
    ) -> Result<String, Status> {
        if self.is_closing() {
            return Err(Status::with_cause(Code::CONN_CLOSED, "the peer is closing"));
        }
        for p in self.shared.plugins.iter() {
            p.post_listen(&addr)?;
        }
        tracing::info!(%addr, "listening");
        let shared = Arc::clone(&self.shared);
        // Counted as live so that `close` returns only once the listener is dropped (the
        // port is free and new connections are refused).
        let guard = LiveGuard::new(&self.shared);
        // Handed to the next process by a graceful reboot while it is served.
        #[cfg(all(unix, feature = "reboot"))]
        let registration = self.shared.rt.listener_fd(&listener).and_then(|fd| {
            crate::reboot::register(self.shared.config.network.as_str(), host, &addr, fd)
        });
        #[cfg(not(all(unix, feature = "reboot")))]
        let _ = host;
        self.shared.rt.spawn(async move {
            accept_loop(shared, listener, protocol).await;
            #[cfg(all(unix, feature = "reboot"))]
            drop(registration);
            drop(guard);
        });
        Ok(addr)
    }

    /// Serves a connection the application already has (Go's `ServeConn`): any byte stream —
    /// a socket accepted elsewhere, a pipe, an in-memory duplex, a stream of a transport this
    /// crate does not know. It is treated like an accepted connection: TLS when the peer has
    /// a server TLS config, the `post_accept` plugins, the auth checker, the flow-control
    /// limits, graceful close. Returns the session once it is in the peer's table (its id is
    /// `conn.remote_addr`); the connection is served in the background until it ends.
    ///
    /// ```
    /// # async fn demo(peer: erpc_peer::Peer<impl erpc_peer::Runtime>, stream: impl erpc_peer::runtime::Stream) -> Result<(), erpc_peer::Status> {
    /// let session = peer
    ///     .serve_conn(erpc_peer::Connected::new(stream, "pipe", "pipe-client-1"))
    ///     .await?;
    /// session.push("/hello", &"from the server").await?;
    /// # Ok(()) }
    /// ```
    pub async fn serve_conn<S: Stream>(&self, conn: Connected<S>) -> Result<Session, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.serve_conn_with(conn, protocol, true).await
    }

    /// Serves a websocket connection another HTTP server upgraded (Go's websocket
    /// `NewServeHandler`: the eRPC endpoint mounted on a route of an existing server). `conn`
    /// carries one record per websocket message, as the runtime adapters' websocket streams
    /// do (tokio: `erpc_runtime_tokio::ws::serve_upgraded` builds one and calls this), and
    /// is spoken with the peer's websocket sub-protocol (`ws_subproto`). TLS, if any, is the
    /// HTTP server's; otherwise as [`serve_conn`](Peer::serve_conn).
    pub async fn serve_ws_conn<S: Stream>(&self, conn: Connected<S>) -> Result<Session, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        let (_, protocol) = self.ws_wrap(Endpoint::ws(""), protocol);
        self.serve_conn_with(conn, protocol, false).await
    }

    async fn serve_conn_with<S: Stream>(
        &self,
        conn: Connected<S>,
        protocol: Arc<dyn Protocol>,
        tls: bool,
    ) -> Result<Session, Status> {
        if self.is_closing() {
            return Err(Status::with_cause(Code::CONN_CLOSED, "the peer is closing"));
        }
        let guard = LiveGuard::new(&self.shared);
        let (conn, handle) = open_accepted(&self.shared, conn, tls, &protocol).await?;
        let session = handle.clone();
        run_accepted(&self.shared, &protocol, conn, handle, guard);
        Ok(session)
    }

    /// Listens like [`listen`](Peer::listen) and waits until the peer is closed.
    pub async fn listen_and_serve(&self) -> Result<(), Status> {
        self.listen().await?;
        self.wait_closed().await;
        Ok(())
    }

    /// Waits until [`close`](Peer::close) is called.
    pub async fn wait_closed(&self) {
        loop {
            if self.is_closing() {
                return;
            }
            let l = self.shared.close_event.listen();
            if self.is_closing() {
                return;
            }
            l.await;
        }
    }

    /// Dials `addr` on the configured network. With `redial_times` ≠ 0 failed attempts
    /// (including a refused authentication) are retried, and a session that breaks later is
    /// re-established behind the same handle. Fails with 105 `Dial Failed`.
    pub async fn dial(&self, addr: &str) -> Result<Session, Status> {
        self.dial_endpoint(self.endpoint(addr)).await
    }

    /// Dials an explicit endpoint.
    pub async fn dial_endpoint(&self, endpoint: Endpoint) -> Result<Session, Status> {
        let protocol = Arc::clone(&self.shared.session_cfg.protocol);
        self.dial_endpoint_with(endpoint, protocol).await
    }

    /// Dials `addr` speaking `protocol` on that session, whatever the peer's default.
    pub async fn dial_with(
        &self,
        addr: &str,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        self.dial_endpoint_with(self.endpoint(addr), protocol).await
    }

    /// Dials an explicit endpoint with an explicit protocol.
    pub async fn dial_endpoint_with(
        &self,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
    ) -> Result<Session, Status> {
        let (endpoint, protocol) = self.ws_wrap(endpoint, protocol);
        if self.is_closing() {
            return Err(Status::with_cause(Code::DIAL_FAILED, "peer is closed"));
        }
        let shared = &self.shared;
        let mut policy = RedialPolicy::new(&shared.config);
        loop {
            let attempt = async {
                let conn = connect_attempt(shared, &endpoint, &protocol, false).await?;
                let (ready_tx, ready_rx) = oneshot::channel();
                let handle = start_dialed(
                    shared,
                    endpoint.clone(),
                    Arc::clone(&protocol),
                    conn,
                    ready_tx,
                );
                let failed = match ready_rx.await {
                    Ok(Ok(())) => return Ok(handle),
                    Ok(Err(st)) => st,
                    Err(_) => Status::from_code(Code::CONN_CLOSED),
                };
                // Out of the table now, not when its task has wound down.
                leave_table(shared, &handle);
                Err(failed)
            };
            // `close` stops a dial that is stuck connecting.
            let last = match until_closed(shared, attempt).await {
                Some(Ok(handle)) => return Ok(handle),
                Some(Err(st)) => st,
                None => Status::with_cause(Code::DIAL_FAILED, "peer is closed"),
            };
            let retry = policy.after_failure(shared.rt.now());
            let (Some(at), false) = (retry, self.is_closing()) else {
                let cause = last
                    .cause()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(last.msg())
                    .to_owned();
                // The last attempt's own status (a refused early exchange's, an I/O error)
                // stays reachable as the source.
                return Err(Status::with_cause(Code::DIAL_FAILED, cause).with_source(last));
            };
            until_closed(shared, shared.rt.timer(at)).await;
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

    /// The peer's figures: sessions, connection tasks, handlers running, bytes queued, bytes
    /// in and out, calls and pushes served.
    pub fn stats(&self) -> PeerStats {
        let c = &self.shared.core.counters;
        PeerStats {
            sessions: self.count_sessions(),
            connections: self.shared.live.load(Ordering::Acquire),
            handlers_running: self.shared.core.slots.used(),
            queued_bytes: c.queued_bytes.load(Ordering::Relaxed),
            bytes_in: c.bytes_in.load(Ordering::Relaxed),
            bytes_out: c.bytes_out.load(Ordering::Relaxed),
            calls_served: c.calls_served.load(Ordering::Relaxed),
            pushes_served: c.pushes_served.load(Ordering::Relaxed),
        }
    }

    /// Closes gracefully: stops accepting, asks every session to finish its calls in flight
    /// within `shutdown_timeout`, then drops whatever is left. Idempotent.
    pub async fn close(&self) {
        let shared = &self.shared;
        shared.closing.store(true, Ordering::Release);
        shared.close_event.notify(usize::MAX);
        let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
        for s in &sessions {
            s.close();
        }
        let deadline =
            shared.rt.now() + shared.config.shutdown_timeout + Duration::from_millis(100);
        loop {
            if shared.live.load(Ordering::Acquire) == 0 {
                break;
            }
            let l = shared.live_event.listen();
            if shared.live.load(Ordering::Acquire) == 0 {
                break;
            }
            let t = shared.rt.timer(deadline);
            if let Either::Right(_) = select(l, t).await {
                tracing::warn!("shutdown timeout: closing the remaining sessions now");
                let sessions: Vec<Session> = lock(&shared.sessions).values().cloned().collect();
                for s in &sessions {
                    s.close_now();
                }
                break;
            }
        }
    }
}
