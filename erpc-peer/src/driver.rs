//! The connection driver: one future per connection moves bytes, commands, handler results
//! and time between the stream and the sans-IO [`ConnCore`](crate::conn::ConnCore), and
//! spawns the handlers the core hands out. Every decision (what to read, when, which
//! handler may start, when to give up) is the core's; this file is I/O only.

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Instant;

use bytes::BytesMut;
use erpc_proto::session::CloseReason;
use futures_util::task::AtomicWaker;
use tracing::Instrument;

use crate::conn::out::MAX_SLICES;
use crate::conn::placement::FirstStep;
use crate::conn::queue::Command;
use crate::conn::{ConnCore, Finished, PeerCore, Work};
use crate::large_reads::{LargeRead, Spares, READ_CHUNK};
use crate::runtime::{Runtime, Stream, Timer};
use crate::session::Session;

/// First size of a connection's reads.
const FIRST_READ_CHUNK: usize = 4 * 1024;

thread_local! {
    /// Where reads land before they join their connection's read buffer: one per thread
    /// (at most [`READ_CHUNK`]), not one per connection, so that an idle connection holds
    /// none.
    static READ_SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}
/// A read into the spare capacity of `buf` (at most `max` bytes), when `S` is the runtime's
/// own stream and the runtime offers such reads ([`Runtime::poll_read_spare`]): the room of
/// a large frame is then not zeroed before it is read into. Small reads do not use it (see
/// the read path in [`Driver::turn`]).
fn read_spare<R: Runtime, S: Stream>(
    stream: &mut S,
    cx: &mut Context<'_>,
    buf: &mut BytesMut,
    max: usize,
) -> Option<Poll<std::io::Result<usize>>> {
    let any = stream.as_any_mut();
    let own = if any.is::<Box<dyn Stream>>() {
        // The connection's stream, boxed: the stream inside.
        let boxed = any.downcast_mut::<Box<dyn Stream>>()?;
        (**boxed).as_any_mut().downcast_mut::<R::Stream>()?
    } else {
        any.downcast_mut::<R::Stream>()?
    };
    R::poll_read_spare(own, cx, buf, max)
}

/// Loop turns per poll before yielding to the executor.
const BUDGET: usize = 64;
/// Commands taken from the handles per turn.
const COMMAND_BATCH: usize = 256;
/// Handler results handed to the core per turn before the replies are written: a read can
/// bring hundreds of calls, and writing only after all of them ran keeps the first replies
/// waiting for the last handler (the caller's side idles meanwhile). Writing every 32 replies
/// pipelines the two sides; it matches [`WAKE_BUDGET`](crate::conn::WAKE_BUDGET), the batch
/// the calling side releases with many calls in flight (bench-peers on one connection, tokio
/// both sides: 212k -> 285k calls/s with 100 callers, 262k -> 266k with 1,000; 16 and 48
/// measured worse).
const REPLY_BATCH: usize = 32;

/// Results of the handlers a driver spawned, on their way back to it: the handler tasks push,
/// the driver takes them all at once. At most one entry per handler running, so the queue is
/// bounded by the session's handler limit.
#[derive(Default)]
struct Completions {
    queue: Mutex<Vec<Finished>>,
    waker: AtomicWaker,
}

