//! The connection core under random schedules: the remote peer calls and pushes, this side
//! calls and cancels, handlers finish in any order (some with errors), the socket reads and
//! writes arbitrary pieces or stalls while the remote floods, time jumps, and now and then
//! garbage arrives, the remote half-closes or this side closes. The limits (output mark,
//! handlers, message size) and the roles (accepted, with or without an auth checker, or
//! dialed) differ from seed to seed. Each seed is one deterministic schedule;
//! a failure names its seed and the last steps.
//!
//! What must hold at every step: no panic, the handlers running stay within the limit and hold
//! exactly their slots, the bytes queued for the socket stay within their bound, and nothing
//! is answered twice. At the end: every call of this side completed with a status (none
//! dropped unanswered); every reply handed to the open connection reached the remote unless a
//! write timeout dropped it; and unless garbage, a close by this side, a write timeout or
//! handlers outlasting the linger after a half-close cut it short, every call of the remote
//! was answered by its handler, a half-close included.

use super::*;

/// A small deterministic generator (splitmix64): the schedules must not change with a
/// dependency's version.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A body size: mostly small, sometimes a few KiB, rarely up to 64 KiB.
    fn body_len(&mut self) -> usize {
        match self.below(100) {
            0..=69 => self.below(64) as usize,
            70..=94 => self.below(4096) as usize,
            _ => self.below(64 * 1024) as usize,
        }
    }
}

/// One schedule's state beside the rig.
struct Run {
    r: Rig,
    /// This side dialed; the remote authenticates first.
    dialed: bool,
    auth: bool,
    /// The output mark and the handlers per connection of this schedule.
    limits: (usize, usize),
    /// How long handlers may go on after the remote's EOF (the shutdown timeout).
    linger: Duration,
    /// When the remote half-closed, and when the connection closed.
    half_closed_at: Option<Instant>,
    closed_at: Option<Instant>,
    rng: Rng,
    /// Bytes the remote sent that this side has not read yet (the socket's receive buffer).
    wire: BytesMut,
    /// This side's calls still to be checked, by key.
    local: Vec<(u64, oneshot::Receiver<Result<Message, Status>>)>,
    next_key: u64,
    /// The remote's calls sent, and completed (by a reply or the session's end).
    remote_calls: usize,
    remote_done: usize,
    /// The remote's calls a handler of this side answered; that this side answered at all.
    remote_answered: usize,
    remote_replies: usize,
    /// The remote stopped sending (this side saw its EOF).
    remote_closed: bool,
    /// The stream was corrupted or a side closed: the remote's calls may go unanswered.
    broken: bool,
    /// The remote closed its session (not only its write side).
    remote_gone: bool,
    /// The auth checker refused the remote.
    auth_refused: bool,
    /// A write timeout dropped what was queued.
    write_timed_out: bool,
    /// The remote shut its write side; this side has not read the EOF yet.
    eof_pending: bool,
    /// Garbage arrived; this side closed; this side read the remote's EOF.
    garbled: bool,
    closed_here: bool,
    half_closed: bool,
    /// Reads done and call handlers finished (for the failure message).
    reads: usize,
    replied: usize,
    /// Replies handed to the connection while it was open: each must reach the remote unless
    /// writing failed.
    replied_open: usize,
    /// Steps taken, and the step until which the socket takes nothing.
    steps: usize,
    stalled_until: usize,
    /// The last steps, for the failure message.
    trace: VecDeque<String>,
}

/// The largest body a schedule sends, and a frame's overhead beyond its body.
const MAX_BODY: usize = 64 * 1024;
const FRAME_OVERHEAD: usize = 256;
/// How many of the last steps a failure shows.
const TRACE_STEPS: usize = 60;

