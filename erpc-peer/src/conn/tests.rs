//! The connection core without sockets or runtime: an `erpc_proto` session plays the remote
//! peer over an in-memory byte stream, time is virtual, handlers are run by the test.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use erpc_proto::codec::Raw;
use erpc_proto::plugin::SessionInfo;
use erpc_proto::proto::Protocol;
use erpc_proto::router::RouteKind;
use erpc_proto::session::{CallOptions, Event, Session as Core, SessionConfig};
use erpc_proto::{Code, CodecId, Message, MessageType, Status};
use futures_channel::oneshot;

use super::queue::Command;
use super::stats::{HandlerSlots, PeerCounters};
use super::*;
use crate::handler::{call_fn, AuthCheckFn, Handler};
use crate::session::{Clock, SessionParts};
use crate::setup::{session_core_at, BuilderCore};
use crate::{CallCtx, PeerConfig};

/// A clock that only moves when the test says so.
struct Virtual(Instant);

impl Clock for Virtual {
    fn now(&self) -> Instant {
        self.0
    }

    fn sleep_until(&self, _deadline: Instant) -> crate::BoxFuture<()> {
        Box::pin(std::future::pending())
    }
}

#[allow(clippy::disallowed_methods)]
pub(crate) fn origin() -> Instant {
    Instant::now()
}

/// The connection core of an accepted connection and the remote peer's session.
struct Rig {
    now: Instant,
    conn: ConnCore,
    remote: Core,
    rbuf: BytesMut,
    remote_rbuf: BytesMut,
    /// Work the core handed out, not run yet.
    work: VecDeque<Work>,
}

fn rig(config: PeerConfig, auth: bool) -> Rig {
    rig_as(config, auth, false)
}

/// A rig whose connection was accepted (`dialed: false`, with an auth checker when `auth`)
/// or dialed; the remote is a session of the other role.
fn rig_as(config: PeerConfig, auth: bool, dialed: bool) -> Rig {
    let now = origin();
    let mut b: BuilderCore<Handler> = BuilderCore::new(config);
    let codecs = b.codecs.clone();
    b.add(
        RouteKind::Call,
        "/echo",
        Handler::Call(call_fn(
            |_ctx: CallCtx, body: Raw| async move { Ok::<_, Status>(body) },
            codecs,
        )),
    );
    let parts = b.build().unwrap();
    let auth_checker: Option<AuthCheckFn> = auth.then(|| {
        let f: AuthCheckFn =
            Arc::new(|_m| Box::pin(async { Reply::ok(Bytes::from_static(b"ok")) }));
        f
    });
    let peer = Arc::new(PeerCore {
        handlers: parts.handlers,
        auth_checker,
        log: parts.log,
        limits: Limits::from_config(&parts.config),
        slots: HandlerSlots::new(parts.config.peer_handlers_limit()),
        counters: PeerCounters::default(),
        metrics: parts.metrics,
    });
    let protocol: Arc<dyn Protocol> = Arc::clone(&parts.session_cfg.protocol);
    let core = session_core_at(
        &parts.session_cfg,
        &protocol,
        auth,
        dialed,
        "s",
        "remote",
        now,
    );
    let handle = Session::new(SessionParts {
        id: "s".into(),
        local_addr: "local".into(),
        remote_addr: "remote".into(),
        dialed,
        codecs: parts.session_cfg.codecs.clone(),
        default_codec: parts.session_cfg.default_body_codec,
        close_linger: Duration::from_secs(1),
        call_timeout: Some(Duration::from_secs(60)),
        max_queued_commands: 16,
        clock: Arc::new(Virtual(now)),
    });
    let conn = ConnCore::new(now, core, peer, handle, None, true);
    let remote_cfg = if dialed {
        SessionConfig::acceptor()
    } else {
        SessionConfig::dialer()
    };
    let remote = Core::new(remote_cfg, SessionInfo::default(), now);
    Rig {
        now,
        conn,
        remote,
        rbuf: BytesMut::new(),
        remote_rbuf: BytesMut::new(),
        work: VecDeque::new(),
    }
}

