//! The life of connections: dialing (connect, TLS, `post_dial`), the task of a dialed
//! session with its redials, the accept loop and the task of an accepted session, and what
//! happens when a session is gone for good.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_proto::plugin::SessionInfo;
use erpc_proto::proto::Protocol;
use erpc_proto::session::Session as Core;
use erpc_proto::{Code, Status};
use futures_channel::oneshot;
use futures_util::future::{select, Either};
use tracing::Instrument;

use crate::conn::redial::RedialPolicy;
use crate::conn::ConnCore;
use crate::driver::Driver;
use crate::runtime::{Connected, Endpoint, Runtime, Stream, Timer};
use crate::session::{lock, RtClock, Session, SessionParts};
use crate::setup::session_core_at;
use crate::state::{io_status, sleep, BoxedStream, LiveGuard, Shared};

/// One connection attempt: connect (bounded by the dial timeout), TLS, `post_dial`.
pub(crate) async fn connect_attempt<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: &Endpoint,
    protocol: &Arc<dyn Protocol>,
    is_redial: bool,
) -> Result<Connected<BoxedStream>, Status> {
    // The dial timeout bounds the TLS handshake too (Go: per attempt, handshake included), so
    // a server that never answers the handshake cannot hold the dial forever.
    let connect = async {
        let conn = match endpoint {
            #[cfg(feature = "quic")]
            Endpoint::Quic(_) => {
                let tls = shared.tls.client_config.as_deref();
                let name = shared.tls.client.as_ref().map(|(_, n)| n.to_str());
                let dial = shared.quic.dial(tls.zip(name.as_deref())).map_err(|e| {
                    Status::with_cause(Code::DIAL_FAILED, format!("dial {endpoint}: {e}"))
                })?;
                shared.rt.connect_quic(endpoint, &dial).await
            }
            #[cfg(feature = "kcp")]
            Endpoint::Kcp(_) => {
                shared
                    .rt
                    .connect_kcp(endpoint, shared.socket, &shared.kcp)
                    .await
            }
            _ => shared.rt.connect(endpoint, shared.socket).await,
        }
        .map_err(|e| io_status(Code::DIAL_FAILED, format_args!("dial {endpoint}"), e))?;
        if matches!(endpoint, Endpoint::Ws(_)) {
            // wss: the adapter ran TLS under the websocket (WsEndpoint::tls).
            return Ok(boxed(conn));
        }
        secure_client(shared, conn).await
    };
    let conn = if shared.config.dial_timeout.is_zero() {
        connect.await?
    } else {
        let t = shared
            .rt
            .timer(shared.rt.now() + shared.config.dial_timeout);
        match select(Box::pin(connect), t).await {
            Either::Left((r, _)) => r?,
            Either::Right(_) => {
                return Err(io_status(
                    Code::DIAL_FAILED,
                    format_args!("dial {endpoint}"),
                    std::io::Error::new(std::io::ErrorKind::TimedOut, "dial timeout"),
                ))
            }
        }
    };
    let info = SessionInfo::new(
        conn.local_addr.clone(),
        Some(conn.remote_addr.clone()),
        true,
    );
    for p in shared.plugins.iter() {
        p.post_dial(&info, is_redial)?;
    }
    match &shared.early.dial {
        Some(f) => crate::early::exchange(shared, f, conn, protocol, true).await,
        None => Ok(conn),
    }
}

#[cfg(feature = "tls")]
async fn secure_client<R: Runtime, S: Stream>(
    shared: &Arc<Shared<R>>,
    conn: Connected<S>,
) -> Result<Connected<BoxedStream>, Status> {
    match &shared.tls.client {
        Some((connector, name)) if !conn.secured => {
            let stream = connector
                .connect(name.clone(), conn.stream)
                .await
                .map_err(|e| io_status(Code::DIAL_FAILED, "TLS handshake", e))?;
            Ok(Connected::new(stream, conn.local_addr, conn.remote_addr)
                .with_session_id(conn.session_id)
                .map(|s| Box::new(s) as BoxedStream))
        }
        _ => Ok(boxed(conn)),
    }
}

#[cfg(not(feature = "tls"))]
async fn secure_client<R: Runtime, S: Stream>(
    _: &Arc<Shared<R>>,
    conn: Connected<S>,
) -> Result<Connected<BoxedStream>, Status> {
    Ok(boxed(conn))
}

