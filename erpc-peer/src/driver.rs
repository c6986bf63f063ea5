//! The connection driver: one future per connection owns its `erpc_proto` session and its
//! stream, and moves bytes, commands, handler results and time between them. No locks and no
//! task per message on this path: handlers run inside the driver as futures, commands arrive
//! over one channel, everything queued is written with one write.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::{Buf, BytesMut};
use erpc_proto::session::{CallId, CloseReason, Event, Reply, ReplyToken, Session as Core};
use erpc_proto::{Code, Message, Status};
use futures_channel::{mpsc, oneshot};
use futures_util::task::AtomicWaker;
use futures_util::StreamExt;
use rustc_hash::FxHashMap;
use tracing::Instrument;

use crate::context::{CallCtx, PushCtx};
use crate::handler::Handler;
use crate::peer::PeerCore;
use crate::runtime::{Runtime, Stream, Timer};
use crate::session::{Command, Session};

/// Largest single read; the read buffer starts small (idle sessions stay cheap) and grows to
/// this when reads fill it.
const READ_CHUNK: usize = 64 * 1024;
/// First size of the read buffer.
const FIRST_READ_CHUNK: usize = 4 * 1024;
/// Loop turns per poll before yielding to the executor.
const BUDGET: usize = 64;
/// Callers woken per poll before the driver yields: the woken callers run (and queue their next
/// calls) while the rest are woken on the next poll, right after. Waking hundreds at once
/// spills tokio's 256-task local run queue into its shared queue and lets whole batches
/// pile up; 32 measured best for 100 and 1,000 callers on one connection.
const WAKE_BUDGET: usize = 32;
/// Handlers whose results are taken per turn before their replies are written: a read can
/// bring hundreds of calls, and writing only after all of them ran keeps the first replies
/// waiting for the last handler (the caller's side idles meanwhile). Writing every 32 replies
/// pipelines the two sides; it matches [`WAKE_BUDGET`], the batch the calling side releases
/// (bench-peers on one connection, tokio both sides: 212k -> 285k calls/s with 100 callers,
/// 262k -> 266k with 1,000; 16 and 48 measured worse).
const REPLY_BATCH: usize = 32;

enum TaskDone {
    Reply(ReplyToken, Reply, Instant, erpc_proto::ServiceMethod),
    Push,
    AuthVerdict(Reply),
}

/// Results of the handlers a driver spawned, on their way back to it: the handler tasks push,
/// the driver takes them all at once. At most one entry per handler running, so the queue is
/// bounded by the number of handlers the driver started.
#[derive(Default)]
struct Completions {
    queue: std::sync::Mutex<Vec<TaskDone>>,
    waker: AtomicWaker,
}

impl Completions {
    fn push(&self, done: TaskDone) {
        let was_empty = {
            let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            q.push(done);
            q.len() == 1
        };
        // The driver takes the whole queue when it wakes: one wake per batch is enough.
        if was_empty {
            self.waker.wake();
        }
    }

    fn take_into(&self, dst: &mut std::collections::VecDeque<TaskDone>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        dst.extend(q.drain(..));
    }
}

/// Where a driver's commands come from: the session's channel, plus commands that arrived
/// while the previous connection was being replaced (applied first).
pub(crate) struct Inbox {
    pub(crate) rx: mpsc::UnboundedReceiver<Command>,
    pub(crate) held: Vec<Command>,
}

/// What the driver reports when the connection ends.
pub(crate) struct Ended {
    pub(crate) reason: CloseReason,
    /// Whether the session had opened (authenticated) before it ended.
    pub(crate) opened: bool,
    /// Whether the application closed it (no redial then).
    pub(crate) closed_locally: bool,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
}

pub(crate) struct Driver<R: Runtime, S> {
    rt: R,
    stream: S,
    core: Core,
    peer: Arc<PeerCore>,
    handle: Session,
    commands: Option<mpsc::UnboundedReceiver<Command>>,
    rbuf: BytesMut,
    scratch: Box<[u8]>,
    wbuf: BytesMut,
    timer: R::Timer,
    timer_at: Option<Instant>,
    done: Arc<Completions>,
    /// Handler results taken from `done`, not yet handed to the core.
    finished: std::collections::VecDeque<TaskDone>,
    /// Handlers started and not finished.
    running: usize,
    calls: FxHashMap<CallId, oneshot::Sender<Result<Message, Status>>>,
    read_closed: bool,
    write_failed: bool,
    needs_flush: bool,
    reason: Option<CloseReason>,
    opened: bool,
    closed_locally: bool,
    ready: Option<oneshot::Sender<Result<(), Status>>>,
    /// Callers woken during the current poll.
    woken: usize,
}