impl Rig {
    /// This side calls the remote's `/remote` with `body` (a handle's command, applied).
    fn local_call(
        &mut self,
        body: Bytes,
        deadline: Option<Instant>,
        key: u64,
    ) -> oneshot::Receiver<Result<Message, Status>> {
        let (tx, rx) = oneshot::channel();
        let mut msg = Message::new(MessageType::CALL, 0, "/remote");
        msg.body_codec = CodecId::PLAIN;
        msg.body = body;
        let cmd = Command::Call {
            msg,
            deadline,
            key,
            tx,
        };
        self.conn.apply(self.now, cmd);
        rx
    }

    /// The remote side calls `/echo` with `body`.
    fn remote_call(&mut self, body: Bytes) {
        let mut m = Message::new(MessageType::CALL, 0, "/echo");
        m.body_codec = CodecId::PLAIN;
        m.body = body;
        self.remote
            .call(self.now, m, CallOptions::no_timeout())
            .unwrap();
    }

    /// Moves the remote's bytes to the core, if the core reads.
    fn deliver(&mut self) -> bool {
        self.collect_work();
        if !self.conn.wants_read() {
            return false;
        }
        let mut n = 0;
        while let Some(piece) = self.remote.poll_transmit() {
            self.rbuf.extend_from_slice(&piece);
            n += piece.len();
        }
        if n == 0 {
            return false;
        }
        self.conn.handle_read(self.now, n, &mut self.rbuf);
        true
    }

    /// Takes the work the core hands out.
    fn collect_work(&mut self) {
        self.conn.new_turn();
        while let Some(w) = self.conn.poll_work(self.now) {
            self.work.push_back(w);
        }
    }

    /// Runs every collected handler (the echo replies with its body), as the driver would.
    fn run_handlers(&mut self) {
        while let Some(w) = self.work.pop_front() {
            let done = match w {
                Work::Call { msg, done, .. } => {
                    self.conn.peer.slots.release();
                    Finished::Reply(done, Reply::ok(msg.body), FirstStep::Unmeasured)
                }
                Work::Push { route, .. } => {
                    self.conn.peer.slots.release();
                    Finished::Push(route, FirstStep::Unmeasured)
                }
                Work::Auth { .. } => {
                    self.conn.peer.slots.release();
                    Finished::AuthVerdict(Reply::ok(Bytes::from_static(b"ok")))
                }
            };
            self.conn.handler_done(self.now, done);
        }
    }

    /// The socket takes everything queued; the remote reads it.
    fn drain_output(&mut self) -> usize {
        let mut total = 0;
        while !self.conn.transmit().is_empty() {
            let out = self.conn.transmit().to_vec();
            self.conn.handle_written(self.now, out.len());
            self.remote_rbuf.extend_from_slice(&out);
            total += out.len();
        }
        self.remote.handle_input(self.now, &mut self.remote_rbuf);
        total
    }

    fn remote_replies(&mut self) -> usize {
        let mut n = 0;
        while let Some(ev) = self.remote.poll_event() {
            if let Event::CallDone(d) = ev {
                assert!(d.result.is_ok(), "{:?}", d.result);
                n += 1;
            }
        }
        n
    }
}

fn config() -> PeerConfig {
    PeerConfig {
        max_queued_bytes: 256 * 1024,
        max_handlers: 16,
        write_timeout: Duration::from_secs(5),
        ..PeerConfig::default()
    }
}