impl Run {
    fn new(seed: u64) -> Run {
        let mut rng = Rng(seed);
        // Flow control that engages at once, often, or rarely; handler limits that bite.
        let marks = [256 * 1024, 16 * 1024, 2 * 1024];
        let handlers = [16, 4, 1];
        // Sometimes below the largest bodies sent: those frames are refused.
        let max_message_size = if rng.chance(25) {
            16 * 1024
        } else {
            PeerConfig::default().max_message_size
        };
        // Sometimes the remote must authenticate first (and may be refused, or be too slow).
        let auth = rng.chance(30);
        let config = PeerConfig {
            auth_timeout: Duration::from_millis(500 + rng.below(3000)),
            max_message_size,
            max_queued_bytes: marks[rng.below(3) as usize],
            max_handlers: handlers[rng.below(3) as usize],
            ..config()
        };
        // Or this side dialed (the remote accepted).
        let dialed = !auth && rng.chance(30);
        let mut r = rig_as(config.clone(), auth, dialed);
        // A dialed session that redials keeps its commands for the next connection.
        r.conn.hold_commands_on_goaway(dialed && rng.chance(50));
        // The remote serves `/remote`, which this side calls.
        let mut router = erpc_proto::router::Router::new(erpc_proto::router::Mapper::Http);
        router.add_call("/remote").expect("a new route");
        let mut remote_cfg = if dialed {
            SessionConfig::acceptor()
        } else {
            SessionConfig::dialer()
        };
        remote_cfg.router = Arc::new(router);
        if auth {
            remote_cfg.auth = erpc_proto::session::Auth::Bearer {
                codec: CodecId::PLAIN,
                info: Bytes::from_static(b"token"),
                meta: erpc_proto::Meta::default(),
            };
        }
        r.remote = Core::new(remote_cfg, SessionInfo::default(), r.now);
        Run {
            dialed,
            auth,
            limits: (config.max_queued_bytes, config.max_handlers),
            linger: config.shutdown_timeout,
            r,
            rng,
            wire: BytesMut::new(),
            local: Vec::new(),
            next_key: 1,
            remote_calls: 0,
            remote_done: 0,
            remote_answered: 0,
            remote_replies: 0,
            remote_closed: false,
            broken: false,
            remote_gone: false,
            auth_refused: false,
            write_timed_out: false,
            eof_pending: false,
            garbled: false,
            closed_here: false,
            half_closed: false,
            reads: 0,
            replied: 0,
            replied_open: 0,
            steps: 0,
            stalled_until: 0,
            half_closed_at: None,
            closed_at: None,
            trace: VecDeque::new(),
        }
    }

    fn note(&mut self, step: String) {
        if self.trace.len() == TRACE_STEPS {
            self.trace.pop_front();
        }
        let state = format!(
            " [read {} cmds {} queued {} closed {}]",
            self.r.conn.wants_read(),
            self.r.conn.wants_commands(),
            self.r.conn.queued_bytes(),
            self.r.conn.close_reason().is_some()
        );
        self.trace.push_back(step + &state);
    }

    fn body(&mut self) -> Bytes {
        let len = if self.steps < self.stalled_until && self.rng.chance(50) {
            // A flood is mostly large frames.
            16 * 1024 + self.rng.below(48 * 1024) as usize
        } else {
            self.rng.body_len()
        };
        Bytes::from(vec![self.rng.next() as u8; len])
    }

    /// One random step.
    fn step(&mut self) {
        self.steps += 1;
        if self.steps >= self.stalled_until && self.rng.chance(1) {
            // The remote stops reading for a while: the socket takes nothing.
            self.stalled_until = self.steps + 50 + self.rng.below(400) as usize;
            self.note(format!(
                "the socket stalls until step {}",
                self.stalled_until
            ));
        }
        // A remote that stops reading often goes on sending: it floods.
        let flood = if self.steps < self.stalled_until {
            30
        } else {
            0
        };
        match self.rng.below(100 + flood).saturating_sub(flood) {
            0..=14 if !self.remote_closed => {
                let body = self.body();
                self.note(format!("remote calls /echo ({} bytes)", body.len()));
                let mut m = Message::new(MessageType::CALL, 0, "/echo");
                m.body_codec = CodecId::PLAIN;
                m.body = body;
                if self
                    .r
                    .remote
                    .call(self.r.now, m, CallOptions::no_timeout())
                    .is_ok()
                {
                    self.remote_calls += 1;
                }
            }
            15..=19 if !self.remote_closed => {
                let route = if self.rng.chance(50) {
                    "/echo"
                } else {
                    "/nowhere"
                };
                self.note(format!("remote pushes {route}"));
                let mut m = Message::new(MessageType::PUSH, 0, route);
                m.body_codec = CodecId::PLAIN;
                m.body = self.body();
                let _ = self.r.remote.push(self.r.now, m);
            }
            20..=34 => self.read(),
            35..=44 => self.collect(),
            45..=56 => self.finish_one(),
            57..=69 if self.steps >= self.stalled_until => self.write(),
            70..=74 => self.remote_events(),
            75..=84 => self.local_call(),
            85..=86 => self.cancel_one(),
            87..=94 => self.advance(),
            95 if self.rng.chance(5) => self.garbage(),
            96 if self.rng.chance(50) => self.half_close(),
            97 if self.rng.chance(3) => {
                let linger = self
                    .rng
                    .chance(50)
                    .then(|| Duration::from_millis(self.rng.below(3000)));
                self.note(format!("this side closes (linger {linger:?})"));
                self.broken = true;
                self.closed_here = true;
                self.r.conn.close(self.r.now, linger);
            }
            98 if self.rng.chance(3) => self.remote_closes(),
            _ => self.collect(),
        }
    }

