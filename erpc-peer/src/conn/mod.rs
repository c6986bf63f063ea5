//! The sans-IO connection core of the peer layer: everything about one connection above the
//! protocol session — which outgoing calls wait for which caller, which incoming work may
//! start (handler limits per session and per peer), flow control on the bytes queued for the
//! socket, the write and authentication timeouts, cancellation, and the figures a session
//! reports. Time is passed in; no clock, no socket, no spawning here: a driver (the async
//! one in `driver.rs`, and through it every runtime adapter) moves bytes, time, commands and
//! handler results in and out, and spawns the [`Work`] this core hands it.
//!
//! # Flow control
//!
//! * **Output mark** (`max_queued_bytes`, *M*): when the bytes queued for the socket reach
//!   *M*, the connection takes no more commands from its handles (callers wait in the bounded
//!   [`CommandQueue`]) until the queue drains to *M*/2; when the bytes queued beyond this
//!   side's own calls and pushes (handlers' replies, mostly) reach *M*, it starts no more
//!   handlers until those drain to *M*/2. Its own pushes do not stop its handlers: two peers
//!   that both push more than the other reads at the same moment would otherwise each stop
//!   handling (and so reading) what the other sends, and neither would drain. The output
//!   thus holds at most about *2M* of both kinds, plus the replies of the handlers that were
//!   running when the mark was reached.
//! * **Reading** pauses while decoded incoming work waits to start (a handler limit or the
//!   output mark), or while *2M* bytes are queued beyond this side's own calls and pushes
//!   (replies the session writes by itself: 404s, heartbeat answers). A peer that sends without reading is thus held back by its own TCP
//!   window, and the output stays within about *2M*, plus the replies of the handlers that
//!   were already running when the mark was reached (at most `max_handlers` replies), plus
//!   one read and one frame of input.
//! * Why pause rather than reject: pausing loses nothing and pushes back on the sender
//!   through TCP; rejecting would keep reading and answer each call with an error, which
//!   costs the same bytes as serving it when the client does not read. A side that only
//!   calls keeps reading its replies whatever its own output (its commands stop at *M*, and
//!   its own frames do not count towards *2M*: one frame can be larger than both), so a busy
//!   client and a busy server cannot stop each other.
//! * **Handlers**: at most `max_handlers` per session and `max_peer_handlers` per peer run
//!   at once; a session at a limit stops reading until one finishes.
//! * **Write timeout**: queued bytes that have not moved for `write_timeout` close the
//!   connection (pending calls fail with 102).

pub(crate) mod out;
pub(crate) mod placement;
pub(crate) mod queue;
pub(crate) mod redial;
pub(crate) mod stats;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use erpc_proto::session::{
    CallId, CallOptions, CloseReason, Event, Reply, ReplyToken, Session as Core,
};
use erpc_proto::{Code, Message, ServiceMethod, Status};
use futures_channel::oneshot;
use rustc_hash::FxHashMap;

use crate::context::{CallCtx, PushCtx};
use crate::handler::{AuthCheckFn, CallFn, Handler, PushFn};
use crate::log::LogConfig;
use crate::session::Session;
use placement::{FirstStep, Placement};
use queue::Command;
use stats::{Delta, HandlerSlots, Levels, PeerCounters};

/// Callers completed per turn before the driver yields: the woken callers run (and queue
/// their next calls) while the rest are woken on the next turn, right after. Waking hundreds
/// at once spills tokio's 256-task local run queue into its shared queue and lets whole
/// batches pile up. This is the budget while more than [`FEW_IN_FLIGHT`] calls are in
/// flight on the connection: 32 measured best for 1,000 callers on one connection (median of
/// six alternated runs, Go's workload: 292k calls/s, against 254k with 16 and 279k with 48).
pub(crate) const WAKE_BUDGET: usize = 32;

/// The budget of callers completed per turn while at most [`FEW_IN_FLIGHT`] calls are in
/// flight: with 100 callers on one connection, waking 16 per turn keeps both sides busier
/// than 32 does (median of eight alternated runs, Go's workload: 231k calls/s against 204k;
/// 8 and 12 measured like 16).
pub(crate) const WAKE_BUDGET_FEW: usize = 16;

/// Up to this many calls in flight on a connection, its turns use [`WAKE_BUDGET_FEW`].
pub(crate) const FEW_IN_FLIGHT: usize = 256;