impl Completions {
    fn push(&self, done: Finished) {
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

    fn len(&self) -> usize {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn take_into(&self, dst: &mut VecDeque<Finished>) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        dst.extend(q.drain(..));
    }

    /// Frees the queue's memory when it is empty (an idle connection).
    fn release_idle(&self) {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.is_empty() && q.capacity() > 0 {
            *q = Vec::new();
        }
    }
}

/// What a first poll that started at `t0` (when measured) did.
fn first_step<R: Runtime>(clock: Option<&R>, t0: Option<Instant>, ready: bool) -> FirstStep {
    match (clock, t0) {
        (Some(rt), Some(t0)) if ready => FirstStep::Ready(rt.now().saturating_duration_since(t0)),
        (Some(_), Some(_)) => FirstStep::Pending,
        _ => FirstStep::Unmeasured,
    }
}

/// Awaits `fut`, timing its first poll with `rt`'s clock.
async fn timed<R: Runtime, F: Future + Unpin>(rt: &R, mut fut: F) -> (F::Output, FirstStep) {
    let mut step = None;
    let out = std::future::poll_fn(|cx| {
        if step.is_some() {
            return Pin::new(&mut fut).poll(cx);
        }
        let t0 = rt.now();
        let polled = Pin::new(&mut fut).poll(cx);
        step = Some(first_step(Some(rt), Some(t0), polled.is_ready()));
        polled
    })
    .await;
    (out, step.unwrap_or(FirstStep::Unmeasured))
}

/// Gives a peer-wide handler slot back when the handler's task ends, however it ends.
struct SlotGuard(Arc<PeerCore>);

impl Drop for SlotGuard {
    fn drop(&mut self) {
        self.0.slots.release();
    }
}

/// What the driver reports when the connection ends.
pub(crate) struct Ended {
    pub(crate) reason: CloseReason,
    /// Whether the session had opened (authenticated) before it ended.
    pub(crate) opened: bool,
    /// Whether the application closed it (no redial then).
    pub(crate) closed_locally: bool,
}

pub(crate) struct Driver<R: Runtime, S> {
    rt: R,
    stream: S,
    conn: ConnCore,
    peer: Arc<PeerCore>,
    handle: Session,
    rbuf: BytesMut,
    /// How much the next read asks for (grows to [`READ_CHUNK`] while reads fill it).
    read_size: usize,
    /// Read buffers of earlier large frames, for the next ones.
    spares: Spares,
    /// The large frame being read, while it is (`rbuf` is empty then).
    large: Option<Box<LargeRead>>,
    /// The runtime timer for the core's next deadline, made when one is first needed and
    /// dropped when a quiet connection gives back its buffers with nothing armed (an idle
    /// connection then holds no timer: 112 bytes and a timer-wheel entry on tokio).
    timer: Option<R::Timer>,
    /// The deadline `timer` is armed for, if it is.
    timer_at: Option<Instant>,
    done: Arc<Completions>,
    /// Handler results taken from `done`, not yet handed to the core.
    finished: VecDeque<Finished>,
    commands: VecDeque<Command>,
    slot_wait: Option<event_listener::EventListener>,
    needs_flush: bool,
    ended: bool,
    /// Whether this wake-up was already put off once to gather more handler results.
    deferred: bool,
}

impl<R: Runtime, S: Stream> Driver<R, S> {
    /// With nothing in flight for a while (the core says when), gives back the memory of the
    /// buffers and queues that held the last exchange, so that an idle connection costs
    /// little (they grow again with the next message).
    fn release_idle_buffers(&mut self) {
        if !self.conn.is_quiet() || !self.finished.is_empty() || !self.commands.is_empty() {
            return;
        }
        // Not only when it has capacity: a read buffer whose last frame was split off whole
        // has none left but still holds its share of that frame's allocation.
        if self.rbuf.is_empty() {
            self.rbuf = BytesMut::new();
        }
        self.spares.clear();
        if self.finished.capacity() > 0 {
            self.finished = VecDeque::new();
        }
        if self.commands.capacity() > 0 {
            self.commands = VecDeque::new();
        }
        self.done.release_idle();
        self.handle.inner.queue.release_idle();
        self.conn.release_idle_buffers();
        if self.timer_at.is_none() {
            self.timer = None;
        }
    }

    pub(crate) fn new(
        rt: R,
        stream: S,
        conn: ConnCore,
        peer: Arc<PeerCore>,
        handle: Session,
    ) -> Self {
        Driver {
            rt,
            stream,
            conn,
            peer,
            handle,
            rbuf: BytesMut::new(),
            read_size: FIRST_READ_CHUNK,
            spares: Spares::default(),
            large: None,
            timer: None,
            timer_at: None,
            done: Arc::default(),
            finished: VecDeque::new(),
            commands: VecDeque::new(),
            slot_wait: None,
            needs_flush: false,
            ended: false,
            deferred: false,
        }
    }