#[test]
fn reading_pauses_when_the_socket_does_not_drain_and_resumes_when_it_does() {
    let mut r = rig(config(), false);
    let body = Bytes::from(vec![1u8; 16 * 1024]);
    for _ in 0..200 {
        r.remote_call(body.clone());
    }
    // The socket never takes a byte: the core must stop reading with a bounded queue.
    let mut rounds = 0;
    loop {
        let read = r.deliver();
        r.collect_work();
        r.run_handlers();
        rounds += 1;
        if !read && r.work.is_empty() {
            break;
        }
        assert!(rounds < 10_000, "no pause");
    }
    assert!(!r.conn.wants_read());
    assert!(!r.conn.wants_commands());
    let q = r.conn.queued_bytes();
    assert!(q >= 256 * 1024, "paused below the mark: {q}");
    assert!(
        q <= 2 * 256 * 1024 + 16 * 17 * 1024,
        "queue grew past its bound: {q}"
    );
    assert!(r.conn.running() <= 16);

    // Now the socket drains: every call is answered exactly once.
    let mut answered = 0;
    for _ in 0..10_000 {
        r.drain_output();
        answered += r.remote_replies();
        r.deliver();
        r.collect_work();
        r.run_handlers();
        if answered == 200 {
            break;
        }
    }
    assert_eq!(answered, 200);
    assert!(r.conn.wants_commands());
}

#[test]
fn the_handler_limit_pauses_reading() {
    let mut r = rig(config(), false);
    for _ in 0..40 {
        r.remote_call(Bytes::from_static(b"x"));
    }
    r.deliver();
    r.collect_work();
    assert_eq!(r.work.len(), 16, "started past the per-session limit");
    assert!(!r.conn.wants_read(), "reads while work waits");
    r.run_handlers();
    r.collect_work();
    assert_eq!(r.work.len(), 16);
    r.run_handlers();
    r.collect_work();
    assert_eq!(r.work.len(), 8);
    r.run_handlers();
    r.collect_work();
    assert!(r.conn.wants_read());
    assert_eq!(r.conn.peer.slots.used(), 0);
}

#[test]
fn the_peer_wide_limit_is_shared() {
    let mut r = rig(
        PeerConfig {
            max_peer_handlers: 3,
            ..config()
        },
        false,
    );
    for _ in 0..5 {
        r.remote_call(Bytes::from_static(b"x"));
    }
    r.deliver();
    r.collect_work();
    assert_eq!(r.work.len(), 3);
    assert!(r.conn.blocked_on_peer());
    r.run_handlers();
    r.collect_work();
    assert_eq!(r.work.len(), 2);
    assert!(!r.conn.blocked_on_peer());
}

#[test]
fn output_that_does_not_move_closes_after_the_write_timeout() {
    let mut r = rig(config(), false);
    r.remote_call(Bytes::from_static(b"x"));
    r.deliver();
    r.collect_work();
    r.run_handlers();
    assert!(r.conn.queued_bytes() > 0);
    let t = r.conn.poll_timeout().expect("a write deadline");
    assert_eq!(t, r.now + Duration::from_secs(5));
    r.now = t;
    r.conn.handle_timeout(r.now);
    r.collect_work();
    let reason = r.conn.close_reason().expect("closed").to_string();
    assert!(reason.contains("write timeout"), "{reason}");
    assert!(r.conn.is_flushed());
}

#[test]
fn written_bytes_restart_the_write_timeout() {
    let mut r = rig(config(), false);
    r.remote_call(Bytes::from(vec![0u8; 1000]));
    r.deliver();
    r.collect_work();
    r.run_handlers();
    let replied = r.now;
    r.now += Duration::from_secs(4);
    r.conn.handle_written(r.now, 10);
    assert_eq!(r.conn.poll_timeout(), Some(r.now + Duration::from_secs(5)));
    r.drain_output();
    // No write deadline once everything is written: only the quiet connection's release.
    assert_eq!(r.conn.poll_timeout(), Some(replied + IDLE_RELEASE));
}

#[test]
fn an_unauthenticated_session_closes_after_the_auth_timeout() {
    let mut r = rig(
        PeerConfig {
            auth_timeout: Duration::from_millis(300),
            ..config()
        },
        true,
    );
    assert_eq!(
        r.conn.poll_timeout(),
        Some(r.now + Duration::from_millis(300))
    );
    r.now += Duration::from_millis(300);
    r.conn.handle_timeout(r.now);
    r.collect_work();
    assert!(r.conn.close_reason().is_some());
    assert!(!r.conn.opened());
}

