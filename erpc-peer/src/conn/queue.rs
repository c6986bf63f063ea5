//! [`CommandQueue`]: the bounded queue from a session's handles to its connection.
//!
//! Handles put calls and pushes in; the connection takes them out in batches when its flow
//! control allows. A full queue makes `call`/`push` wait for room (until their deadline) and
//! `try_push` fail at once, so a connection that does not drain cannot grow memory. Close
//! requests and cancellations never wait: they are flags and a list bounded by the calls a
//! session has made, beside the queue. While a dialed session redials, nothing takes
//! commands out; [`CommandQueue::expire`] fails those whose deadline passed, so a call that
//! timed out is never sent later.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::task::Waker;
use std::time::{Duration, Instant};

use erpc_proto::{Code, Message, Status};
use futures_channel::oneshot;
use futures_util::task::AtomicWaker;

/// A request from a handle to the connection.
pub(crate) enum Command {
    /// An outgoing CALL; `deadline` is when the caller gives up (`None`: never).
    Call {
        msg: Message,
        deadline: Option<Instant>,
        /// Identifies the call for [`CommandQueue::cancel`].
        key: u64,
        tx: oneshot::Sender<Result<Message, Status>>,
    },
    /// An outgoing PUSH; not sent after `deadline`.
    Push {
        msg: Message,
        deadline: Option<Instant>,
        tx: oneshot::Sender<Result<(), Status>>,
    },
}

impl Command {
    fn deadline(&self) -> Option<Instant> {
        match self {
            Command::Call { deadline, .. } | Command::Push { deadline, .. } => *deadline,
        }
    }

    /// Completes a command that will never be sent.
    pub(crate) fn fail(self, st: Status) {
        match self {
            Command::Call { tx, .. } => {
                let _ = tx.send(Err(st));
            }
            Command::Push { tx, .. } => {
                let _ = tx.send(Err(st));
            }
        }
    }
}

/// The status of a command whose deadline passed before it could be sent.
pub(crate) fn expired() -> Status {
    Status::with_cause(
        Code::HANDLE_TIMEOUT,
        "context deadline exceeded (not sent: the connection was not ready)",
    )
}

/// Why a command was not queued. (The command comes back by value on the rare full-queue
/// path; boxing it would cost an allocation there and gain nothing on the fast path.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum Refused {
    /// The queue is full; the command comes back.
    Full(Command),
    /// The session ended for good.
    Ended,
}

#[derive(Default)]
struct State {
    items: VecDeque<Command>,
    /// The strongest close asked for: `Some(None)` at once, `Some(Some(d))` gracefully.
    close: Option<Option<Duration>>,
    /// Keys of calls whose caller went away after the call left the queue.
    cancels: Vec<u64>,
    ended: bool,
}

/// What the connection takes out in one go.
#[derive(Default)]
pub(crate) struct Taken {
    /// A close request, if one came.
    pub(crate) close: Option<Option<Duration>>,
    /// Calls to abandon.
    pub(crate) cancels: Vec<u64>,
}

/// The bounded handle → connection queue of one session.
pub(crate) struct CommandQueue {
    state: Mutex<State>,
    cap: usize,
    /// Wakes callers waiting for room.
    room: event_listener::Event,
    /// Wakes the connection.
    driver: AtomicWaker,
    next_key: AtomicU64,
}

impl std::fmt::Debug for CommandQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommandQueue")
            .field("cap", &self.cap)
            .field("len", &self.len())
            .finish()
    }
}