impl<R: Runtime, S: Stream> Driver<R, S> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        rt: R,
        stream: S,
        core: Core,
        peer: Arc<PeerCore>,
        handle: Session,
        inbox: Inbox,
        timer: R::Timer,
        ready: Option<oneshot::Sender<Result<(), Status>>>,
    ) -> Self {
        let opened = core.is_open();
        let mut d = Driver {
            rt,
            stream,
            core,
            peer,
            handle,
            commands: Some(inbox.rx),
            rbuf: BytesMut::new(),
            scratch: vec![0u8; FIRST_READ_CHUNK].into_boxed_slice(),
            wbuf: BytesMut::new(),
            timer,
            timer_at: None,
            done: Arc::default(),
            finished: std::collections::VecDeque::new(),
            running: 0,
            calls: FxHashMap::default(),
            read_closed: false,
            write_failed: false,
            needs_flush: false,
            reason: None,
            opened,
            closed_locally: false,
            ready,
            woken: 0,
        };
        if opened {
            d.signal_ready(Ok(()));
        }
        // Commands that arrived while the connection was being re-established.
        let now = Instant::now();
        for cmd in inbox.held {
            d.apply(now, cmd);
        }
        d
    }

    fn signal_ready(&mut self, r: Result<(), Status>) {
        if let Some(tx) = self.ready.take() {
            let _ = tx.send(r);
        }
    }

    fn apply(&mut self, now: Instant, cmd: Command) {
        match cmd {
            Command::Call { msg, opts, tx } => match self.core.call(now, msg, opts) {
                Ok(id) => {
                    self.calls.insert(id, tx);
                }
                Err(st) => {
                    let _ = tx.send(Err(st));
                }
            },
            Command::Push { msg, tx } => {
                let _ = tx.send(self.core.push(now, msg));
            }
            Command::Close { linger } => {
                self.closed_locally = true;
                self.core.close(now, linger);
            }
        }
    }

    fn on_event(&mut self, now: Instant, ev: Event) {
        match ev {
            Event::Call(c) => {
                let handler = self
                    .peer
                    .handlers
                    .get(c.route.0 as usize)
                    .and_then(Option::as_ref);
                let Some(Handler::Call(f)) = handler else {
                    let _ = self.core.reply(
                        now,
                        c.token,
                        Reply::error(Status::from_code(Code::NOT_FOUND)),
                    );
                    return;
                };
                let m = &c.message;
                let ctx = CallCtx::new(self.handle.clone(), m, c.reply_codec);
                self.peer.log.call_received(m);
                let sm = m.service_method.clone();
                let span = tracing::debug_span!("call", seq = m.seq, service_method = %sm);
                let fut = f(ctx, c.message).instrument(span);
                let token = c.token;
                self.spawn(async move { TaskDone::Reply(token, fut.await, now, sm) });
            }
            Event::Push(p) => {
                let handler = self
                    .peer
                    .handlers
                    .get(p.route.0 as usize)
                    .and_then(Option::as_ref);
                let Some(Handler::Push(f)) = handler else {
                    return;
                };
                let ctx = PushCtx::new(self.handle.clone(), &p.message);
                self.peer.log.push_received(&p.message);
                let span = tracing::debug_span!("push", seq = p.message.seq, service_method = %p.message.service_method);
                let fut = f(ctx, p.message).instrument(span);
                self.spawn(async move {
                    fut.await;
                    TaskDone::Push
                });
            }
            Event::CallDone(d) => {
                self.peer.log.call_done(&d);
                if let Some(tx) = self.calls.remove(&d.id) {
                    let _ = tx.send(d.result);
                }
            }
            Event::AuthRequest(m) => match &self.peer.auth_checker {
                Some(check) => {
                    let fut = check(m);
                    self.spawn(async move { TaskDone::AuthVerdict(fut.await) });
                }
                None => {
                    let st = Status::with_cause(Code::UNAUTHORIZED, "no auth checker configured");
                    let _ = self.core.accept_auth(now, Reply::error(st));
                }
            },
            Event::Authenticated(_) => {
                self.opened = true;
                self.signal_ready(Ok(()));
            }
            Event::Closed(reason) => {
                tracing::debug!(session = %self.handle.id(), %reason, "session closed");
                if !self.opened {
                    self.signal_ready(Err(reason.status()));
                }
                self.reason = Some(reason);
            }
            _ => {}
        }
    }

    /// Runs a handler as its own task, so that it never holds up the connection; its result
    /// comes back through `done`.
    fn spawn(&mut self, fut: impl Future<Output = TaskDone> + Send + 'static) {
        self.running += 1;
        let done = Arc::clone(&self.done);
        self.rt.spawn_handler(async move { done.push(fut.await) });
    }

    fn on_task(&mut self, now: Instant, done: TaskDone) {
        self.running -= 1;
        match done {
            TaskDone::Reply(token, reply, started, sm) => {
                self.peer
                    .log
                    .call_handled(&sm, now.saturating_duration_since(started), &reply);
                let _ = self.core.reply(now, token, reply);
            }
            TaskDone::Push => {}
            TaskDone::AuthVerdict(reply) => {
                let _ = self.core.accept_auth(now, reply);
            }
        }
    }

    /// One turn of the loop; returns whether anything moved.
    fn turn(&mut self, cx: &mut Context<'_>) -> bool {
        let now = Instant::now();
        let mut progress = false;

        // Commands from the handles.
        if self.reason.is_none() {
            if let Some(mut rx) = self.commands.take() {
                loop {
                    match rx.poll_next_unpin(cx) {
                        Poll::Ready(Some(cmd)) => {
                            progress = true;
                            self.apply(now, cmd);
                        }
                        Poll::Ready(None) => {
                            // Every handle is gone: nobody can use this session any more.
                            self.closed_locally = true;
                            self.core.close(now, Some(self.handle.inner.close_linger));
                            break;
                        }
                        Poll::Pending => break,
                    }
                }
                self.commands = Some(rx);
            }
        }

        // Handlers that finished (at most a batch per turn, so that their replies go out
        // before the next batch runs).
        if self.running > 0 {
            self.done.waker.register(cx.waker());
            if self.finished.is_empty() {
                self.done.take_into(&mut self.finished);
            }
        }
        for _ in 0..REPLY_BATCH {
            let Some(done) = self.finished.pop_front() else {
                break;
            };
            progress = true;
            self.on_task(now, done);
        }

        // Bytes from the peer.
        if !self.read_closed && self.reason.is_none() {
            match Pin::new(&mut self.stream).poll_read(cx, &mut self.scratch) {
                Poll::Ready(Ok(0)) => {
                    self.read_closed = true;
                    self.core.handle_eof(now);
                    progress = true;
                }
                Poll::Ready(Ok(n)) => {
                    self.rbuf.extend_from_slice(&self.scratch[..n]);
                    self.core.handle_input(now, &mut self.rbuf);
                    if n == self.scratch.len() && n < READ_CHUNK {
                        self.scratch = vec![0u8; (n * 4).min(READ_CHUNK)].into_boxed_slice();
                    }
                    progress = true;
                }
                Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {
                    progress = true
                }
                Poll::Ready(Err(e)) => {
                    self.read_closed = true;
                    self.core.handle_transport_error(now, e);
                    progress = true;
                }
                Poll::Pending => {}
            }
        }

        while self.woken < WAKE_BUDGET {
            let Some(ev) = self.core.poll_event() else {
                break;
            };
            progress = true;
            if matches!(ev, Event::CallDone(_)) {
                self.woken += 1;
            }
            self.on_event(now, ev);
        }

        // Time.
        match self.core.poll_timeout() {
            Some(t) => {
                if self.timer_at != Some(t) {
                    self.timer.reset(t);
                    self.timer_at = Some(t);
                }
                if Pin::new(&mut self.timer).poll(cx).is_ready() {
                    self.timer_at = None;
                    self.core.handle_timeout(Instant::now().max(t));
                    progress = true;
                }
            }
            None => self.timer_at = None,
        }

        // Bytes to the peer: everything queued, in as few writes as the socket allows.
        self.core.poll_transmit_into(&mut self.wbuf);
        while !self.wbuf.is_empty() && !self.write_failed {
            match Pin::new(&mut self.stream).poll_write(cx, &self.wbuf) {
                Poll::Ready(Ok(0)) => {
                    self.write_failed = true;
                    self.core.handle_transport_error(now, "write returned 0");
                }
                Poll::Ready(Ok(n)) => {
                    self.wbuf.advance(n);
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    self.write_failed = true;
                    self.wbuf.clear();
                    self.core.handle_transport_error(now, e);
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        if self.write_failed {
            self.wbuf.clear();
        }
        if self.needs_flush && self.wbuf.is_empty() {
            match Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(_) => self.needs_flush = false,
                Poll::Pending => {}
            }
        }
        progress
    }
}

// The driver never pins its fields (the stream and the timer are `Unpin`; the runtime handle
// is only cloned), so it may move while pinned.
impl<R: Runtime, S> Unpin for Driver<R, S> {}

impl<R: Runtime, S: Stream> Future for Driver<R, S> {
    type Output = Ended;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ended> {
        let this = &mut *self;
        this.woken = 0;
        for _ in 0..BUDGET {
            let progress = this.turn(cx);
            if this.woken >= WAKE_BUDGET {
                // Let the woken callers run before waking more (see WAKE_BUDGET).
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if this.reason.is_some()
                && (this.wbuf.is_empty() || this.write_failed)
                && !this.needs_flush
            {
                let _ = Pin::new(&mut this.stream).poll_close(cx);
                // Calls whose completion was lost (none should be) fail rather than hang.
                for (_, tx) in this.calls.drain() {
                    let _ = tx.send(Err(Status::from_code(Code::CONN_CLOSED)));
                }
                return Poll::Ready(Ended {
                    reason: this.reason.take().expect("checked"),
                    opened: this.opened,
                    closed_locally: this.closed_locally,
                    commands: this.commands.take().expect("taken once"),
                });
            }
            if !progress {
                return Poll::Pending;
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