#[test]
fn a_cancelled_call_is_forgotten_and_its_late_reply_dropped() {
    let mut r = rig(config(), false);
    let deadline = r.now + Duration::from_secs(10);
    let mut rx = r.local_call(Bytes::new(), Some(deadline), 7);
    r.conn.publish_stats();
    assert_eq!(r.conn.handle.stats().calls_pending, 1);
    r.conn.cancel(7);
    r.conn.publish_stats();
    assert_eq!(r.conn.handle.stats().calls_pending, 0);
    // The remote answers anyway: nothing is completed, nothing breaks.
    r.drain_output();
    while let Some(ev) = r.remote.poll_event() {
        if let Event::Call(c) = ev {
            r.remote
                .reply(r.now, c.token, Reply::ok(Bytes::new()))
                .unwrap();
        }
    }
    let bytes = r.remote.poll_transmit().unwrap();
    r.rbuf.extend_from_slice(&bytes);
    r.conn.handle_read(r.now, bytes.len(), &mut r.rbuf);
    r.collect_work();
    assert!(r.conn.close_reason().is_none());
    assert!(matches!(rx.try_recv(), Err(_) | Ok(None)));
}

#[test]
fn a_call_past_its_deadline_is_never_sent() {
    let mut r = rig(config(), false);
    let now = r.now;
    let mut rx = r.local_call(Bytes::new(), Some(now), 1);
    assert_eq!(r.conn.queued_bytes(), 0, "an expired call was written");
    let st = rx.try_recv().unwrap().unwrap().unwrap_err();
    assert_eq!(st.code(), Code::HANDLE_TIMEOUT);
}

#[test]
fn a_connection_gives_its_buffers_back_only_after_a_quiet_spell() {
    let mut r = rig(config(), false);
    let exchange = |r: &mut Rig| {
        r.remote_call(Bytes::from_static(b"ping"));
        assert!(r.deliver());
        r.collect_work();
        r.run_handlers();
        r.collect_work();
        r.drain_output();
        assert_eq!(r.remote_replies(), 1);
    };
    exchange(&mut r);
    assert!(r.conn.is_quiet());
    // Quiet now, but only for a moment: nothing is released between two bursts.
    assert!(!r.conn.take_idle_release());
    let due = r.now + IDLE_RELEASE;
    assert_eq!(r.conn.poll_timeout(), Some(due));
    r.now += IDLE_RELEASE / 2;
    exchange(&mut r);
    // The second burst moved the mark.
    assert_eq!(r.conn.poll_timeout(), Some(r.now + IDLE_RELEASE));
    r.now += IDLE_RELEASE;
    r.conn.handle_timeout(r.now);
    assert!(r.conn.take_idle_release(), "quiet for the whole spell");
    assert!(!r.conn.take_idle_release(), "once per quiet spell");
    assert_eq!(r.conn.poll_timeout(), None, "no timer while it stays idle");
    // The next exchange works with the released buffers, and a new spell starts.
    r.conn.release_idle_buffers();
    exchange(&mut r);
    assert_eq!(r.conn.poll_timeout(), Some(r.now + IDLE_RELEASE));
}

/// The rig calls the remote, which has no such route and answers 404; the reply is read
/// and dispatched. Returns the caller's receiver.
fn answered_call(r: &mut Rig) -> oneshot::Receiver<Result<Message, Status>> {
    let rx = r.local_call(Bytes::new(), None, 3);
    r.drain_output();
    let bytes = r.remote.poll_transmit().unwrap();
    r.rbuf.extend_from_slice(&bytes);
    r.conn.handle_read(r.now, bytes.len(), &mut r.rbuf);
    r.collect_work();
    rx
}

