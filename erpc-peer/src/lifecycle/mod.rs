//! The life of connections: dialing (connect, TLS, `post_dial`) and the start of a dialed
//! session, the accept loop and the opening of an accepted session. The task each
//! connection then runs, its redials and the end of its session are in [`task`].

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use erpc_proto::plugin::SessionInfo;
use erpc_proto::proto::Protocol;
use erpc_proto::{Code, Status};
use futures_channel::oneshot;
use futures_util::future::{select, Either};

mod task;

use self::task::ConnTask;
use crate::runtime::{Connected, Endpoint, Runtime, Stream};
use crate::session::{lock, RtClock, Session, SessionParts};
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
            Ok(boxed(
                Connected::new(stream, conn.local_addr, conn.remote_addr)
                    .with_session_id(conn.session_id),
            ))
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

/// Starts the task of a dialed connection; it redials per the configuration.
pub(crate) fn start_dialed<R: Runtime>(
    shared: &Arc<Shared<R>>,
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    ready: oneshot::Sender<Result<(), Status>>,
) -> Session {
    let id = conn.local_addr.clone();
    let handle = new_handle(shared, id.clone(), &conn, true);
    let guard = LiveGuard::new(shared);
    let mut table = lock(&shared.sessions);
    table.insert(id, handle.clone());
    shared.core.metrics.sessions(table.len());
    drop(table);
    let task = ConnTask::dialed(
        shared,
        endpoint,
        protocol,
        conn,
        handle.clone(),
        ready,
        guard,
    );
    shared.rt.spawn(task);
    handle
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
                    serve_accepted(s, p, conn, guard).await;
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
    guard: LiveGuard<R>,
) {
    // wss: a websocket listener ran TLS under the websocket (WsEndpoint::tls).
    let tls = protocol.name() != "websocket";
    match open_accepted(&shared, conn, tls, &protocol).await {
        Ok((conn, handle)) => run_accepted(&shared, &protocol, conn, handle, guard),
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

/// Starts the task that runs an accepted session (from [`open_accepted`]) to its end; the
/// opening's own task ends here, so that what the opening needed is not kept for the
/// session's life. `guard` counts the connection as live until then.
pub(crate) fn run_accepted<R: Runtime>(
    shared: &Arc<Shared<R>>,
    protocol: &Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    handle: Session,
    guard: LiveGuard<R>,
) {
    let task = ConnTask::accepted(shared, protocol, conn, handle, guard);
    shared.rt.spawn(task);
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
            Ok(boxed(
                Connected::new(stream, conn.local_addr, conn.remote_addr)
                    .with_session_id(conn.session_id),
            ))
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