/// How long a connection must have had nothing in flight before it gives back the memory of
/// its buffers and tables ([`ConnCore::take_idle_release`]). A busy connection is quiet for
/// microseconds between bursts; freeing then would make every burst grow them again. Longer
/// costs idle memory: buffers freed late are not reused by the connections opened meanwhile
/// (`idle_sessions` example, 10,000 sessions: 10 ms as little as freeing at once, 5.4 KiB
/// per session on the server; 100 ms 7.0 KiB).
pub(crate) const IDLE_RELEASE: Duration = Duration::from_millis(10);

/// What every connection of a peer shares: the handlers and the peer-wide limits.
pub(crate) struct PeerCore {
    pub(crate) handlers: Vec<Option<Handler>>,
    pub(crate) auth_checker: Option<AuthCheckFn>,
    pub(crate) log: LogConfig,
    pub(crate) limits: Limits,
    pub(crate) slots: HandlerSlots,
    pub(crate) counters: PeerCounters,
    pub(crate) metrics: crate::metrics::PeerMetrics,
}

/// The per-connection limits (from `PeerConfig`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    pub(crate) max_queued_bytes: usize,
    pub(crate) max_handlers: usize,
    pub(crate) write_timeout: Option<Duration>,
    pub(crate) auth_timeout: Option<Duration>,
    pub(crate) handler_tasks: crate::config::HandlerTasks,
}

impl Limits {
    pub(crate) fn from_config(c: &crate::PeerConfig) -> Self {
        let nonzero = |d: Duration| (!d.is_zero()).then_some(d);
        Limits {
            max_queued_bytes: c.queued_bytes_limit(),
            max_handlers: c.handlers_limit(),
            write_timeout: nonzero(c.write_timeout),
            auth_timeout: nonzero(c.auth_timeout),
            handler_tasks: c.handler_tasks,
        }
    }
}

/// Incoming work for the driver to run (as its own task, or its first step inline when
/// `inline` says so; see [`placement`]); its result goes back through
/// [`ConnCore::handler_done`].
pub(crate) enum Work {
    /// A call handler.
    Call {
        f: CallFn,
        ctx: CallCtx,
        msg: Message,
        done: CallDoneInfo,
        inline: bool,
    },
    /// A push handler.
    Push {
        f: PushFn,
        ctx: PushCtx,
        msg: Message,
        route: usize,
        inline: bool,
    },
    /// The auth checker.
    Auth { f: AuthCheckFn, msg: Message },
}

/// What a finished call handler's reply needs.
pub(crate) struct CallDoneInfo {
    pub(crate) token: ReplyToken,
    pub(crate) started: Instant,
    pub(crate) service_method: ServiceMethod,
    pub(crate) route: usize,
}

/// A finished piece of [`Work`].
pub(crate) enum Finished {
    Reply(CallDoneInfo, Reply, FirstStep),
    Push(usize, FirstStep),
    AuthVerdict(Reply),
}

/// Incoming work decoded but not started.
enum Pending {
    Call(erpc_proto::session::IncomingCall),
    Push(erpc_proto::session::IncomingPush),
    Auth(Message),
}

struct Waiting {
    key: u64,
    tx: oneshot::Sender<CallResult>,
    /// The service method called, for the calls-made metrics.
    route: crate::metrics::RouteLabel,
}

/// What a caller waits for: the reply or why there is none.
type CallResult = Result<Message, Status>;

/// Call results waiting to be sent; whatever is left when dropped is sent then.
struct Deliveries(Vec<(oneshot::Sender<CallResult>, CallResult)>);

impl Deliveries {
    fn send_all(&mut self) {
        for (tx, r) in self.0.drain(..) {
            let _ = tx.send(r);
        }
    }
}

impl Drop for Deliveries {
    fn drop(&mut self) {
        self.send_all();
    }
}