#[test]
fn a_call_result_reaches_its_caller_when_the_turn_delivers() {
    let mut r = rig(config(), false);
    let mut rx = answered_call(&mut r);
    assert!(
        matches!(rx.try_recv(), Ok(None)),
        "delivered before the turn's end"
    );
    r.conn.deliver();
    let st = rx.try_recv().unwrap().unwrap().unwrap_err();
    assert_eq!(st.code(), Code::NOT_FOUND, "the remote's answer");
}

#[test]
fn results_not_yet_delivered_are_sent_when_the_core_is_dropped() {
    let mut r = rig(config(), false);
    let mut rx = answered_call(&mut r);
    drop(r);
    let st = rx.try_recv().unwrap().unwrap().unwrap_err();
    assert_eq!(st.code(), Code::NOT_FOUND, "the remote's answer");
}

/// A rig whose side has queued one call of `marks` times the output mark (its own bytes),
/// with the receiver of that call's result.
fn rig_with_own_call(marks: usize) -> (Rig, oneshot::Receiver<Result<Message, Status>>) {
    let mut r = rig(config(), false);
    let rx = r.local_call(
        Bytes::from(vec![1u8; marks * config().max_queued_bytes]),
        None,
        1,
    );
    r.collect_work();
    (r, rx)
}

#[test]
fn a_caller_keeps_reading_while_its_own_frame_exceeds_twice_the_mark() {
    // A 16 MiB call on a 4 MiB mark is one frame larger than 2M: were it counted, this side
    // would stop reading the replies the peer needs to get rid of to read the call.
    let (mut r, _rx) = rig_with_own_call(4);
    assert!(r.conn.queued_bytes() > 2 * config().max_queued_bytes);
    assert!(
        r.conn.wants_read(),
        "reading paused by the caller's own call"
    );
    // Part of it leaves: still its own bytes, still reading.
    let n = r.conn.transmit().len() / 2;
    r.conn.handle_written(r.now, n);
    assert!(r.conn.wants_read());
}

#[test]
fn own_output_over_the_mark_stops_commands_not_handlers() {
    // Two peers that both push more than the other reads: were this side's own bytes to stop
    // its handlers, it would stop reading what the other sends, and neither would drain.
    let (mut r, _rx) = rig_with_own_call(2);
    assert!(r.conn.queued_bytes() >= config().max_queued_bytes);
    assert!(!r.conn.wants_commands(), "commands stop at the mark");
    r.remote_call(Bytes::from_static(b"x"));
    assert!(r.deliver(), "reads the remote's call");
    r.collect_work();
    assert_eq!(r.work.len(), 1, "the remote's call starts its handler");
    r.run_handlers();
    r.collect_work();
    assert!(r.conn.wants_read(), "and reading goes on");
}

#[test]
fn replies_beyond_twice_the_mark_still_pause_reading() {
    let mut r = rig(config(), false);
    let big = Bytes::from(vec![2u8; 3 * config().max_queued_bytes]);
    r.remote_call(big);
    assert!(r.deliver());
    r.collect_work();
    r.run_handlers();
    assert!(r.conn.queued_bytes() > 2 * config().max_queued_bytes);
    r.collect_work();
    assert!(
        !r.conn.wants_read(),
        "the echo's reply is not this side's own output"
    );
}

/// The rig makes `n` calls the remote answers (404), read and dispatched.
fn answered_calls(r: &mut Rig, n: u64) {
    for key in 1..=n {
        drop(r.local_call(Bytes::new(), None, key));
    }
    r.drain_output();
    let bytes = r.remote.poll_transmit().unwrap();
    r.rbuf.extend_from_slice(&bytes);
    r.conn.handle_read(r.now, bytes.len(), &mut r.rbuf);
    r.collect_work();
    r.conn.deliver();
    r.conn.publish_stats();
}