    /// The socket delivers some of what the remote sent, when the core reads.
    fn read(&mut self) {
        while let Some(piece) = self.r.remote.poll_transmit() {
            if !self.remote_closed {
                self.wire.extend_from_slice(&piece);
            }
        }
        if !self.r.conn.wants_read() || self.r.conn.close_reason().is_some() {
            return;
        }
        if self.wire.is_empty() {
            if self.eof_pending {
                // Everything the remote sent before its FIN was read: now the EOF.
                self.note("reads the remote's EOF".into());
                self.eof_pending = false;
                self.half_closed = true;
                self.half_closed_at = Some(self.r.now);
                self.r.conn.handle_eof(self.r.now);
            }
            return;
        }
        let n = if self.rng.chance(50) {
            self.wire.len()
        } else {
            1 + self.rng.below(self.wire.len() as u64) as usize
        };
        self.note(format!("reads {n} of {} bytes", self.wire.len()));
        self.reads += 1;
        let piece = self.wire.split_to(n);
        self.r.rbuf.extend_from_slice(&piece);
        self.r.conn.handle_read(self.r.now, n, &mut self.r.rbuf);
    }

    fn collect(&mut self) {
        self.note("turn: takes work".into());
        self.turn();
    }

    /// A turn of the driver: the work that may start, then the callers' results.
    fn turn(&mut self) {
        self.r.collect_work();
        self.r.conn.deliver();
    }

    /// A running handler finishes: any one of them, mostly with its answer, sometimes with an
    /// error.
    fn finish_one(&mut self) {
        if self.r.work.is_empty() {
            return;
        }
        let i = self.rng.below(self.r.work.len() as u64) as usize;
        let w = self.r.work.remove(i).expect("in range");
        self.r.conn.peer.slots.release();
        let done = match w {
            Work::Call { msg, done, .. } => {
                let reply = if self.rng.chance(80) {
                    Reply::ok(msg.body)
                } else {
                    Reply::error(Status::with_cause(
                        Code::INTERNAL_SERVER_ERROR,
                        "random failure",
                    ))
                };
                self.replied += 1;
                // (The session may have closed before the connection heard of it.)
                if !self.r.conn.core.is_closed() {
                    self.replied_open += 1;
                }
                self.note(format!("handler {i} replies"));
                Finished::Reply(done, reply, FirstStep::Unmeasured)
            }
            Work::Push { route, .. } => {
                self.note(format!("push handler {i} ends"));
                Finished::Push(route, FirstStep::Unmeasured)
            }
            Work::Auth { .. } => {
                let verdict = if self.rng.chance(90) {
                    Reply::ok(Bytes::from_static(b"ok"))
                } else {
                    self.auth_refused = true;
                    Reply::error(Status::from_code(Code::UNAUTHORIZED))
                };
                self.note(format!("auth checker answers {:?}", verdict.result.is_ok()));
                Finished::AuthVerdict(verdict)
            }
        };
        self.r.conn.handler_done(self.r.now, done);
    }

    /// The socket takes part of what is queued; the remote reads it.
    fn write(&mut self) {
        let len = self.r.conn.transmit().len();
        if len == 0 {
            return;
        }
        let n = if self.rng.chance(50) {
            len
        } else {
            1 + self.rng.below(len as u64) as usize
        };
        self.note(format!("writes {n} of {len} bytes"));
        let out = self.r.conn.transmit()[..n].to_vec();
        self.r.conn.handle_written(self.r.now, n);
        self.r.remote_rbuf.extend_from_slice(&out);
        self.r
            .remote
            .handle_input(self.r.now, &mut self.r.remote_rbuf);
    }