    /// Runs `w`: as its own task, so that it never holds up the connection, or its first
    /// step here when the core says so (a route proven fast; see `conn::placement`), the
    /// rest as its own task if it has to wait. Its result comes back through `done` (or
    /// `finished` when it ended here), with what its first step did when the core asks.
    fn spawn(&mut self, cx: &mut Context<'_>, w: Work) {
        let clock = self.conn.measures_first_steps().then(|| self.rt.clone());
        match w {
            Work::Call {
                f,
                ctx,
                msg,
                done: info,
                inline,
            } => {
                let span = tracing::debug_span!("call", seq = msg.seq, service_method = %info.service_method);
                let mut fut = f(ctx, msg).instrument(span);
                let mut step = FirstStep::Unmeasured;
                if inline {
                    let t0 = clock.as_ref().map(|rt| rt.now());
                    let polled = Pin::new(&mut fut).poll(cx);
                    step = first_step(clock.as_ref(), t0, polled.is_ready());
                    if let Poll::Ready(reply) = polled {
                        self.peer.slots.release();
                        self.finished.push_back(Finished::Reply(info, reply, step));
                        return;
                    }
                }
                let (done, slot) = self.detached();
                self.rt.spawn_handler(async move {
                    let (reply, step) = match (step, clock) {
                        (FirstStep::Unmeasured, Some(rt)) => timed(&rt, fut).await,
                        _ => (fut.await, step),
                    };
                    drop(slot);
                    done.push(Finished::Reply(info, reply, step));
                });
            }
            Work::Push {
                f,
                ctx,
                msg,
                route,
                inline,
            } => {
                let span = tracing::debug_span!("push", seq = msg.seq, service_method = %msg.service_method);
                let mut fut = f(ctx, msg).instrument(span);
                let mut step = FirstStep::Unmeasured;
                if inline {
                    let t0 = clock.as_ref().map(|rt| rt.now());
                    let ready = Pin::new(&mut fut).poll(cx).is_ready();
                    step = first_step(clock.as_ref(), t0, ready);
                    if ready {
                        self.peer.slots.release();
                        self.finished.push_back(Finished::Push(route, step));
                        return;
                    }
                }
                let (done, slot) = self.detached();
                self.rt.spawn_handler(async move {
                    let step = match (step, clock) {
                        (FirstStep::Unmeasured, Some(rt)) => timed(&rt, fut).await.1,
                        _ => {
                            fut.await;
                            step
                        }
                    };
                    drop(slot);
                    done.push(Finished::Push(route, step));
                });
            }
            Work::Auth { f, msg } => {
                let fut = f(msg);
                let (done, slot) = self.detached();
                self.rt.spawn_handler(async move {
                    let verdict = fut.await;
                    drop(slot);
                    done.push(Finished::AuthVerdict(verdict));
                });
            }
        }
    }

    /// What a handler running as its own task takes along: the way back to this driver, and
    /// its peer-wide slot (given back however the task ends).
    fn detached(&self) -> (Arc<Completions>, SlotGuard) {
        (Arc::clone(&self.done), SlotGuard(Arc::clone(&self.peer)))
    }