impl CommandQueue {
    /// A queue holding at most `cap` calls and pushes (at least 1).
    pub(crate) fn new(cap: usize) -> Self {
        CommandQueue {
            state: Mutex::new(State::default()),
            cap: cap.max(1),
            room: event_listener::Event::new(),
            driver: AtomicWaker::new(),
            next_key: AtomicU64::new(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh key for a call.
    pub(crate) fn next_key(&self) -> u64 {
        self.next_key.fetch_add(1, Ordering::Relaxed)
    }

    /// Calls and pushes waiting in the queue.
    pub(crate) fn len(&self) -> usize {
        self.lock().items.len()
    }

    /// Queues `cmd` if there is room.
    #[allow(clippy::result_large_err)]
    pub(crate) fn try_push(&self, cmd: Command) -> Result<(), Refused> {
        {
            let mut st = self.lock();
            if st.ended {
                drop(st);
                cmd.fail(Status::from_code(Code::CONN_CLOSED));
                return Err(Refused::Ended);
            }
            if st.items.len() >= self.cap {
                return Err(Refused::Full(cmd));
            }
            if st.items.capacity() == 0 {
                // Room for one, not the four a first push would make: most sessions have
                // one command queued at a time, and a command is a few hundred bytes.
                st.items.reserve_exact(1);
            }
            st.items.push_back(cmd);
        }
        self.driver.wake();
        Ok(())
    }

    /// A listener that fires when room may have freed (register it, then try again).
    pub(crate) fn listen_room(&self) -> event_listener::EventListener {
        self.room.listen()
    }

    /// Asks the connection to close (`None`: at once; an immediate close wins over a
    /// graceful one).
    pub(crate) fn close(&self, linger: Option<Duration>) {
        {
            let mut st = self.lock();
            st.close = Some(match (st.close, linger) {
                (Some(None), _) | (_, None) => None,
                (Some(Some(a)), Some(b)) => Some(a.min(b)),
                (None, Some(b)) => Some(b),
            });
        }
        self.driver.wake();
    }

    /// The caller of call `key` went away: drops the call if it is still queued, else asks
    /// the connection to abandon it.
    pub(crate) fn cancel(&self, key: u64) {
        let mut st = self.lock();
        if let Some(i) = st
            .items
            .iter()
            .position(|c| matches!(c, Command::Call { key: k, .. } if *k == key))
        {
            let was_full = st.items.len() >= self.cap;
            st.items.remove(i);
            drop(st);
            if was_full {
                self.room.notify(1);
            }
            return;
        }
        if !st.ended {
            st.cancels.push(key);
            drop(st);
            self.driver.wake();
        }
    }

    /// Registers the connection's waker (before it looks at the queue).
    pub(crate) fn register(&self, waker: &Waker) {
        self.driver.register(waker);
    }

    /// Takes the close request and the cancellations, and up to `max` commands into `out`.
    pub(crate) fn take(&self, max: usize, out: &mut VecDeque<Command>) -> Taken {
        let mut st = self.lock();
        let was_full = st.items.len() >= self.cap;
        let n = max.min(st.items.len());
        if out.is_empty() && n == st.items.len() {
            // All of them: trade buffers instead of moving commands (no allocation; the
            // queue goes on with the one `out` emptied last time).
            std::mem::swap(&mut st.items, out);
        } else {
            out.extend(st.items.drain(..n));
        }
        let taken = Taken {
            close: st.close.take(),
            cancels: std::mem::take(&mut st.cancels),
        };
        drop(st);
        // Only a full queue has callers waiting for room (they listen after finding it full
        // and try again before they wait); notifying no one would still cost a fence, and
        // the event's first notification allocates its state.
        if was_full && n > 0 {
            self.room.notify(n);
        }
        taken
    }

    /// Frees the queue's memory when it is empty (an idle connection).
    pub(crate) fn release_idle(&self) {
        let mut st = self.lock();
        if st.items.is_empty() && st.items.capacity() > 0 {
            st.items = VecDeque::new();
        }
    }

    /// Whether a close was asked for (without taking it).
    pub(crate) fn close_requested(&self) -> bool {
        self.lock().close.is_some()
    }

    /// While nothing takes commands out (a redial): fails every command whose deadline is at
    /// or before `now` and returns the earliest deadline left.
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        let mut st = self.lock();
        let mut gone = Vec::new();
        let mut kept = VecDeque::with_capacity(st.items.len());
        let mut earliest: Option<Instant> = None;
        for c in st.items.drain(..) {
            match c.deadline() {
                Some(d) if d <= now => gone.push(c),
                d => {
                    if let Some(d) = d {
                        earliest = Some(earliest.map_or(d, |e| e.min(d)));
                    }
                    kept.push_back(c);
                }
            }
        }
        st.items = kept;
        st.cancels.clear();
        drop(st);
        if !gone.is_empty() {
            self.room.notify(gone.len());
        }
        for c in gone {
            c.fail(expired());
        }
        earliest
    }

    /// The session ended for good: later pushes are refused; returns what was queued (to
    /// fail with 102) and wakes every waiting caller.
    pub(crate) fn end(&self) -> Vec<Command> {
        let mut st = self.lock();
        st.ended = true;
        st.cancels.clear();
        let rest: Vec<Command> = st.items.drain(..).collect();
        drop(st);
        self.room.notify(usize::MAX);
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erpc_proto::MessageType;

    fn call(
        q: &CommandQueue,
        deadline: Option<Instant>,
    ) -> (Command, u64, oneshot::Receiver<Result<Message, Status>>) {
        let (tx, rx) = oneshot::channel();
        let key = q.next_key();
        let cmd = Command::Call {
            msg: Message::new(MessageType::CALL, 0, "/x"),
            deadline,
            key,
            tx,
        };
        (cmd, key, rx)
    }

    #[allow(clippy::disallowed_methods)]
    fn origin() -> Instant {
        Instant::now()
    }

    #[test]
    fn full_queue_refuses_and_take_frees_room() {
        let q = CommandQueue::new(2);
        for _ in 0..2 {
            assert!(q.try_push(call(&q, None).0).is_ok());
        }
        assert!(matches!(
            q.try_push(call(&q, None).0),
            Err(Refused::Full(_))
        ));
        let mut out = VecDeque::new();
        q.take(1, &mut out);
        assert_eq!(out.len(), 1);
        assert!(q.try_push(call(&q, None).0).is_ok());
        assert_eq!(q.len(), 2);
    }

    /// Taking everything trades buffers, taking part moves commands; either way the
    /// commands come out in order, behind what `out` held, and a full queue's waiters hear it.
    #[test]
    fn take_keeps_order_whether_it_trades_buffers_or_moves() {
        let q = CommandQueue::new(4);
        let key_of = |c: &Command| match c {
            Command::Call { key, .. } => *key,
            _ => unreachable!("only calls are queued here"),
        };
        let mut keys = Vec::new();
        for _ in 0..4 {
            let (cmd, key, _) = call(&q, None);
            keys.push(key);
            assert!(q.try_push(cmd).is_ok());
        }
        let mut room = q.listen_room();
        let mut out = VecDeque::new();
        q.take(2, &mut out);
        assert!(
            notified(&mut room),
            "a full queue's waiters hear the first take"
        );
        q.take(usize::MAX, &mut out);
        assert_eq!(out.iter().map(key_of).collect::<Vec<_>>(), keys);
        assert_eq!(q.len(), 0);

        // An empty `out` and everything queued: the buffers trade.
        let (cmd, key, _) = call(&q, None);
        assert!(q.try_push(cmd).is_ok());
        let mut empty = VecDeque::new();
        q.take(usize::MAX, &mut empty);
        assert_eq!(empty.iter().map(key_of).collect::<Vec<_>>(), vec![key]);
        assert_eq!(q.len(), 0);
        assert!(
            q.try_push(call(&q, None).0).is_ok(),
            "the queue takes more after a trade"
        );
    }

    /// Whether `l` has been notified (polled once with a no-op waker).
    fn notified(l: &mut event_listener::EventListener) -> bool {
        use std::future::Future;
        let mut cx = std::task::Context::from_waker(Waker::noop());
        std::pin::Pin::new(l).poll(&mut cx).is_ready()
    }

    #[test]
    fn a_caller_waiting_for_room_is_woken_by_take_and_by_cancel() {
        let q = CommandQueue::new(2);
        let (c1, k1, _rx1) = call(&q, None);
        let _ = q.try_push(c1);
        let _ = q.try_push(call(&q, None).0);
        // Full: a caller listens, as `enqueue` does after a refusal.
        assert!(matches!(
            q.try_push(call(&q, None).0),
            Err(Refused::Full(_))
        ));
        let mut waiting = q.listen_room();
        assert!(!notified(&mut waiting));
        q.cancel(k1);
        assert!(notified(&mut waiting), "a cancel that frees room wakes it");
        let _ = q.try_push(call(&q, None).0);
        let mut waiting = q.listen_room();
        q.take(1, &mut VecDeque::new());
        assert!(notified(&mut waiting), "a take that frees room wakes it");
    }

    #[test]
    fn a_queue_that_was_not_full_notifies_no_one() {
        let q = CommandQueue::new(4);
        let _ = q.try_push(call(&q, None).0);
        let mut early = q.listen_room();
        q.take(1, &mut VecDeque::new());
        // Nobody waits for room in a queue with room; the take skips the notification.
        assert!(!notified(&mut early));
    }

    #[test]
    fn expired_commands_fail_and_are_never_taken() {
        let t0 = origin();
        let q = CommandQueue::new(8);
        let (c1, _, mut rx1) = call(&q, Some(t0 + Duration::from_millis(10)));
        let (c2, _, _rx2) = call(&q, Some(t0 + Duration::from_millis(50)));
        let _ = q.try_push(c1);
        let _ = q.try_push(c2);
        assert_eq!(
            q.expire(t0 + Duration::from_millis(20)),
            Some(t0 + Duration::from_millis(50))
        );
        let r = rx1.try_recv().unwrap().unwrap();
        assert_eq!(r.unwrap_err().code(), Code::HANDLE_TIMEOUT);
        let mut out = VecDeque::new();
        q.take(10, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn cancel_removes_a_queued_call_and_records_a_sent_one() {
        let q = CommandQueue::new(8);
        let (c, key, _rx) = call(&q, None);
        let _ = q.try_push(c);
        q.cancel(key);
        assert_eq!(q.len(), 0);
        q.cancel(99);
        let taken = q.take(10, &mut VecDeque::new());
        assert_eq!(taken.cancels, vec![99]);
    }

    #[test]
    fn immediate_close_wins_and_end_refuses() {
        let q = CommandQueue::new(8);
        q.close(Some(Duration::from_secs(5)));
        q.close(None);
        q.close(Some(Duration::from_secs(1)));
        assert_eq!(q.take(0, &mut VecDeque::new()).close, Some(None));
        let _ = q.try_push(call(&q, None).0);
        assert_eq!(q.end().len(), 1);
        assert!(matches!(q.try_push(call(&q, None).0), Err(Refused::Ended)));
    }
}