    /// The remote answers this side's calls and counts the answers to its own.
    fn remote_events(&mut self) {
        while let Some(ev) = self.r.remote.poll_event() {
            match ev {
                Event::Call(c) => {
                    let body = c.message.body.clone();
                    let _ = self.r.remote.reply(self.r.now, c.token, Reply::ok(body));
                }
                Event::CallDone(d) => {
                    self.remote_done += 1;
                    let by_handler = match &d.result {
                        Ok(_) => true,
                        Err(st) => st.cause() == Some("random failure"),
                    };
                    self.remote_answered += usize::from(by_handler);
                    // Anything but the remote's own 102 at the end came from this side.
                    let from_here = match &d.result {
                        Ok(_) => true,
                        Err(st) => st.code() != Code::CONN_CLOSED,
                    };
                    self.remote_replies += usize::from(from_here);
                    assert!(
                        self.remote_done <= self.remote_calls,
                        "a remote call was answered twice"
                    );
                }
                _ => {}
            }
        }
    }

    /// This side calls the remote, when its flow control takes commands (as the driver does).
    fn local_call(&mut self) {
        if !self.r.conn.wants_commands() || self.r.conn.close_reason().is_some() {
            return;
        }
        let deadline = match self.rng.below(3) {
            0 => None,
            1 => Some(self.r.now + Duration::from_millis(self.rng.below(5000))),
            _ => Some(self.r.now),
        };
        let key = self.next_key;
        self.next_key += 1;
        let body = self.body();
        self.note(format!(
            "calls the remote, key {key} ({} bytes, deadline {deadline:?})",
            body.len()
        ));
        let rx = self.r.local_call(body, deadline, key);
        self.local.push((key, rx));
    }

    /// A caller drops its call.
    fn cancel_one(&mut self) {
        if self.local.is_empty() {
            return;
        }
        let i = self.rng.below(self.local.len() as u64) as usize;
        let (key, _rx) = self.local.swap_remove(i);
        self.note(format!("cancels key {key}"));
        self.r.conn.cancel(key);
    }

    /// Time passes; the core's deadline is served when it has come.
    fn advance(&mut self) {
        let ms = if self.rng.chance(3) {
            self.rng.below(10_000)
        } else {
            self.rng.below(50)
        };
        self.r.now += Duration::from_millis(ms);
        self.note(format!("{ms} ms pass"));
        self.serve_timeout();
    }

    /// Serves the core's deadline when it has come; notes a write timeout (it drops what was
    /// queued).
    fn serve_timeout(&mut self) {
        if self.r.conn.poll_timeout().is_some_and(|t| t <= self.r.now) {
            self.note("timeout served".into());
            let queued = self.r.conn.queued_bytes();
            self.r.conn.handle_timeout(self.r.now);
            if queued > 0 && self.r.conn.queued_bytes() == 0 {
                self.note("write timeout".into());
                self.write_timed_out = true;
            }
        }
    }

    /// Bytes that are no frame arrive (before anything the remote still had in flight).
    fn garbage(&mut self) {
        if self.r.conn.close_reason().is_some() || self.eof_pending {
            return;
        }
        let n = 1 + self.rng.below(64) as usize;
        let mut bytes: Vec<u8> = (0..n).map(|_| self.rng.next() as u8).collect();
        if self.rng.chance(50) {
            // A header that announces an absurd length.
            bytes[..4.min(n)].fill(0xff);
        }
        self.note(format!("garbage: {bytes:02x?}"));
        self.broken = true;
        self.garbled = true;
        self.remote_closed = true;
        self.r.rbuf.extend_from_slice(&bytes);
        self.r.conn.handle_read(self.r.now, n, &mut self.r.rbuf);
    }

    /// The remote shuts down its write side: what it sent so far is its last (this side
    /// reads the EOF after it).
    fn half_close(&mut self) {
        if self.remote_closed {
            return;
        }
        while let Some(piece) = self.r.remote.poll_transmit() {
            self.wire.extend_from_slice(&piece);
        }
        if !self.r.remote.is_open() {
            // Calls it held back for the handshake never leave: they may go unanswered.
            self.broken = true;
        }
        self.note("remote half-closes".into());
        self.remote_closed = true;
        self.eof_pending = true;
    }