    /// One turn of the loop; returns whether anything moved.
    fn turn(&mut self, cx: &mut Context<'_>) -> bool {
        let now = self.rt.now();
        let mut progress = false;
        let conn = &mut self.conn;

        // Commands, close requests and cancellations from the handles.
        if conn.close_reason().is_none() {
            let queue = &self.handle.inner.queue;
            queue.register(cx.waker());
            let max = if conn.wants_commands() {
                COMMAND_BATCH
            } else {
                0
            };
            let taken = queue.take(max, &mut self.commands);
            for key in taken.cancels {
                conn.cancel(key);
            }
            while let Some(cmd) = self.commands.pop_front() {
                progress = true;
                conn.apply(now, cmd);
            }
            if let Some(linger) = taken.close {
                progress = true;
                conn.close(now, linger);
            }
        }

        // Handlers that finished (at most a batch per turn, so that their replies go out
        // before the next batch runs).
        if conn.running() > 0 {
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
            conn.handler_done(now, done);
        }

        // Incoming work and completed calls.
        while let Some(w) = self.conn.poll_work(now) {
            progress = true;
            self.spawn(cx, w);
        }
        let conn = &mut self.conn;
        if conn.blocked_on_peer() {
            // Wait for another session to free a peer-wide handler slot.
            let l = self
                .slot_wait
                .get_or_insert_with(|| self.peer.slots.listen());
            if Pin::new(l).poll(cx).is_ready() {
                self.slot_wait = None;
                progress = true;
            }
        } else {
            self.slot_wait = None;
        }

        // Bytes from the peer, when the core wants them.
        if self.large.is_none() && conn.wants_read() {
            let need = conn.input_needed(&self.rbuf);
            if let Some(need) = need.filter(|&need| need >= READ_CHUNK) {
                self.large = Some(Box::new(LargeRead::start(
                    &mut self.rbuf,
                    need,
                    &mut self.spares,
                )));
            }
        }
        if let Some(large) = &mut self.large {
            // The rest of a large frame: into a buffer of its own, handed to the core whole
            // (or when the stream ends or fails).
            if conn.wants_read() {
                let polled = large.poll_read(&mut self.stream, cx, read_spare::<R, S>);
                progress |= polled.is_ready();
                match polled {
                    Poll::Ready(Ok(n)) if n > 0 && !large.is_complete() => {
                        conn.handle_partial_read(now, n);
                    }
                    Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Poll::Ready(r) => {
                        let large = self.large.take().expect("being read");
                        self.rbuf = large.finish(&mut self.spares);
                        conn.handle_read_result(now, r, &mut self.rbuf);
                        self.spares.after_read(&mut self.rbuf);
                    }
                    Poll::Pending => {}
                }
            }
        } else if conn.wants_read() {
            let want = self.read_size;
            // Through this thread's scratch buffer, and then into a read buffer of just what
            // arrived: a read straight into the read buffer's spare room would need room for
            // a whole read in every connection that reads, and every message taken from it
            // would keep all of that room alive for as long as the message lives (a pushed
            // body of a few bytes holding a 256 KiB read). Large frames are read in place
            // (above), into a buffer of the frame's size.
            let (stream, rbuf) = (&mut self.stream, &mut self.rbuf);
            let mut read = |buf: &mut [u8]| {
                let r = Pin::new(&mut *stream).poll_read(cx, &mut buf[..want]);
                if let Poll::Ready(Ok(n)) = r {
                    rbuf.extend_from_slice(&buf[..n]);
                }
                r
            };
            let polled = READ_SCRATCH
                .with(|cell| {
                    let mut buf = cell.try_borrow_mut().ok()?;
                    if buf.len() < want {
                        buf.resize(want, 0);
                    }
                    Some(read(&mut buf))
                })
                // This thread's buffer is in use further up the stack: a buffer of its own.
                .unwrap_or_else(|| read(&mut vec![0u8; want]));
            if matches!(polled, Poll::Ready(Ok(n)) if n == want && want < READ_CHUNK) {
                self.read_size = (want * 4).min(READ_CHUNK);
            }
            if let Poll::Ready(r) = polled {
                conn.handle_read_result(now, r, &mut self.rbuf);
                self.spares.after_read(&mut self.rbuf);
                progress = true;
            }
        }

        // Time. The timer is moved only to an earlier deadline: the core's next deadline
        // changes with nearly every call (each has its own), and moving a runtime timer to an
        // earlier time re-registers it and may wake the thread that sleeps on the timers.
        // A timer armed too early just fires once for nothing; the core is asked again then.
        if let Some(t) = conn.poll_timeout() {
            if self.timer_at.is_none_or(|armed| t < armed) {
                match &mut self.timer {
                    Some(timer) => timer.reset(t),
                    None => self.timer = Some(self.rt.timer(t)),
                }
                self.timer_at = Some(t);
            }
        }
        let mut release = false;
        if let (Some(armed), Some(timer)) = (self.timer_at, &mut self.timer) {
            if Pin::new(timer).poll(cx).is_ready() {
                self.timer_at = None;
                let now = self.rt.now().max(armed);
                if conn.poll_timeout().is_some_and(|t| t <= now) {
                    conn.handle_timeout(now);
                }
                release = conn.take_idle_release();
                progress = true;
            }
        }

        // Bytes to the peer: everything queued, in as few writes as the socket allows (one
        // vectored write takes a call's header and body and whatever else is queued).
        loop {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let k = conn.transmit_vectored(&mut slices);
            if k == 0 {
                break;
            }
            let written = match &slices[..k] {
                [one] => Pin::new(&mut self.stream).poll_write(cx, one),
                all => Pin::new(&mut self.stream).poll_write_vectored(cx, all),
            };
            match written {
                Poll::Ready(Ok(0)) => {
                    conn.handle_write_error(now, "write returned 0");
                    progress = true;
                }
                Poll::Ready(Ok(n)) => {
                    conn.handle_written(now, n);
                    self.needs_flush = true;
                    progress = true;
                }
                Poll::Ready(Err(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    conn.handle_write_error(now, e);
                    progress = true;
                }
                Poll::Pending => break,
            }
        }
        if self.needs_flush
            && conn.transmit().is_empty()
            && Pin::new(&mut self.stream).poll_flush(cx).is_ready()
        {
            self.needs_flush = false;
        }
        // The callers whose calls completed this turn hear now, after this turn's bytes went
        // out: a woken caller that preempts the driver (a thread, on the blocking runtime)
        // no longer holds back the write of the calls already queued.
        conn.deliver();
        if release {
            self.release_idle_buffers();
        }
        progress
    }
}

// The driver never pins its fields (the stream and the timer are `Unpin`; the runtime handle
// is only cloned), so it may move while pinned.
impl<R: Runtime, S> Unpin for Driver<R, S> {}

impl<R: Runtime, S: Stream> Future for Driver<R, S> {
    type Output = Ended;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Ended> {
        let this = self.get_mut();
        assert!(!this.ended, "connection driver polled after it ended");
        // Woken by the first of several handlers to finish (an executor runs the task a
        // handler woke right after it, ahead of the other handlers): put this turn off once,
        // behind them, so that their replies go out in one write instead of one each.
        if !this.deferred && this.conn.running() > 1 {
            let ready = this.finished.len() + this.done.len();
            if ready > 0 && ready < this.conn.running() && ready < REPLY_BATCH {
                this.deferred = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
        }
        // Woken by the first of the callers this connection answered queuing its next call:
        // put this turn off once, behind the others, so that their calls share a write.
        if !this.deferred && this.conn.awaits_callers(this.handle.inner.queue.len()) {
            this.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.deferred = false;
        this.conn.new_turn();
        for _ in 0..BUDGET {
            let progress = this.turn(cx);
            if this.conn.close_reason().is_some() && this.conn.is_flushed() && !this.needs_flush {
                let _ = Pin::new(&mut this.stream).poll_close(cx);
                this.conn.finish();
                this.ended = true;
                return Poll::Ready(Ended {
                    reason: this.conn.close_reason().cloned().expect("checked"),
                    opened: this.conn.opened(),
                    closed_locally: this.conn.closed_locally(),
                });
            }
            if this.conn.budget_spent() {
                // Let the woken callers run before waking more (see WAKE_BUDGET).
                this.conn.publish_stats();
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            if !progress {
                this.conn.publish_stats();
                return Poll::Pending;
            }
        }
        this.conn.publish_stats();
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