/// The connection core. See the [module docs](self).
pub(crate) struct ConnCore {
    core: Core,
    peer: Arc<PeerCore>,
    handle: Session,
    calls: FxHashMap<CallId, Waiting>,
    keys: FxHashMap<u64, CallId>,
    waiting: VecDeque<Pending>,
    out: out::Outgoing,
    /// How much of the output (`out` and the frames the session holds until the handshake
    /// ends) this side's own calls and pushes may account for (at most all of it; see
    /// [`wants_read`](ConnCore::wants_read)).
    own_queued: usize,
    running: usize,
    /// The output reached the mark: no commands are taken until it drains to half of it.
    output_paused: bool,
    /// The output beyond this side's own calls and pushes reached the mark: no handler
    /// starts until that part drains to half of it.
    handlers_paused: bool,
    /// See [`ConnCore::hold_commands_on_goaway`].
    hold_on_goaway: bool,
    events_drained: bool,
    blocked_on_peer: bool,
    read_closed: bool,
    write_failed: bool,
    /// When the output last moved (or started waiting).
    last_progress: Instant,
    /// When a command, bytes from the peer or a handler's result last came in.
    last_active: Instant,
    /// Whether the buffers were given back since `last_active` (see [`IDLE_RELEASE`]).
    idle_released: bool,
    /// Whether the driver should give its buffers back now.
    release_due: bool,
    auth_deadline: Option<Instant>,
    reason: Option<Box<CloseReason>>,
    opened: bool,
    closed_locally: bool,
    ready: Option<oneshot::Sender<Result<(), Status>>>,
    woken: usize,
    /// Callers answered since the driver last waited for their next calls (see
    /// [`ConnCore::awaits_callers`]).
    answered: usize,
    /// Results of calls, sent to their callers at the end of the driver's turn.
    deliveries: Deliveries,
    placement: Placement,
    delta: Delta,
    /// Metric handles of the service methods this connection calls.
    made: crate::metrics::MadeCache,
    published: Levels,
}

impl ConnCore {
    /// The core of a new connection at `now`; `ready` hears when the session opened (or
    /// could not).
    /// `inline_allowed`: whether the runtime lets handlers run inside the connection's task
    /// ([`Runtime::inline_handlers_allowed`](crate::Runtime::inline_handlers_allowed)).
    pub(crate) fn new(
        now: Instant,
        core: Core,
        peer: Arc<PeerCore>,
        handle: Session,
        ready: Option<oneshot::Sender<Result<(), Status>>>,
        inline_allowed: bool,
    ) -> Self {
        let opened = core.is_open();
        let limits_handler_tasks = peer.limits.handler_tasks;
        let auth_deadline = if opened {
            None
        } else {
            peer.limits.auth_timeout.and_then(|d| now.checked_add(d))
        };
        let mut c = ConnCore {
            core,
            peer,
            handle,
            calls: FxHashMap::default(),
            keys: FxHashMap::default(),
            waiting: VecDeque::new(),
            out: out::Outgoing::default(),
            own_queued: 0,
            running: 0,
            output_paused: false,
            handlers_paused: false,
            hold_on_goaway: false,
            events_drained: false,
            blocked_on_peer: false,
            read_closed: false,
            write_failed: false,
            last_progress: now,
            last_active: now,
            idle_released: true,
            release_due: false,
            auth_deadline,
            reason: None,
            opened,
            closed_locally: false,
            ready,
            woken: 0,
            answered: 0,
            deliveries: Deliveries(Vec::new()),
            placement: Placement::new(limits_handler_tasks, inline_allowed),
            delta: Delta::default(),
            made: Default::default(),
            published: Levels::default(),
        };
        if opened {
            c.signal_ready(Ok(()));
        }
        c
    }

    fn signal_ready(&mut self, r: Result<(), Status>) {
        if let Some(tx) = self.ready.take() {
            let _ = tx.send(r);
        }
    }

    // ------------------------------------------------------------------ queries

    /// Bytes queued for the socket.
    pub(crate) fn queued_bytes(&self) -> usize {
        self.output_len()
    }

    /// What this connection holds for the peer: the bytes to write, and the frames the
    /// session holds back until the authentication handshake ends.
    fn output_len(&self) -> usize {
        self.out.len() + self.core.held_bytes()
    }

    /// Whether the driver should read from the socket now.
    pub(crate) fn wants_read(&self) -> bool {
        !self.read_closed
            && self.reason.is_none()
            && self.events_drained
            && self.waiting.is_empty()
            && self.output_len().saturating_sub(self.own_queued)
                < self.peer.limits.max_queued_bytes.saturating_mul(2)
    }

