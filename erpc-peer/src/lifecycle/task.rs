//! The task of one connection: its driver, then what the connection's end means for its
//! session — a redial behind the same handle, or the session gone for good.
//!
//! The task is a plain future around the driver rather than an `async` block, because every
//! idle session holds its task for its whole life: an `async` block would keep a place for
//! each value it holds across the driver's await (the endpoint, the protocol, the
//! connection before it moved into the driver, the arguments of the functions awaited) —
//! about 0.9 KiB per session. Here all of that is one box, [`AfterDrive`], and a redial runs
//! as a task of its own that hands its new connection to a new [`ConnTask`].

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use erpc_proto::plugin::SessionInfo;
use erpc_proto::proto::Protocol;
use erpc_proto::session::Session as Core;
use erpc_proto::{Code, Status};
use futures_channel::oneshot;
use tracing::instrument::Instrumented;
use tracing::Instrument;

use super::{connect_attempt, leave_table};
use crate::conn::redial::RedialPolicy;
use crate::conn::ConnCore;
use crate::driver::{Driver, Ended};
use crate::runtime::{Connected, Endpoint, Runtime, Timer};
use crate::session::{lock, Session};
use crate::state::{BoxedStream, LiveGuard, Shared};

/// The task of one connection of a session (see the [module docs](self)).
pub(crate) struct ConnTask<R: Runtime> {
    driver: Instrumented<Driver<R, BoxedStream>>,
    /// Taken when the driver ends.
    after: Option<Box<AfterDrive<R>>>,
}

/// What a connection's task needs only once its driver ended.
struct AfterDrive<R: Runtime> {
    shared: Arc<Shared<R>>,
    handle: Session,
    /// Counts the session's connection as live until the session is gone for good: it
    /// moves on to the redial and to the next connection's task.
    _guard: LiveGuard<R>,
    /// A dialed session's way back to its peer; `None` for an accepted one.
    redial: Option<Redialer>,
}

/// What a dialed session redials with.
struct Redialer {
    endpoint: Endpoint,
    protocol: Arc<dyn Protocol>,
}

impl<R: Runtime> ConnTask<R> {
    /// The task of a dialed session's connection `conn`: it redials per the configuration
    /// when the connection is lost. `ready` hears when the session opened (or could not).
    pub(crate) fn dialed(
        shared: &Arc<Shared<R>>,
        endpoint: Endpoint,
        protocol: Arc<dyn Protocol>,
        conn: Connected<BoxedStream>,
        handle: Session,
        ready: oneshot::Sender<Result<(), Status>>,
        guard: LiveGuard<R>,
    ) -> Self {
        let driver = drive(shared, &protocol, conn, &handle, true, Some(ready));
        let redial = Some(Redialer { endpoint, protocol });
        Self::new(shared, driver, handle, guard, redial)
    }

    /// The task of an accepted session (its connection `conn`), which ends with it.
    pub(crate) fn accepted(
        shared: &Arc<Shared<R>>,
        protocol: &Arc<dyn Protocol>,
        conn: Connected<BoxedStream>,
        handle: Session,
        guard: LiveGuard<R>,
    ) -> Self {
        let driver = drive(shared, protocol, conn, &handle, false, None);
        Self::new(shared, driver, handle, guard, None)
    }

    fn new(
        shared: &Arc<Shared<R>>,
        driver: Instrumented<Driver<R, BoxedStream>>,
        handle: Session,
        guard: LiveGuard<R>,
        redial: Option<Redialer>,
    ) -> Self {
        ConnTask {
            driver,
            after: Some(Box::new(AfterDrive {
                shared: Arc::clone(shared),
                handle,
                _guard: guard,
                redial,
            })),
        }
    }
}

impl<R: Runtime> Future for ConnTask<R> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let ended = std::task::ready!(Pin::new(&mut this.driver).poll(cx));
        if let Some(after) = this.after.take() {
            after.connection_ended(ended);
        }
        Poll::Ready(())
    }
}

impl<R: Runtime> AfterDrive<R> {
    /// The connection ended: a dialed session that had opened, lost it without closing and
    /// may redial does so in a task of its own; any other is gone for good.
    fn connection_ended(self: Box<Self>, ended: Ended) {
        let shared = &self.shared;
        let redial = self.redial.is_some()
            && shared.config.redial_times != 0
            && ended.opened
            && !ended.closed_locally
            && !shared.closing.load(Ordering::Acquire);
        if !redial {
            finish(shared, &self.handle);
            return;
        }
        tracing::info!(session = %self.handle.id(), reason = %ended.reason, "connection lost; redialing");
        let rt = shared.rt.clone();
        rt.spawn(self.redial());
    }

    /// Redials (see [`redial_loop`]); a new connection gets a task of its own.
    async fn redial(self: Box<Self>) {
        let Some(r) = self.redial.as_ref() else {
            return finish(&self.shared, &self.handle);
        };
        let outcome = redial_loop(&self.shared, &r.endpoint, &r.protocol, &self.handle).await;
        let id = self.handle.id();
        match outcome {
            Redial::Connected(c) => {
                *lock(&self.handle.inner.local_addr) = c.local_addr.clone();
                *lock(&self.handle.inner.remote_addr) = c.remote_addr.clone();
                tracing::info!(session = %id, "redial ok");
                let driver = drive(&self.shared, &r.protocol, c, &self.handle, true, None);
                let rt = self.shared.rt.clone();
                rt.spawn(ConnTask {
                    driver,
                    after: Some(self),
                });
            }
            Redial::GaveUp => {
                tracing::warn!(session = %id, "redial failed");
                finish(&self.shared, &self.handle);
            }
            Redial::Closed => finish(&self.shared, &self.handle),
        }
    }
}

fn new_core<R: Runtime>(
    shared: &Shared<R>,
    protocol: &Arc<dyn Protocol>,
    dialed: bool,
    id: &str,
    remote: &str,
) -> Core {
    let has_checker = shared.core.auth_checker.is_some();
    shared.session_cfgs.core_at(
        &shared.session_cfg,
        protocol,
        has_checker,
        dialed,
        id,
        remote,
        shared.rt.now(),
    )
}

/// The driver that runs one connection of `handle` to its end.
fn drive<R: Runtime>(
    shared: &Arc<Shared<R>>,
    protocol: &Arc<dyn Protocol>,
    conn: Connected<BoxedStream>,
    handle: &Session,
    dialed: bool,
    ready: Option<oneshot::Sender<Result<(), Status>>>,
) -> Instrumented<Driver<R, BoxedStream>> {
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
fn finish<R: Runtime>(shared: &Shared<R>, handle: &Session) {
    for cmd in handle.inner.queue.end() {
        cmd.fail(Status::from_code(Code::CONN_CLOSED));
    }
    leave_table(shared, handle);
    handle.mark_closed();
    let info = SessionInfo::new(handle.id(), Some(handle.remote_addr()), handle.dialed());
    shared
        .plugins
        .run_logged("post_disconnect", |p| p.post_disconnect(&info));
}