fn boxed<S: Stream>(c: Connected<S>) -> Connected<BoxedStream> {
    c.map(|s| Box::new(s) as BoxedStream)
}

fn new_core<R: Runtime>(
    shared: &Shared<R>,
    protocol: &Arc<dyn Protocol>,
    dialed: bool,
    id: &str,
    remote: &str,
) -> Core {
    let has_checker = shared.core.auth_checker.is_some();
    session_core_at(
        &shared.session_cfg,
        protocol,
        has_checker,
        dialed,
        id,
        remote,
        shared.rt.now(),
    )
}

fn new_handle<R: Runtime>(
    shared: &Shared<R>,
    id: String,
    conn: &Connected<BoxedStream>,
    dialed: bool,
) -> Session {
    Session::new(SessionParts {
        id,
        local_addr: conn.local_addr.clone(),
        remote_addr: conn.remote_addr.clone(),
        dialed,
        codecs: shared.session_cfg.codecs.clone(),
        default_codec: shared.session_cfg.default_body_codec,
        close_linger: shared.config.shutdown_timeout,
        call_timeout: shared.session_cfg.call_timeout,
        max_queued_commands: shared.config.queued_commands_limit(),
        clock: Arc::new(RtClock(shared.rt.clone())),
    })
}

/// The driver that runs one connection of `handle` to its end (awaited by the caller).
///
/// Built by a plain function rather than inside an `async fn`: there the core, moved into
/// the driver before the await, would still take its own place in the future's state, which
/// every session's task holds for its whole life (about 1 KiB more per idle session).
fn drive<R: Runtime>(
    shared: &Arc<Shared<R>>,
    protocol: &Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    handle: &Session,
    dialed: bool,
    ready: Option<oneshot::Sender<Result<(), Status>>>,
) -> tracing::instrument::Instrumented<Driver<R, BoxedStream>> {
    let id = handle.id();
    let core = new_core(shared, protocol, dialed, &id, &conn.remote_addr);
    let now = shared.rt.now();
    let mut cc = ConnCore::new(
        now,
        core,
        Arc::clone(&shared.core),
        handle.clone(),
        ready,
        shared.rt.inline_handlers_allowed(),
    );
    cc.hold_commands_on_goaway(dialed && shared.config.redial_times != 0);
    let span = tracing::debug_span!("session", id = %id, remote = %conn.remote_addr, dialed);
    Driver::new(
        shared.rt.clone(),
        conn.stream,
        cc,
        Arc::clone(&shared.core),
        handle.clone(),
    )
    .instrument(span)
}

/// Starts the task of a dialed connection; it redials per the configuration.
pub(crate) fn start_dialed<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    ready: oneshot::Sender<Result<(), Status>>,
) -> Session {
    let id = conn.local_addr.clone();
    let handle = new_handle(shared, id, &conn, true);
    let guard = LiveGuard::new(shared);
    let shared2 = Arc::clone(shared);
    let h = handle.clone();
    shared.rt.spawn(async move {
        dialed_task(shared2, endpoint, protocol, conn, h, ready).await;
        drop(guard);
    });
    handle
}

async fn dialed_task<R: Runtime>(
    shared: Arc<Shared<R>>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    mut conn: Connected<BoxedStream>,
    handle: Session,
    ready: oneshot::Sender<Result<(), Status>>,
) {
    let mut ready = Some(ready);
    let mut in_hub = false;
    loop {
        let id = handle.id();
        if !in_hub {
            let mut table = lock(&shared.sessions);
            table.insert(id.clone(), handle.clone());
            shared.core.metrics.sessions(table.len());
            drop(table);
            in_hub = true;
        }
        let ended = drive(&shared, &protocol, conn, &handle, true, ready.take()).await;
        let redial = shared.config.redial_times != 0
            && ended.opened
            && !ended.closed_locally
            && !shared.closing.load(Ordering::Acquire);
        if !redial {
            break;
        }
        tracing::info!(session = %id, reason = %ended.reason, "connection lost; redialing");
        match redial_loop(&shared, &endpoint, &protocol, &handle).await {
            Redial::Connected(c) => {
                *lock(&handle.inner.local_addr) = c.local_addr.clone();
                *lock(&handle.inner.remote_addr) = c.remote_addr.clone();
                conn = c;
                tracing::info!(session = %id, "redial ok");
            }
            Redial::GaveUp => {
                tracing::warn!(session = %id, "redial failed");
                break;
            }
            Redial::Closed => break,
        }
    }
    finish(&shared, &handle, in_hub);
}