    /// Whether the driver should take commands from the handles now.
    pub(crate) fn wants_commands(&self) -> bool {
        self.reason.is_none()
            && !self.output_paused
            && !(self.hold_on_goaway && self.core.peer_going_away())
    }

    /// Leave the handles' commands queued once the peer sent its goaway notice (a
    /// redialing dialed session: they go out on the next connection instead of failing).
    pub(crate) fn hold_commands_on_goaway(&mut self, hold: bool) {
        self.hold_on_goaway = hold;
    }

    /// Whether incoming work waits for a peer-wide handler slot (the driver then listens for
    /// a freed slot).
    pub(crate) fn blocked_on_peer(&self) -> bool {
        self.blocked_on_peer
    }

    /// Whether the callers woken this turn reached the turn's budget (the driver yields):
    /// [`WAKE_BUDGET_FEW`] when at most [`FEW_IN_FLIGHT`] calls were in flight as the turn
    /// began, else [`WAKE_BUDGET`].
    pub(crate) fn budget_spent(&self) -> bool {
        let in_flight = self.calls.len() + self.woken;
        let budget = if in_flight <= FEW_IN_FLIGHT {
            WAKE_BUDGET_FEW
        } else {
            WAKE_BUDGET
        };
        self.woken >= budget
    }

    /// Whether the driver, woken with `queued` commands waiting, should let the callers it
    /// answered run first: each answered caller may be about to queue its next call, and
    /// taking the first one alone sends one call per write (100 connections with 10 callers
    /// each wrote 0.7 times per call; waiting, 0.1: 183k -> 282k calls/s). Only while other
    /// connections of this peer have calls in flight, so that the process has other work
    /// meanwhile: a single busy connection would idle both sides in turn instead of
    /// overlapping them (one connection with 10 callers lost 12 % when it waited). Says so
    /// once per batch of answers: a caller that does not call again is not waited for twice.
    pub(crate) fn awaits_callers(&mut self, queued: usize) -> bool {
        let answered = std::mem::take(&mut self.answered);
        if queued == 0 || queued >= answered {
            return false;
        }
        let this = usize::from(self.published.calls_pending > 0);
        self.peer
            .counters
            .calling
            .load(std::sync::atomic::Ordering::Relaxed)
            > this
    }

    /// Sends the results of the calls completed this turn to their callers.
    pub(crate) fn deliver(&mut self) {
        self.deliveries.send_all();
    }

    /// Starts a new turn of the driver's loop (resets the wake budget).
    pub(crate) fn new_turn(&mut self) {
        self.woken = 0;
    }

    /// Why the session closed, once it has; the driver ends when this is set and
    /// [`is_flushed`](ConnCore::is_flushed).
    pub(crate) fn close_reason(&self) -> Option<&CloseReason> {
        self.reason.as_deref()
    }

    /// Whether nothing is in flight: no handler running, no call waiting for its reply or for
    /// room, nothing left to write.
    pub(crate) fn is_quiet(&self) -> bool {
        self.running == 0 && self.calls.is_empty() && self.waiting.is_empty() && self.out.is_empty()
    }

    /// Something came in at `now`: the connection is not idle.
    fn activity(&mut self, now: Instant) {
        self.last_active = now;
        self.idle_released = false;
    }

    /// When a quiet connection's buffers are next due to be given back.
    fn idle_deadline(&self) -> Option<Instant> {
        if self.idle_released || !self.is_quiet() {
            return None;
        }
        self.last_active.checked_add(IDLE_RELEASE)
    }

    /// Whether the connection has been quiet for [`IDLE_RELEASE`], so that the driver should
    /// give back the memory of its buffers (once per quiet spell).
    pub(crate) fn take_idle_release(&mut self) -> bool {
        std::mem::take(&mut self.release_due)
    }

    /// Frees the memory of the empty buffers and tables of a quiet connection
    /// ([`is_quiet`](ConnCore::is_quiet)).
    pub(crate) fn release_idle_buffers(&mut self) {
        self.out.release_idle();
        if self.calls.capacity() > 0 {
            self.calls = FxHashMap::default();
        }
        if self.keys.is_empty() && self.keys.capacity() > 0 {
            self.keys = FxHashMap::default();
        }
        if self.waiting.capacity() > 0 {
            self.waiting = VecDeque::new();
        }
        if self.deliveries.0.is_empty() && self.deliveries.0.capacity() > 0 {
            self.deliveries.0 = Vec::new();
        }
        self.core.release_idle_buffers();
    }