    /// The remote closes its session gracefully (its goaway notice, then its end of the
    /// stream once what it sent was read). A dialed side that would redial holds its
    /// commands from then on.
    fn remote_closes(&mut self) {
        if self.remote_closed {
            return;
        }
        let linger = Duration::from_millis(self.rng.below(2000));
        self.note(format!("remote closes (linger {linger:?})"));
        self.broken = true;
        self.remote_gone = true;
        self.r.remote.close(self.r.now, Some(linger));
        self.half_close();
    }

    /// What must hold after every step.
    fn check(&mut self) {
        if self.closed_at.is_none() && self.r.conn.close_reason().is_some() {
            self.closed_at = Some(self.r.now);
        }
        let (mark, max_handlers) = self.limits;
        let running = self.r.conn.running();
        assert!(running <= max_handlers, "{running} handlers running");
        assert_eq!(
            running,
            self.r.work.len(),
            "handlers running vs. work handed out"
        );
        assert_eq!(
            self.r.conn.peer.slots.used(),
            running,
            "peer-wide slots vs. handlers running"
        );
        let bound = 2 * mark + (max_handlers + 1) * (MAX_BODY + FRAME_OVERHEAD);
        let q = self.r.conn.queued_bytes();
        let to_write = self.r.conn.out.len();
        assert_eq!(
            to_write == 0,
            self.r.conn.transmit().is_empty(),
            "{to_write} bytes to write, but nothing handed out"
        );
        assert!(q <= bound, "{q} bytes queued, bound {bound}");
    }

    /// Whether the connection ended for a reason other than the remote's clean EOF.
    fn ended_badly(&self) -> bool {
        self.r
            .conn
            .close_reason()
            .is_some_and(|r| !matches!(r, CloseReason::PeerClosed))
    }

    /// Runs what is in flight to its end without new input, then closes.
    fn settle(&mut self, tally: &mut Tally) {
        for _ in 0..2_000 {
            self.read();
            self.turn();
            while !self.r.work.is_empty() {
                self.finish_one();
            }
            self.r.drain_output();
            self.remote_events();
            self.check();
            let remote_quiet = self.remote_done == self.remote_calls;
            if self.r.conn.close_reason().is_some() || (self.r.conn.is_quiet() && remote_quiet) {
                break;
            }
            self.r.now += Duration::from_millis(100);
            self.serve_timeout();
        }
        // Garbage, a close by this side, a write timeout or handlers that outlast the linger
        // after a half-close may leave the remote's calls unanswered; nothing else may.
        let linger_over = match (self.half_closed_at, self.closed_at) {
            (Some(eof), Some(closed)) => closed >= eof + self.linger,
            _ => false,
        };
        let clean = !self.broken
            && !self.write_timed_out
            && !self.auth_refused
            && !self.ended_badly()
            && !linger_over;
        self.r.conn.close(self.r.now, None);
        self.turn();
        while !self.r.work.is_empty() {
            self.finish_one();
        }
        self.turn();
        // The socket takes the rest and closes: the remote completes what it still waits for.
        self.r.drain_output();
        self.r.conn.finish();
        self.r.conn.deliver();
        self.remote_events();
        let (answered, replies) = (self.remote_answered, self.remote_replies);
        self.r.remote.handle_eof(self.r.now);
        self.remote_events();
        assert_eq!(
            self.remote_done, self.remote_calls,
            "the remote's calls did not all complete when the connection closed"
        );
        if !self.write_timed_out {
            assert!(
                replies >= self.replied_open,
                "replies handed to the open connection did not all reach the remote: \
                 {replies} answers for {} replies",
                self.replied_open
            );
        }
        if clean {
            assert_eq!(
                answered,
                self.remote_calls,
                "the remote's calls were not all answered by a handler ({} reads, {} replies, \
                 closed: {:?})",
                self.reads,
                self.replied,
                self.closed_at
                    .map(|_| self.r.conn.close_reason().map(|r| r.to_string()))
            );
        }
        for (key, mut rx) in std::mem::take(&mut self.local) {
            match rx.try_recv() {
                Ok(Some(Ok(_))) => tally.calls_ok += 1,
                Ok(Some(Err(st))) if st.code() == Code::HANDLE_TIMEOUT => {
                    tally.calls_timed_out += 1
                }
                Ok(Some(Err(st))) if st.code() == Code::CONN_CLOSED => tally.calls_conn_closed += 1,
                Ok(Some(Err(_))) => tally.calls_failed_otherwise += 1,
                Ok(None) => panic!("call {key} never completed"),
                Err(_) => panic!("call {key} was dropped without a status"),
            }
        }
    }
}