enum Redial {
    Connected(Connected<BoxedStream>),
    GaveUp,
    Closed,
}

/// Redial attempts: the first at once, then `redial_times` more (forever if negative), each
/// after `redial_interval`. Meanwhile calls and pushes wait in the session's command queue
/// until their deadline (then they fail with 408 and are never sent); a close stops the
/// redial.
async fn redial_loop<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: &Endpoint,
    protocol: &Arc<dyn Protocol>,
    handle: &Session,
) -> Redial {
    use futures_util::FutureExt;
    use std::task::Poll;

    enum Wake {
        Attempt(Result<Connected<BoxedStream>, Status>),
        Slept,
        Queue,
        Deadline,
    }

    let queue = &handle.inner.queue;
    let mut policy = RedialPolicy::new(&shared.config);
    let mut attempt = Some(Box::pin(connect_attempt(shared, endpoint, protocol, true)));
    let mut pause: Option<R::Timer> = None;
    let mut deadline_timer: Option<(Instant, R::Timer)> = None;
    loop {
        if shared.closing.load(Ordering::Acquire) || queue.close_requested() {
            return Redial::Closed;
        }
        match (queue.expire(shared.rt.now()), &mut deadline_timer) {
            (Some(t), Some((at, timer))) if *at != t => {
                timer.reset(t);
                *at = t;
            }
            (Some(t), None) => deadline_timer = Some((t, shared.rt.timer(t))),
            (None, _) => deadline_timer = None,
            _ => {}
        }
        let seen = queue.len();
        let wake = std::future::poll_fn(|cx| {
            if let Some(a) = attempt.as_mut() {
                if let Poll::Ready(r) = a.poll_unpin(cx) {
                    return Poll::Ready(Wake::Attempt(r));
                }
            }
            if let Some(p) = pause.as_mut() {
                if p.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::Slept);
                }
            }
            // New commands (for their deadlines) and close requests.
            queue.register(cx.waker());
            if queue.close_requested() || queue.len() != seen {
                return Poll::Ready(Wake::Queue);
            }
            if let Some((_, t)) = deadline_timer.as_mut() {
                if t.poll_unpin(cx).is_ready() {
                    return Poll::Ready(Wake::Deadline);
                }
            }
            Poll::Pending
        });
        let wake = wake.await;
        match wake {
            Wake::Attempt(Ok(c)) => return Redial::Connected(c),
            Wake::Attempt(Err(st)) => {
                attempt = None;
                tracing::debug!(status = %st, "redial attempt failed");
                let Some(at) = policy.after_failure(shared.rt.now()) else {
                    return Redial::GaveUp;
                };
                pause = Some(shared.rt.timer(at));
            }
            Wake::Slept => {
                pause = None;
                attempt = Some(Box::pin(connect_attempt(shared, endpoint, protocol, true)));
            }
            Wake::Queue => {}
            Wake::Deadline => deadline_timer = None,
        }
    }
}

/// The session is gone for good: fail queued commands, leave the hub, notify.
fn finish<R: Runtime>(shared: &Shared<R>, handle: &Session, in_hub: bool) {
    for cmd in handle.inner.queue.end() {
        cmd.fail(Status::from_code(Code::CONN_CLOSED));
    }
    if in_hub {
        leave_table(shared, handle);
    }
    handle.mark_closed();
    let info = SessionInfo::new(handle.id(), Some(handle.remote_addr()), handle.dialed());
    shared
        .plugins
        .run_logged("post_disconnect", |p| p.post_disconnect(&info));
}