    /// Whether nothing more will be written (all written, or writing failed).
    pub(crate) fn is_flushed(&self) -> bool {
        self.out.is_empty() || self.write_failed
    }

    /// Whether the session had opened (authenticated) at some point.
    pub(crate) fn opened(&self) -> bool {
        self.opened
    }

    /// Whether the application closed the session.
    pub(crate) fn closed_locally(&self) -> bool {
        self.closed_locally
    }

    /// Handlers of this connection running now.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// The next time [`handle_timeout`](ConnCore::handle_timeout) must run.
    #[must_use = "the deadline must be armed as a timer"]
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.reason.is_some() {
            return None;
        }
        let mut t = self.core.poll_timeout();
        let mut consider = |c: Option<Instant>| {
            if let Some(c) = c {
                t = Some(t.map_or(c, |t| t.min(c)));
            }
        };
        consider(self.write_deadline());
        consider(self.auth_deadline);
        consider(self.idle_deadline());
        t
    }

    fn write_deadline(&self) -> Option<Instant> {
        if self.out.is_empty() || self.write_failed {
            return None;
        }
        self.peer
            .limits
            .write_timeout
            .and_then(|d| self.last_progress.checked_add(d))
    }

    // ------------------------------------------------------------------ inputs

    /// Applies a command from a handle.
    pub(crate) fn apply(&mut self, now: Instant, cmd: Command) {
        self.events_drained = false;
        self.activity(now);
        let before = self.core.queued_bytes() + self.core.held_bytes();
        match cmd {
            Command::Call {
                msg,
                deadline,
                key,
                tx,
            } => {
                let opts = match deadline {
                    None => CallOptions::no_timeout(),
                    Some(d) => {
                        let left = d.saturating_duration_since(now);
                        if left.is_zero() {
                            let _ = tx.send(Err(queue::expired()));
                            return;
                        }
                        CallOptions::timeout(left)
                    }
                };
                let route = self.made.label(&self.peer.metrics, &msg.service_method);
                match self.core.call(now, msg, opts) {
                    Ok(id) => {
                        self.calls.insert(id, Waiting { key, tx, route });
                        self.keys.insert(key, id);
                    }
                    Err(st) => {
                        self.made
                            .call_made(&self.peer.metrics, &route, None, Err(&st));
                        let _ = tx.send(Err(st));
                    }
                }
            }
            Command::Push { msg, deadline, tx } => {
                if deadline.is_some_and(|d| d <= now) {
                    let _ = tx.send(Err(queue::expired()));
                    return;
                }
                let route = self.made.label(&self.peer.metrics, &msg.service_method);
                let r = self.core.push(now, msg);
                self.made
                    .push_made(&self.peer.metrics, &route, r.as_ref().map(|_| ()));
                let _ = tx.send(r);
            }
        }
        let after = self.core.queued_bytes() + self.core.held_bytes();
        self.own_queued += after.saturating_sub(before);
        self.pull_output(now);
    }

    /// The caller of call `key` went away: the call is abandoned (its entry and timer freed,
    /// a late reply dropped).
    pub(crate) fn cancel(&mut self, key: u64) {
        if let Some(id) = self.keys.remove(&key) {
            self.calls.remove(&id);
            self.core.cancel(id);
            self.events_drained = false;
        }
    }

    /// A close request from a handle (`None`: at once).
    pub(crate) fn close(&mut self, now: Instant, linger: Option<Duration>) {
        self.closed_locally = true;
        self.events_drained = false;
        self.core.close(now, linger);
        self.pull_output(now);
    }

    /// How many more bytes the frame at the front of `rbuf` needs, when the protocol says.
    pub(crate) fn input_needed(&self, rbuf: &[u8]) -> Option<usize> {
        self.core.input_needed(rbuf)
    }

    /// What a read into `rbuf` came to: `Ok(0)` is the peer's EOF, `Ok(n)` bytes appended to
    /// `rbuf`, an interrupted read nothing.
    pub(crate) fn handle_read_result(
        &mut self,
        now: Instant,
        read: std::io::Result<usize>,
        rbuf: &mut BytesMut,
    ) {
        match read {
            Ok(0) => self.handle_eof(now),
            Ok(n) => self.handle_read(now, n, rbuf),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => self.handle_transport_error(now, e),
        }
    }

    /// `n` bytes were read into `rbuf` (which may hold a partial frame from before).
    pub(crate) fn handle_read(&mut self, now: Instant, n: usize, rbuf: &mut BytesMut) {
        self.delta.bytes_in += n as u64;
        self.events_drained = false;
        self.activity(now);
        self.core.handle_input(now, rbuf);
        self.pull_output(now);
    }

    /// `n` more bytes of a large frame arrived, read aside: the session sees the frame when it
    /// is whole (then through [`handle_read_result`](ConnCore::handle_read_result)).
    pub(crate) fn handle_partial_read(&mut self, now: Instant, n: usize) {
        self.delta.bytes_in += n as u64;
        self.activity(now);
    }

    /// The peer closed its side (read returned 0).
    pub(crate) fn handle_eof(&mut self, now: Instant) {
        self.read_closed = true;
        self.events_drained = false;
        self.core.handle_eof(now);
        self.pull_output(now);
    }

    /// Reading or writing failed.
    pub(crate) fn handle_transport_error(&mut self, now: Instant, e: impl std::fmt::Display) {
        self.read_closed = true;
        self.events_drained = false;
        self.core.handle_transport_error(now, e);
    }

    /// Writing failed: nothing more will be written.
    pub(crate) fn handle_write_error(&mut self, now: Instant, e: impl std::fmt::Display) {
        self.write_failed = true;
        self.out.clear();
        self.own_queued = 0;
        self.handle_transport_error(now, e);
    }

    /// The time from [`poll_timeout`](ConnCore::poll_timeout) has come.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        self.events_drained = false;
        if self.idle_deadline().is_some_and(|d| d <= now) {
            self.idle_released = true;
            self.release_due = true;
        }
        if self.write_deadline().is_some_and(|d| d <= now) {
            let st = format!(
                "write timeout: {} bytes queued and none written for {:?}",
                self.out.len(),
                self.peer.limits.write_timeout.unwrap_or_default()
            );
            tracing::warn!(session = %self.handle.id(), "{st}; closing");
            self.handle_write_error(now, st);
            return;
        }
        if !self.opened && self.auth_deadline.is_some_and(|d| d <= now) {
            self.auth_deadline = None;
            tracing::warn!(session = %self.handle.id(), "not authenticated in time; closing");
            self.core
                .handle_transport_error(now, "authentication timeout");
            return;
        }
        self.core.handle_timeout(now);
        self.pull_output(now);
    }

    /// A handler finished.
    pub(crate) fn handler_done(&mut self, now: Instant, done: Finished) {
        self.running -= 1;
        self.activity(now);
        self.events_drained = false;
        match done {
            Finished::Reply(info, reply, step) => {
                self.placement.observe(info.route, step);
                self.delta.calls_served += 1;
                let cost = now.saturating_duration_since(info.started);
                self.peer
                    .log
                    .call_handled(&info.service_method, cost, &reply);
                let result = reply.result.as_ref().map(|_| ());
                self.peer.metrics.call_served(info.route, cost, result);
                let _ = self.core.reply(now, info.token, reply);
            }
            Finished::Push(route, step) => {
                self.placement.observe(route, step);
                self.delta.pushes_served += 1;
                self.peer.metrics.push_served(route);
            }
            Finished::AuthVerdict(reply) => {
                let _ = self.core.accept_auth(now, reply);
            }
        }
        self.pull_output(now);
    }

    // ------------------------------------------------------------------ outputs

    /// The bytes to write now.
    pub(crate) fn transmit(&self) -> &[u8] {
        self.out.first()
    }

    /// Fills `dst` with the bytes to write now, in order; returns how many pieces (0: none).
    /// One vectored write of them takes the whole output when it fits in `dst`.
    pub(crate) fn transmit_vectored<'a>(&'a self, dst: &mut [std::io::IoSlice<'a>]) -> usize {
        self.out.slices(dst)
    }

    /// `n` bytes from the front of the output were written (from [`transmit`] or
    /// [`transmit_vectored`]; more than is queued counts as all of it).
    ///
    /// [`transmit`]: ConnCore::transmit
    /// [`transmit_vectored`]: ConnCore::transmit_vectored
    pub(crate) fn handle_written(&mut self, now: Instant, n: usize) {
        let n = n.min(self.out.len());
        if n == 0 {
            return;
        }
        self.out.advance(n);
        // Which bytes left is not known: the own share is kept as large as it can be, which
        // overstates it by at most the own bytes queued (below the mark plus one frame).
        self.own_queued = self.own_queued.min(self.output_len());
        self.delta.bytes_out += n as u64;
        self.last_progress = now;
        self.update_pause();
    }

    /// Moves what the session queued into the output buffer.
    fn pull_output(&mut self, now: Instant) {
        if self.write_failed {
            // Nothing will be written: drop what the session queues.
            while self.core.poll_transmit().is_some() {}
            return;
        }
        let was_empty = self.out.is_empty();
        if self.out.take_from(&mut self.core) > 0 && was_empty {
            self.last_progress = now;
        }
        self.update_pause();
    }

    fn update_pause(&mut self) {
        let mark = self.peer.limits.max_queued_bytes;
        let pause = |paused: &mut bool, q: usize| {
            if q >= mark {
                *paused = true;
            } else if q <= mark / 2 {
                *paused = false;
            }
        };
        let output = self.output_len();
        pause(&mut self.output_paused, output);
        // This side's own pushes and calls do not hold back the handlers: when both peers
        // send more than the other reads at the same moment, each must go on starting the
        // handlers of what it reads (and so go on reading), or neither drains.
        pause(
            &mut self.handlers_paused,
            output.saturating_sub(self.own_queued),
        );
    }

    /// The next incoming work to spawn, if any may start now. Completes the callers of the
    /// calls that finished on the way (at most a budget per turn, see [`ConnCore::budget_spent`]).
    #[must_use = "work taken from the core must be done"]
    pub(crate) fn poll_work(&mut self, now: Instant) -> Option<Work> {
        loop {
            if !self.waiting.is_empty() && self.may_start() {
                let p = self.waiting.pop_front().expect("checked");
                if let Some(w) = self.start(now, p) {
                    return Some(w);
                }
                continue;
            }
            if self.budget_spent() {
                return None;
            }
            let Some(ev) = self.core.poll_event() else {
                self.events_drained = true;
                self.pull_output(now);
                return None;
            };
            let Some(p) = self.on_event(now, ev) else {
                continue;
            };
            if self.waiting.is_empty() && self.may_start() {
                if let Some(w) = self.start(now, p) {
                    return Some(w);
                }
            } else {
                self.waiting.push_back(p);
            }
        }
    }

    /// Whether one more handler may start; takes a peer-wide slot when it may.
    fn may_start(&mut self) -> bool {
        if self.handlers_paused || self.running >= self.peer.limits.max_handlers {
            return false;
        }
        if !self.peer.slots.try_acquire() {
            self.blocked_on_peer = true;
            return false;
        }
        self.blocked_on_peer = false;
        true
    }

    /// Turns decoded work into [`Work`] (holding the slot `may_start` took), or answers it
    /// here when there is nothing to run (and gives the slot back).
    fn start(&mut self, now: Instant, p: Pending) -> Option<Work> {
        let peer = Arc::clone(&self.peer);
        let work = match p {
            Pending::Call(c) => {
                match peer
                    .handlers
                    .get(c.route.0 as usize)
                    .and_then(Option::as_ref)
                {
                    Some(Handler::Call(f)) => {
                        let m = &c.message;
                        peer.log.call_received(m);
                        let ctx = CallCtx::new(self.handle.clone(), m, c.reply_codec);
                        let service_method = m.service_method.clone();
                        let route = c.route.0 as usize;
                        Some(Work::Call {
                            f: Arc::clone(f),
                            ctx,
                            msg: c.message,
                            done: CallDoneInfo {
                                token: c.token,
                                started: now,
                                service_method,
                                route,
                            },
                            inline: self.placement.inline(route),
                        })
                    }
                    _ => {
                        let st = Status::from_code(Code::NOT_FOUND);
                        let _ = self.core.reply(now, c.token, Reply::error(st));
                        None
                    }
                }
            }
            Pending::Push(p) => {
                match peer
                    .handlers
                    .get(p.route.0 as usize)
                    .and_then(Option::as_ref)
                {
                    Some(Handler::Push(f)) => {
                        peer.log.push_received(&p.message);
                        let ctx = PushCtx::new(self.handle.clone(), &p.message);
                        let route = p.route.0 as usize;
                        Some(Work::Push {
                            f: Arc::clone(f),
                            ctx,
                            msg: p.message,
                            route,
                            inline: self.placement.inline(route),
                        })
                    }
                    _ => None,
                }
            }
            Pending::Auth(m) => match &peer.auth_checker {
                Some(f) => Some(Work::Auth {
                    f: Arc::clone(f),
                    msg: m,
                }),
                None => {
                    let st = Status::with_cause(Code::UNAUTHORIZED, "no auth checker configured");
                    let _ = self.core.accept_auth(now, Reply::error(st));
                    None
                }
            },
        };
        match &work {
            Some(w) => {
                self.running += 1;
                if matches!(
                    w,
                    Work::Call { inline: true, .. } | Work::Push { inline: true, .. }
                ) {
                    self.delta.handlers_inline += 1;
                }
            }
            None => {
                peer.slots.release();
                self.pull_output(now);
            }
        }
        work
    }

    fn on_event(&mut self, now: Instant, ev: Event) -> Option<Pending> {
        match ev {
            Event::Call(c) => return Some(Pending::Call(c)),
            Event::Push(p) => return Some(Pending::Push(p)),
            Event::AuthRequest(m) => return Some(Pending::Auth(m)),
            Event::CallDone(d) => {
                self.peer.log.call_done(&d);
                if let Some(w) = self.calls.remove(&d.id) {
                    self.keys.remove(&w.key);
                    self.made.call_made(
                        &self.peer.metrics,
                        &w.route,
                        Some(d.elapsed),
                        d.result.as_ref().map(|_| ()),
                    );
                    if self.deliveries.0.capacity() == 0 {
                        // Room for one, not four: most connections deliver one reply at a
                        // time, and the list is let go when the connection is idle.
                        self.deliveries.0.reserve_exact(1);
                    }
                    self.deliveries.0.push((w.tx, d.result));
                    self.woken += 1;
                    self.answered += 1;
                }
            }
            Event::Authenticated(_) => {
                self.opened = true;
                self.auth_deadline = None;
                self.signal_ready(Ok(()));
            }
            Event::Closed(reason) => {
                tracing::debug!(session = %self.handle.id(), %reason, "session closed");
                if !self.opened {
                    self.signal_ready(Err(reason.status()));
                }
                // Incoming work not started will never be answered.
                self.waiting.clear();
                self.reason = Some(Box::new(reason));
            }
            _ => {}
        }
        let _ = now;
        None
    }

    /// Whether the driver should time the first step of each handler (and report it in
    /// [`Finished`]).
    pub(crate) fn measures_first_steps(&self) -> bool {
        self.placement.measures()
    }

    /// Publishes the session's figures (once per driver turn).
    pub(crate) fn publish_stats(&mut self) {
        let levels = Levels {
            queued_bytes: self.queued_bytes(),
            handlers_running: self.running,
            calls_pending: self.calls.len(),
        };
        let diff = |now: usize, was: usize| now as i64 - was as i64;
        self.peer.metrics.publish(&crate::metrics::MetricsDelta {
            bytes_in: self.delta.bytes_in,
            bytes_out: self.delta.bytes_out,
            queued_bytes: diff(levels.queued_bytes, self.published.queued_bytes),
            handlers_running: diff(levels.handlers_running, self.published.handlers_running),
            calls_pending: diff(levels.calls_pending, self.published.calls_pending),
        });
        self.handle.inner.counters.publish(
            &self.peer.counters,
            &mut self.published,
            levels,
            &mut self.delta,
        );
    }

    /// The connection is over: callers still waiting fail with 102 (none should be left:
    /// the session completes every call when it closes), the figures go to zero.
    pub(crate) fn finish(&mut self) {
        for (_, w) in self.calls.drain() {
            let _ = w.tx.send(Err(Status::from_code(Code::CONN_CLOSED)));
        }
        self.keys.clear();
        self.out.clear();
        self.own_queued = 0;
        self.publish_stats();
    }
}

#[cfg(test)]
pub(crate) mod tests;