#[test]
fn answered_callers_are_awaited_once_while_other_connections_call() {
    use std::sync::atomic::Ordering;
    let mut r = rig(config(), false);
    // Another connection of the peer has calls in flight.
    r.conn.peer.counters.calling.fetch_add(1, Ordering::Relaxed);
    answered_calls(&mut r, 3);
    assert!(
        r.conn.awaits_callers(1),
        "1 of 3 answered callers called again"
    );
    assert!(
        !r.conn.awaits_callers(1),
        "the same batch is not awaited twice"
    );

    answered_calls(&mut r, 3);
    assert!(
        !r.conn.awaits_callers(3),
        "every answered caller called again"
    );
    answered_calls(&mut r, 3);
    assert!(!r.conn.awaits_callers(0), "woken by something else");
}

#[test]
fn a_lone_busy_connection_does_not_await_its_callers() {
    use std::sync::atomic::Ordering;
    let mut r = rig(config(), false);
    answered_calls(&mut r, 3);
    // This connection's own call in flight is all the peer has.
    drop(r.local_call(Bytes::new(), None, 9));
    r.conn.publish_stats();
    assert_eq!(r.conn.peer.counters.calling.load(Ordering::Relaxed), 1);
    assert!(!r.conn.awaits_callers(1));
}

#[test]
fn calls_held_for_the_handshake_count_against_the_mark() {
    // Until the peer authenticates, this side's calls wait inside the session; were they not
    // counted, a caller could queue there without bound.
    let mut r = rig(config(), true);
    let mark = config().max_queued_bytes;
    let mut made = 0;
    while r.conn.wants_commands() {
        let _rx = r.local_call(Bytes::from(vec![7u8; 16 * 1024]), None, made + 1);
        made += 1;
        assert!(
            made < 1_000,
            "commands never stopped: {} bytes held",
            r.conn.queued_bytes()
        );
    }
    assert!(!r.conn.opened());
    assert!(
        r.conn.transmit().is_empty(),
        "nothing goes out before the handshake"
    );
    let held = r.conn.queued_bytes();
    assert!(held >= mark && held < mark + 17 * 1024, "{held} bytes held");
}

mod random;

/// Makes `n` calls the remote answers (404, it has no such route), hands all the answers
/// to the core in one read, and returns how many callers each turn completed.
fn callers_completed_per_turn(n: usize) -> Vec<usize> {
    let mut r = rig(
        PeerConfig {
            max_handlers: 16,
            ..PeerConfig::default()
        },
        false,
    );
    let mut rxs: Vec<_> = (0..n)
        .map(|i| r.local_call(Bytes::new(), None, i as u64 + 1))
        .collect();
    r.collect_work();
    r.drain_output();
    let mut read = 0;
    while let Some(piece) = r.remote.poll_transmit() {
        r.rbuf.extend_from_slice(&piece);
        read += piece.len();
    }
    r.conn.handle_read(r.now, read, &mut r.rbuf);
    let mut turns = Vec::new();
    let mut done = 0;
    while done < n {
        assert!(turns.len() < n, "turns completed no caller: {turns:?}");
        r.collect_work();
        r.conn.deliver();
        let before = done;
        rxs.retain_mut(|rx| match rx.try_recv() {
            Ok(Some(res)) => {
                assert_eq!(res.unwrap_err().code(), Code::NOT_FOUND);
                done += 1;
                false
            }
            _ => true,
        });
        turns.push(done - before);
    }
    turns
}

#[test]
fn a_turn_completes_at_most_its_budget_of_callers() {
    // Few calls in flight: 16 callers a turn, so that they queue their next calls sooner.
    assert_eq!(callers_completed_per_turn(40), vec![16, 16, 8]);
    // Many in flight: 32 a turn until no more than 256 are left (the budget is chosen as
    // the turn begins), then 16.
    let mut expected = vec![WAKE_BUDGET; 2];
    expected.extend(std::iter::repeat_n(
        WAKE_BUDGET_FEW,
        FEW_IN_FLIGHT / WAKE_BUDGET_FEW,
    ));
    assert_eq!(callers_completed_per_turn(FEW_IN_FLIGHT + 64), expected);
}