pub(crate) async fn accept_loop<R: Runtime>(
    shared: Arc<Shared<R>>,
    listener: R::Listener,
    protocol: Arc<dyn Protocol>,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let closed = shared.close_event.listen();
        if shared.closing.load(Ordering::Acquire) {
            break;
        }
        let accept = Box::pin(shared.rt.accept(&listener, shared.socket));
        match select(accept, closed).await {
            Either::Left((Ok(conn), _)) => {
                backoff = Duration::from_millis(5);
                let guard = LiveGuard::new(&shared);
                let s = Arc::clone(&shared);
                let p = Arc::clone(&protocol);
                shared.rt.spawn(async move {
                    serve_accepted(s, p, conn).await;
                    drop(guard);
                });
            }
            Either::Left((Err(e), _)) => {
                // Out of descriptors and the like: back off (5 ms doubling to 1 s, as Go).
                tracing::warn!(error = %e, "accept failed");
                sleep(&shared.rt, backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
            Either::Right(_) => break,
        }
    }
    tracing::debug!("accept loop stopped");
}

async fn serve_accepted<R: Runtime>(
    shared: Arc<Shared<R>>,
    protocol: Arc<dyn Protocol>,
    conn: Connected<R::Stream>,
) {
    // wss: a websocket listener ran TLS under the websocket (WsEndpoint::tls).
    let tls = protocol.name() != "websocket";
    match open_accepted(&shared, conn, tls, &protocol).await {
        Ok((conn, handle)) => run_accepted(&shared, &protocol, conn, handle).await,
        Err(st) => tracing::debug!(status = %st, "accepted connection refused"),
    }
}

/// The accepting side of a new connection up to its session: TLS (when configured and
/// `tls`), the `post_accept` plugins, the session's place in the table. The caller then runs
/// it with [`run_accepted`].
pub(crate) async fn open_accepted<R: Runtime, S: Stream>(
    shared: &Arc<Shared<R>>,
    conn: Connected<S>,
    tls: bool,
    protocol: &Arc<dyn Protocol>,
) -> Result<(Connected<BoxedStream>, Session), Status> {
    let conn = if tls {
        secure_server(shared, conn)
            .await
            .map_err(|e| io_status(Code::WRONG_CONN, "TLS handshake failed", e))?
    } else {
        boxed(conn)
    };
    let id = conn
        .session_id
        .clone()
        .unwrap_or_else(|| conn.remote_addr.clone());
    let info = SessionInfo::new(id.clone(), Some(conn.remote_addr.clone()), false);
    shared.plugins.run(|p| p.post_accept(&info))?;
    let conn = match &shared.early.accept {
        Some(f) => crate::early::exchange(shared, f, conn, protocol, false).await?,
        None => conn,
    };
    let handle = new_handle(shared, id.clone(), &conn, false);
    let mut table = lock(&shared.sessions);
    table.insert(id, handle.clone());
    shared.core.metrics.sessions(table.len());
    drop(table);
    if shared.closing.load(Ordering::Acquire) {
        handle.close();
    }
    Ok((conn, handle))
}

/// Runs an accepted session (from [`open_accepted`]) to its end.
pub(crate) async fn run_accepted<R: Runtime>(
    shared: &Arc<Shared<R>>,
    protocol: &Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    handle: Session,
) {
    drive(shared, protocol, conn, &handle, false, None).await;
    finish(shared, &handle, true);
}

#[cfg(feature = "tls")]
async fn secure_server<R: Runtime, S: Stream>(
    shared: &Shared<R>,
    conn: Connected<S>,
) -> std::io::Result<Connected<BoxedStream>> {
    match &shared.tls.server {
        Some(acceptor) if !conn.secured => {
            let t = shared.rt.timer(shared.rt.now() + Duration::from_secs(10));
            let stream = match select(Box::pin(acceptor.accept(conn.stream)), t).await {
                Either::Left((r, _)) => r?,
                Either::Right(_) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        "TLS handshake timeout",
                    ))
                }
            };
            Ok(Connected::new(stream, conn.local_addr, conn.remote_addr)
                .with_session_id(conn.session_id)
                .map(|s| Box::new(s) as BoxedStream))
        }
        _ => Ok(boxed(conn)),
    }
}

#[cfg(not(feature = "tls"))]
async fn secure_server<R: Runtime, S: Stream>(
    _: &Shared<R>,
    conn: Connected<S>,
) -> std::io::Result<Connected<BoxedStream>> {
    Ok(boxed(conn))
}

/// Takes `handle` out of the session table (unless another session took its id since).
pub(crate) fn leave_table<R: Runtime>(shared: &Shared<R>, handle: &Session) {
    let id = handle.id();
    let mut table = lock(&shared.sessions);
    if table
        .get(&id)
        .is_some_and(|s| Arc::ptr_eq(&s.inner, &handle.inner))
    {
        table.remove(&id);
        shared.core.metrics.sessions(table.len());
    }
}