/// What the schedules reached, summed over the seeds: the test fails if a path it means to
/// exercise was never taken (a schedule generator that drifted would pass vacuously).
#[derive(Default, Debug)]
struct Tally {
    /// Schedules in which this side dialed, and in which the remote had to authenticate.
    dialed: usize,
    authenticated: usize,
    /// The highest share of its bound the output queue reached, in thousandths.
    peak_permille: usize,
    /// Steps at which the output mark held the commands back.
    commands_held: usize,
    /// Steps at which reading paused while the connection was open.
    reading_paused: usize,
    /// Schedules closed by garbage, by a write timeout, by this side; half-closed ones.
    garbage_closes: usize,
    write_timeouts: usize,
    local_closes: usize,
    half_closes: usize,
    remote_closes: usize,
    /// This side's calls that completed with a reply, with 408, with 102.
    calls_ok: usize,
    calls_timed_out: usize,
    calls_conn_closed: usize,
    calls_failed_otherwise: usize,
    /// The remote's calls answered.
    remote_answered: usize,
}

impl Run {
    fn count_step(&self, t: &mut Tally) {
        let (mark, max_handlers) = self.limits;
        let bound = 2 * mark + (max_handlers + 1) * (MAX_BODY + FRAME_OVERHEAD);
        t.peak_permille = t
            .peak_permille
            .max(self.r.conn.queued_bytes() * 1000 / bound);
        if self.r.conn.close_reason().is_none() {
            t.commands_held += usize::from(!self.r.conn.wants_commands());
            t.reading_paused += usize::from(!self.r.conn.wants_read());
        }
    }
}

fn run(seed: u64, steps: usize, tally: &mut Tally) {
    let mut run = Run::new(seed);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for _ in 0..steps {
            run.step();
            run.check();
            run.count_step(tally);
        }
        run.settle(tally);
    }));
    match outcome {
        Ok(()) => {
            tally.dialed += usize::from(run.dialed);
            tally.authenticated += usize::from(run.auth);
            tally.write_timeouts += usize::from(run.write_timed_out);
            tally.garbage_closes += usize::from(run.garbled);
            tally.local_closes += usize::from(run.closed_here);
            tally.half_closes += usize::from(run.half_closed);
            tally.remote_closes += usize::from(run.remote_gone);
            tally.remote_answered += run.remote_answered;
        }
        Err(e) => {
            let what = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let trace: Vec<&String> = run.trace.iter().collect();
            panic!("seed {seed}: {what}\nlast steps:\n{trace:#?}");
        }
    }
}

/// A number from the environment, or `default`.
fn knob<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// 300 schedules of 400 steps each (well under a second). A longer hunt:
/// `ERPC_RANDOM_SEEDS=20000 ERPC_RANDOM_STEPS=1500 cargo test --release -p erpc-peer --lib
/// conn::tests::random`; one seed again: `ERPC_RANDOM_SEED=53`.
#[test]
fn random_schedules_keep_every_bound_and_answer_every_call() {
    let seeds = match std::env::var("ERPC_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        Some(one) => one..one + 1,
        None => 0..knob("ERPC_RANDOM_SEEDS", 300u64),
    };
    let steps = knob("ERPC_RANDOM_STEPS", 400usize);
    let single = seeds.end - seeds.start == 1;
    let mut tally = Tally::default();
    for seed in seeds {
        run(seed, steps, &mut tally);
    }
    eprintln!("{tally:#?}");
    if single {
        return;
    }
    let reached = [
        ("dialed connections", tally.dialed),
        ("connections with an auth checker", tally.authenticated),
        ("commands held by the mark", tally.commands_held),
        ("reading paused", tally.reading_paused),
        ("garbage", tally.garbage_closes),
        ("write timeouts", tally.write_timeouts),
        ("closes by this side", tally.local_closes),
        ("half-closes", tally.half_closes),
        ("graceful closes by the remote", tally.remote_closes),
        ("calls answered", tally.calls_ok),
        ("calls timed out", tally.calls_timed_out),
        (
            "calls failed by the connection's end",
            tally.calls_conn_closed,
        ),
        ("remote calls answered", tally.remote_answered),
    ];
    for (what, n) in reached {
        assert!(n > 0, "no schedule reached: {what} ({tally:?})");
    }
}
