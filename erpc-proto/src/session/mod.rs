//! [`Session`]: the sans-IO state machine of one connection, the same type on both sides.
//!
//! # Driving a session
//!
//! * Inputs: [`handle_input`](Session::handle_input) with the bytes read (the session splits
//!   whole frames off the buffer and leaves a partial one), [`handle_eof`](Session::handle_eof)
//!   when the peer closed its side (a half-close: replies of handlers still running may still
//!   be sent), [`handle_timeout`](Session::handle_timeout) when the time from
//!   [`poll_timeout`](Session::poll_timeout) has come.
//! * Commands: [`call`](Session::call), [`push`](Session::push), [`reply`](Session::reply),
//!   [`close`](Session::close), [`accept_auth`](Session::accept_auth).
//! * Outputs: [`poll_transmit`](Session::poll_transmit) (every byte queued, for one write),
//!   [`poll_event`](Session::poll_event), [`poll_timeout`](Session::poll_timeout).
//!
//! The polls are independent: call any of them at any time. A driver loop reads, feeds
//! `handle_input`, drains `poll_event` (running handlers, completing callers), writes what
//! `poll_transmit` returns, and sleeps until the next read or `poll_timeout`.
//!
//! Every state-changing method takes `now`; the session never reads a clock.
//!
//! # Timers
//!
//! The session keeps one timer per pending outgoing call with a deadline and per incoming call
//! with a handler budget; a timer goes away with its call (reply, cancel, close), so timer
//! memory is proportional to what is pending and [`poll_timeout`](Session::poll_timeout)
//! reports only live deadlines. Durations that would put a deadline past what [`Instant`] can
//! represent (`Duration::MAX`, say) mean "never"; heartbeat rates, from the configuration or
//! from the wire, are clamped to [`MAX_HEARTBEAT_RATE`]. Nothing read from the wire or set
//! in the configuration makes the session's arithmetic panic.

mod config;
mod event;
mod output;
mod timers;

pub use output::LARGE_BODY;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rustc_hash::FxHashMap;
use timers::{Timer, Timers};

pub use config::{Auth, HeartbeatPing, SessionConfig};
pub use event::{CallDone, CallId, CloseReason, Event, IncomingCall, IncomingPush, ReplyToken};

use crate::plugin::{MessageCtx, Plugins, SessionInfo, Swap};
use crate::router::RouteKind;
use crate::xfer::XferPipe;
use crate::{Code, CodecId, Message, MessageType, Meta, ServiceMethod, Status};

/// The service method of heartbeats (always literal, whatever the mapper).
pub const HEARTBEAT_SERVICE_METHOD: &str = "/heartbeat";
/// The meta key carrying the heartbeat rate in seconds.
pub const HEARTBEAT_META_KEY: &str = "hb_";
/// erpc-rs: the service method of the goaway notice a session closing gracefully sends
/// (see [`Session::close`]); answered in kind. Go eRPC has no handler for it and drops it.
pub const GOAWAY_SERVICE_METHOD: &str = "/erpc/goaway";
/// How long an accepting session closing gracefully waits, once idle, for the peer to
/// answer its goaway notice (a Go peer never does) before it closes.
pub const GOAWAY_GRACE: Duration = Duration::from_millis(250);
/// The meta key with which a caller asks for a reply codec (decimal codec byte).
pub const ACCEPT_BODY_CODEC_META_KEY: &str = "X-Accept-Body-Codec";

/// The largest heartbeat rate the session uses (one day): larger rates, whether configured
/// in [`HeartbeatPing`] or announced by a pinger in its `hb_` meta, are lowered to it, so
/// that a pong side still watches a pinger that announced an absurd rate (it closes after
/// two days of silence).
pub const MAX_HEARTBEAT_RATE: Duration = Duration::from_secs(24 * 60 * 60);

/// Timer entries allowed beyond twice the calls that can own one, before the timer heap is
/// compacted.
const TIMER_SLACK: usize = 64;

/// Most messages a session keeps while authentication is undecided.
const MAX_DEFERRED: usize = 1024;

/// Per-call options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CallOptions {
    /// Overrides [`SessionConfig::call_timeout`]: `Some(Some(d))` a deadline of `d`,
    /// `Some(None)` no deadline.
    pub timeout: Option<Option<Duration>>,
}

impl CallOptions {
    /// Options with a deadline of `d` from now.
    pub fn timeout(d: Duration) -> Self {
        CallOptions {
            timeout: Some(Some(d)),
        }
    }

    /// Options with no deadline at all.
    pub fn no_timeout() -> Self {
        CallOptions {
            timeout: Some(None),
        }
    }
}

/// What a call handler answers.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Reply {
    /// OK with the encoded body, or an error status (sent with codec 0 and no body).
    pub result: Result<Bytes, Status>,
    /// Reply meta.
    pub meta: Meta,
    /// The body's codec; `None` uses the negotiated [`IncomingCall::reply_codec`].
    pub body_codec: Option<CodecId>,
    /// Filters appended to the call's pipe (the reply always reuses the call's filters).
    pub extra_xfer: Vec<u8>,
}

impl Reply {
    /// A successful reply with an encoded body.
    pub fn ok(body: impl Into<Bytes>) -> Self {
        Reply {
            result: Ok(body.into()),
            ..Reply::default()
        }
    }

    /// An error reply.
    pub fn error(status: Status) -> Self {
        Reply {
            result: Err(status),
            ..Reply::default()
        }
    }

    /// Sets the body codec.
    pub fn with_codec(mut self, codec: CodecId) -> Self {
        self.body_codec = Some(codec);
        self
    }

    /// Sets the reply meta.
    pub fn with_meta(mut self, meta: Meta) -> Self {
        self.meta = meta;
        self
    }
}

impl Default for Reply {
    fn default() -> Self {
        Reply {
            result: Ok(Bytes::new()),
            meta: Meta::new(),
            body_codec: None,
            extra_xfer: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Dialer waiting for AUTH_REPLY.
    AwaitAuthReply,
    /// Acceptor waiting for the first message (AUTH_CALL).
    AwaitAuthCall,
    /// Acceptor waiting for the application's verdict.
    AwaitAuthVerdict,
    Open,
    /// Graceful close: no new calls, in-flight work finishes until the deadline.
    Closing,
    Closed,
}

#[derive(Debug)]
struct Pending {
    serial: u64,
    service_method: ServiceMethod,
    started: Instant,
    heartbeat: bool,
}

#[derive(Debug)]
struct InFlight {
    seq: i32,
    xfer: XferPipe,
    reply_codec: CodecId,
    plugins: Plugins,
    service_method: ServiceMethod,
    /// What the call's read hooks kept for its reply's write hooks.
    swap: Swap,
}

#[derive(Debug)]
struct PongRecord {
    rate: Duration,
    last: Instant,
}

/// The protocol state machine of one connection. See the [module docs](self).
#[derive(Debug)]
pub struct Session {
    /// Shared: the sessions of a peer's side and protocol have the same one (a config is
    /// a couple of hundred bytes; an idle session costs a few KiB).
    cfg: Arc<SessionConfig>,
    info: SessionInfo,
    state: State,
    started: Instant,
    seq: i32,
    serial: u64,
    pending: FxHashMap<i32, Pending>,
    in_flight: FxHashMap<u64, InFlight>,
    timers: Timers,
    out: output::Output,
    /// Frames queued while authentication is undecided.
    held: BytesMut,
    deferred: VecDeque<Message>,
    events: VecDeque<Event>,
    close_deadline: Option<Instant>,
    /// `started + session_age`, `None` when unlimited (or past what `Instant` represents).
    age_deadline: Option<Instant>,
    /// Set by [`Session::handle_eof`] while handlers still run: why the session will close.
    read_closed: Option<Box<CloseReason>>,
    last_activity: Instant,
    pong: Option<PongRecord>,
    partial_input: bool,
    /// The latest `now` the driver passed in.
    now: Instant,
    /// Until when a graceful close waits for the peer's goaway (set when this side sent
    /// its own first and no answer came yet).
    goaway_wait: Option<Instant>,
    /// Whether the peer sent its goaway notice: it sends no new call after it.
    peer_goaway: bool,
}

impl Session {
    /// A new session, started at `now`. A dialer with [`Auth::Bearer`] queues its AUTH_CALL
    /// at once; an acceptor with [`Auth::Checker`] waits for one. `cfg` is a
    /// [`SessionConfig`] or an `Arc` of one, which many sessions may share.
    pub fn new(cfg: impl Into<Arc<SessionConfig>>, info: SessionInfo, now: Instant) -> Session {
        let cfg = cfg.into();
        let state = match (&cfg.auth, cfg.dialed) {
            (Auth::Bearer { .. }, true) => State::AwaitAuthReply,
            (Auth::Checker, false) => State::AwaitAuthCall,
            _ => State::Open,
        };
        let mut s = Session {
            cfg,
            info,
            state,
            started: now,
            seq: 0,
            serial: 0,
            pending: FxHashMap::default(),
            in_flight: FxHashMap::default(),
            timers: Timers::default(),
            out: output::Output::default(),
            held: BytesMut::new(),
            deferred: VecDeque::new(),
            events: VecDeque::new(),
            close_deadline: None,
            age_deadline: None,
            read_closed: None,
            last_activity: now,
            pong: None,
            partial_input: false,
            now,
            goaway_wait: None,
            peer_goaway: false,
        };
        s.age_deadline = s.cfg.session_age.and_then(|a| now.checked_add(a));
        if let (State::AwaitAuthReply, Auth::Bearer { codec, info, meta }) = (s.state, &s.cfg.auth)
        {
            let mut msg = Message::new(MessageType::AUTH_CALL, 0, ServiceMethod::empty());
            msg.body_codec = if codec.0 == 0 {
                s.cfg.default_body_codec
            } else {
                *codec
            };
            msg.body = info.clone();
            msg.meta = meta.clone();
            msg.seq = s.next_seq();
            if let Err(e) = s.cfg.protocol.encode(&msg, &s.cfg.wire, s.out.tail()) {
                let st = Status::with_cause(Code::WRITE_FAILED, e.to_string());
                s.finish(CloseReason::AuthFailed(st));
            }
        }
        s
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.cfg
    }

    /// What plugins see of this session.
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    /// Replaces the session info (after the application changed the id, say).
    pub fn set_info(&mut self, info: SessionInfo) {
        self.info = info;
    }

    /// Whether the session is open for new calls and pushes (authenticated, not closing, the
    /// peer has not closed its side).
    pub fn is_open(&self) -> bool {
        self.state == State::Open && self.read_closed.is_none()
    }

    /// Whether the peer closed its side of the connection ([`handle_eof`](Session::handle_eof)
    /// was called) or the session closed: no more input is processed, and the driver can stop
    /// reading. The session may still have replies to send (handlers that were running at
    /// the EOF) until [`Event::Closed`].
    pub fn is_read_closed(&self) -> bool {
        self.read_closed.is_some() || self.state == State::Closed
    }

    /// The bytes queued for the peer: what [`poll_transmit`](Session::poll_transmit) or
    /// [`poll_transmit_into`](Session::poll_transmit_into) would hand out now. Frames held back
    /// while authentication is undecided are not counted until the handshake succeeds.
    ///
    /// It grows with every command that writes a frame (`call`, `push`, `reply`,
    /// `accept_auth`), with inputs the session answers by itself (a heartbeat pong, a 404, a
    /// 408 when a handler budget passes in `handle_timeout`, a heartbeat ping), and when a
    /// successful handshake releases the held frames; it drops to zero when the output is
    /// polled. Drivers use it for flow control (stop reading above a high-water mark).
    pub fn queued_bytes(&self) -> usize {
        self.out.len()
    }

    /// The bytes of frames held back while authentication is undecided (commands made before
    /// the handshake ends): sent after [`queued_bytes`](Session::queued_bytes)' frames when
    /// it succeeds, dropped when it fails. Memory the session holds for the peer as much as
    /// the queued bytes, so flow control counts both (or a caller calling before the
    /// handshake ends could queue without bound).
    pub fn held_bytes(&self) -> usize {
        self.held.len()
    }

    /// Whether the session has closed ([`Event::Closed`] was queued).
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Time since the session started (eRPC's session age is a limit on this).
    pub fn age(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.started)
    }

    /// Number of outgoing calls waiting for their reply.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// Number of incoming calls whose reply has not been sent yet.
    pub fn calls_in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The next seq: counter + 1, wrapping from `i32::MAX` to `i32::MIN`, skipping values
    /// that are still pending (Go would overwrite the pending call).
    fn next_seq(&mut self) -> i32 {
        loop {
            self.seq = self.seq.wrapping_add(1);
            if !self.pending.contains_key(&self.seq) {
                return self.seq;
            }
        }
    }

    fn next_serial(&mut self) -> u64 {
        self.serial += 1;
        self.serial
    }

    /// Encodes into the output, or into the held-back buffer while authentication is
    /// undecided.
    fn encode(&mut self, msg: &Message) -> Result<(), crate::EncodeError> {
        match self.state {
            State::AwaitAuthReply | State::AwaitAuthCall | State::AwaitAuthVerdict => self
                .cfg
                .protocol
                .encode(msg, &self.cfg.wire, &mut self.held),
            _ => {
                let body =
                    self.cfg
                        .protocol
                        .encode_vectored(msg, &self.cfg.wire, self.out.tail())?;
                if let Some(body) = body {
                    self.out.push_body(body);
                }
                Ok(())
            }
        }
    }

    // ------------------------------------------------------------------ commands

    /// Starts a CALL. `msg` carries the service method, meta, body codec (0 = the default),
    /// encoded body and filters; its type and seq are set here.
    ///
    /// Fails without sending when the session is closing or closed (102), a
    /// `pre_write_call` plugin aborts (its status), or the message cannot be encoded (104).
    /// Otherwise the call completes later with exactly one [`Event::CallDone`].
    pub fn call(
        &mut self,
        now: Instant,
        mut msg: Message,
        opts: CallOptions,
    ) -> Result<CallId, Status> {
        self.now = self.now.max(now);
        self.writable()?;
        msg.mtype = MessageType::CALL;
        if msg.body_codec.0 == 0 {
            msg.body_codec = self.cfg.default_body_codec;
        }
        msg.seq = self.next_seq();
        self.run_hooks(now, &mut msg, |p, cx| p.pre_write_call(cx))?;
        self.encode(&msg)
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
        let serial = self.next_serial();
        let timeout = opts.timeout.unwrap_or(self.cfg.call_timeout);
        self.last_activity = now;
        self.run_logged_hooks(now, &mut msg, "post_write_call", |p, cx| {
            p.post_write_call(cx)
        });
        // The message is done with: its service method moves into the pending entry (a clone
        // would cost an allocation when the name is not yet shared).
        self.pending.insert(
            msg.seq,
            Pending {
                serial,
                service_method: std::mem::take(&mut msg.service_method),
                started: now,
                heartbeat: false,
            },
        );
        // A deadline past what `Instant` represents is no deadline.
        if let Some(t) = timeout.and_then(|d| now.checked_add(d)) {
            self.timers.push((t, Timer::Call(msg.seq, serial)));
        }
        Ok(CallId {
            seq: msg.seq,
            serial,
        })
    }

    /// Sends a PUSH (never answered). Fails like [`call`](Session::call); success means the
    /// frame is queued, not that the peer handled it.
    pub fn push(&mut self, now: Instant, mut msg: Message) -> Result<(), Status> {
        self.now = self.now.max(now);
        self.writable()?;
        msg.mtype = MessageType::PUSH;
        if msg.body_codec.0 == 0 {
            msg.body_codec = self.cfg.default_body_codec;
        }
        msg.seq = self.next_seq();
        self.run_hooks(now, &mut msg, |p, cx| p.pre_write_push(cx))?;
        self.encode(&msg)
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
        self.last_activity = now;
        self.run_logged_hooks(now, &mut msg, "post_write_push", |p, cx| {
            p.post_write_push(cx)
        });
        Ok(())
    }

    /// Abandons a pending call: no [`Event::CallDone`] will come for it and a late reply is
    /// dropped. Returns whether it was pending.
    pub fn cancel(&mut self, id: CallId) -> bool {
        match self.pending.get(&id.seq) {
            Some(p) if p.serial == id.serial => {
                self.pending.remove(&id.seq);
                self.prune_timers();
                self.maybe_finish_close();
                true
            }
            _ => false,
        }
    }

    /// Answers an incoming call. An error status is sent with codec 0 and no body; the reply
    /// reuses the call's filters. If the reply cannot be encoded (too large, say), a 500
    /// reply with the error as cause is sent instead, as Go does.
    ///
    /// Fails (and sends nothing) when the call was already answered — by the session itself
    /// after its context age passed — or the session closed.
    pub fn reply(&mut self, now: Instant, token: ReplyToken, reply: Reply) -> Result<(), Status> {
        self.now = self.now.max(now);
        let Some(f) = self.in_flight.remove(&token.serial) else {
            return Err(Status::with_cause(
                Code::WRITE_FAILED,
                "the call was already answered or the session closed",
            ));
        };
        self.prune_timers();
        self.send_reply(now, f, reply);
        self.maybe_finish_close();
        Ok(())
    }

    /// Accepting side with [`Auth::Checker`]: answers the [`Event::AuthRequest`]. The
    /// AUTH_REPLY (seq from this side's own counter, as Go) carries `reply`'s status and body
    /// (Go sends the body even with an error). An error status closes the session after the
    /// reply is flushed.
    pub fn accept_auth(&mut self, now: Instant, reply: Reply) -> Result<(), Status> {
        self.now = self.now.max(now);
        if self.state != State::AwaitAuthVerdict {
            return Err(Status::with_cause(
                Code::INVALID_OP,
                "no authentication is waiting for a verdict",
            ));
        }
        let mut msg = Message::new(MessageType::AUTH_REPLY, 0, ServiceMethod::empty());
        msg.seq = self.next_seq();
        msg.meta = reply.meta;
        msg.body_codec = reply.body_codec.unwrap_or(self.cfg.default_body_codec);
        let status = match reply.result {
            Ok(body) => {
                msg.body = body;
                Status::OK
            }
            Err(st) => st,
        };
        msg.status = status.clone();
        // The AUTH_REPLY goes first, then whatever was held.
        let r = self
            .cfg
            .protocol
            .encode(&msg, &self.cfg.wire, self.out.tail());
        if let Err(e) = r {
            self.finish(CloseReason::AuthFailed(Status::with_cause(
                Code::WRITE_FAILED,
                e.to_string(),
            )));
            return Err(Status::with_cause(
                Code::WRITE_FAILED,
                "auth reply could not be encoded",
            ));
        }
        if !status.is_ok() {
            self.finish(CloseReason::AuthFailed(status));
            return Ok(());
        }
        self.state = State::Open;
        let held = self.held.split();
        self.out.tail().unsplit(held);
        push_one(&mut self.events, Event::Authenticated(msg));
        self.drain_deferred(now);
        Ok(())
    }

    /// Closes the session. Graceful (`linger` = `Some`): new calls and pushes are refused,
    /// calls in flight in both directions may finish until `now + linger`, then the rest
    /// fail with 102. Immediate (`None`): pending calls complete with 102 now.
    ///
    /// A graceful close of an accepted session also sends the goaway notice (a PUSH to
    /// [`GOAWAY_SERVICE_METHOD`], erpc-rs' own): an erpc-rs peer stops sending calls, lets
    /// those it sent complete and answers with its own notice, after which nothing more can
    /// arrive; the session closes once idle and answered (or [`GOAWAY_GRACE`] after it is
    /// idle, for a peer that does not answer, such as Go eRPC, which drops the push).
    /// Calls that arrive meanwhile are still served. A dialed session closes the same way
    /// when the notice comes, and its peer layer holds new calls for its redial.
    pub fn close(&mut self, now: Instant, linger: Option<Duration>) {
        self.now = self.now.max(now);
        if self.state == State::Closed {
            return;
        }
        match linger {
            Some(d) if matches!(self.state, State::Open | State::Closing) => {
                if self.state == State::Open {
                    self.start_goaway(now);
                }
                self.state = State::Closing;
                // A linger past what `Instant` represents waits for the calls in flight.
                if let Some(deadline) = now.checked_add(d) {
                    self.close_deadline =
                        Some(self.close_deadline.map_or(deadline, |c| c.min(deadline)));
                }
                self.maybe_finish_close();
            }
            _ => self.finish(CloseReason::Local),
        }
    }

    /// Whether the peer sent its goaway notice (it is closing gracefully and sends no new
    /// call on this connection): new calls are refused here; a redialing peer layer holds
    /// them for its next connection instead.
    pub fn peer_going_away(&self) -> bool {
        self.peer_goaway
    }

    /// Sends the goaway notice when this side begins a graceful close: an acceptor always
    /// (then, once idle, it waits up to [`GOAWAY_GRACE`] for the answer), a dialer only to
    /// answer the peer's. A peer that knows the notice stops sending calls, lets the ones
    /// it sent complete and answers it, so no call crosses the close on the wire.
    fn start_goaway(&mut self, now: Instant) {
        if self.cfg.dialed && !self.peer_goaway {
            return;
        }
        let mut msg = Message::new(MessageType::PUSH, 0, GOAWAY_SERVICE_METHOD);
        msg.body_codec = self.cfg.default_body_codec;
        msg.seq = self.next_seq();
        // A protocol that cannot carry pushes (http) closes as Go does.
        if self.encode(&msg).is_ok() && !self.peer_goaway {
            self.goaway_wait = now.checked_add(GOAWAY_GRACE);
        }
    }

    /// The peer's goaway notice: close gracefully too (answering it).
    fn on_goaway(&mut self, now: Instant) {
        self.peer_goaway = true;
        self.goaway_wait = None;
        if self.state == State::Open {
            self.close(now, Some(self.cfg.close_linger));
        } else {
            self.maybe_finish_close();
        }
    }

    /// Reports a transport failure (a read or write error): the session closes with that
    /// reason.
    pub fn handle_transport_error(&mut self, now: Instant, error: impl std::fmt::Display) {
        self.now = self.now.max(now);
        if self.state != State::Closed {
            self.finish(CloseReason::Transport(error.to_string()));
        }
    }

    // ------------------------------------------------------------------ outputs

    /// The next piece of what is queued for the peer, in order; `None` when nothing is
    /// queued. Small frames come gathered into one piece (one write); a large body
    /// ([`LARGE_BODY`] bytes or more, on a protocol that sends bodies as they are) is a piece
    /// of its own, the very [`Bytes`] the message carried. Call again until `None`.
    #[must_use = "bytes taken from the session must be written to the transport"]
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        self.out.pop()
    }

    /// Appends everything queued for the peer to `dst` (for drivers that keep one write
    /// buffer; large bodies are copied). Returns how many bytes were appended.
    pub fn poll_transmit_into(&mut self, dst: &mut BytesMut) -> usize {
        self.out.copy_into(dst)
    }

    /// Takes everything queued for the peer without copying large bodies, for drivers that
    /// write pieces in turn: the output continues `pieces` then `tail` (the driver's own
    /// queue and its gather buffer). When large bodies are queued, `tail`'s bytes are sealed
    /// onto `pieces`, the bodies (and the headers before them) follow as pieces; the small
    /// frames after the last body join `tail`. Returns how many bytes were taken.
    ///
    /// ```
    /// use std::collections::VecDeque;
    /// use bytes::{Bytes, BytesMut};
    /// use erpc_proto::session::{CallOptions, Session, SessionConfig, LARGE_BODY};
    /// use erpc_proto::{plugin::SessionInfo, CodecId, Message, MessageType};
    ///
    /// let now = std::time::Instant::now();
    /// let mut s = Session::new(SessionConfig::dialer(), SessionInfo::default(), now);
    /// let body = Bytes::from(vec![7u8; LARGE_BODY]);
    /// let mut m = Message::new(MessageType::CALL, 0, "/echo");
    /// m.body_codec = CodecId::PLAIN;
    /// m.body = body.clone();
    /// s.call(now, m, CallOptions::no_timeout()).unwrap();
    ///
    /// let (mut pieces, mut tail) = (VecDeque::new(), BytesMut::new());
    /// let n = s.poll_transmit_vectored(&mut pieces, &mut tail);
    /// assert_eq!(n, pieces.iter().map(|p| p.len()).sum::<usize>() + tail.len());
    /// assert_eq!(pieces.back().unwrap().as_ptr(), body.as_ptr(), "the body was not copied");
    /// ```
    pub fn poll_transmit_vectored(
        &mut self,
        pieces: &mut VecDeque<Bytes>,
        tail: &mut BytesMut,
    ) -> usize {
        self.out.move_into(pieces, tail)
    }

    /// The next event, if any.
    #[must_use = "an event taken from the session must be handled"]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Gives back the memory of the session's empty buffers and tables (an idle connection
    /// calls this so that it costs little; they grow again with the next message). What
    /// still holds something is kept.
    pub fn release_idle_buffers(&mut self) {
        fn shrink<T>(v: &mut VecDeque<T>) {
            if v.is_empty() && v.capacity() > 0 {
                *v = VecDeque::new();
            }
        }
        self.out.release_idle();
        // An emptied buffer may hold its share of the allocation it was split from even
        // with no capacity left: let go of it.
        if self.held.is_empty() {
            self.held = BytesMut::new();
        }
        if self.pending.is_empty() && self.pending.capacity() > 0 {
            self.pending = FxHashMap::default();
        }
        if self.in_flight.is_empty() && self.in_flight.capacity() > 0 {
            self.in_flight = FxHashMap::default();
        }
        self.timers.release_idle();
        shrink(&mut self.deferred);
        shrink(&mut self.events);
    }

    /// When [`handle_timeout`](Session::handle_timeout) should next be called: the earliest
    /// live deadline (a pending call's, a handler budget, the close linger, the session age,
    /// the next heartbeat ping or pong check); `None` when nothing is scheduled. Deadlines of
    /// calls that completed are gone from it; after `handle_timeout(t)` it is later than `t`.
    #[must_use = "the deadline must be armed as a timer"]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == State::Closed {
            return None;
        }
        let mut t = self.timers.peek().map(|(t, _)| t);
        let mut consider = |c: Option<Instant>| {
            if let Some(c) = c {
                t = Some(t.map_or(c, |t| t.min(c)));
            }
        };
        consider(self.close_deadline);
        consider(self.goaway_wait);
        consider(self.age_deadline);
        consider(self.ping_deadline());
        consider(self.pong_deadline());
        t
    }

    // ------------------------------------------------------------------ inputs

    /// How many more bytes the frame at the front of `src` needs before
    /// [`handle_input`](Session::handle_input) can take it, when the protocol's framing tells
    /// (raw does, from the length prefix); `None` when it does not, or the frame claims more
    /// than the message size limit (`handle_input` rejects it then). Drivers may use it to
    /// read a large frame straight into its buffer; what a peer claims is only a claim, so
    /// size buffers by what has arrived too.
    pub fn input_needed(&self, src: &[u8]) -> Option<usize> {
        let len = self.cfg.protocol.frame_len(src)?;
        if len > self.cfg.wire.max_message_size {
            return None;
        }
        Some(len.saturating_sub(src.len()))
    }

    /// Processes every complete frame in `src`, leaving a partial frame in place. Call after
    /// every read. A malformed frame closes the session ([`Event::Closed`]).
    ///
    /// After [`handle_eof`](Session::handle_eof) nothing is processed: `src` is left as it is.
    pub fn handle_input(&mut self, now: Instant, src: &mut BytesMut) {
        self.now = self.now.max(now);
        if self.read_closed.is_some() {
            return;
        }
        while self.state != State::Closed {
            let decoded = self.cfg.protocol.decode(src, &self.cfg.wire);
            match decoded {
                Ok(Some(msg)) => self.on_message(now, msg),
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(error = %e, "malformed frame; closing the session");
                    self.finish(CloseReason::Protocol(Arc::new(e)));
                    break;
                }
            }
        }
        self.partial_input = !src.is_empty();
    }

    /// The peer closed its side of the connection (read returned 0): a half-close.
    ///
    /// * This side's pending outgoing calls complete with 102 at once (their
    ///   [`Event::CallDone`]s are queued now: no reply can come any more); new calls and
    ///   pushes are refused with 102; no more input is processed
    ///   ([`is_read_closed`](Session::is_read_closed) turns true).
    /// * Incoming calls whose handlers are still running may still be answered with
    ///   [`reply`](Session::reply); the replies are queued to `poll_transmit` as usual (a
    ///   handler budget that passes still answers 408).
    /// * The session closes ([`Event::Closed`] with [`CloseReason::PeerClosed`], or
    ///   [`CloseReason::UnexpectedEof`] when a partial frame was buffered) as soon as no
    ///   incoming call is in flight — at once if none was — and at the latest when
    ///   [`SessionConfig::close_linger`] has passed since the EOF (or the deadline of a
    ///   graceful [`close`](Session::close) already running, if earlier).
    pub fn handle_eof(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state == State::Closed || self.read_closed.is_some() {
            return;
        }
        let reason = if self.partial_input {
            CloseReason::UnexpectedEof
        } else {
            CloseReason::PeerClosed
        };
        if self.in_flight.is_empty() {
            return self.finish(reason);
        }
        // Handlers are running: fail what waits for the peer, keep the replies' way open.
        self.fail_pending(&reason.status());
        self.prune_timers();
        self.deferred.clear();
        self.pong = None;
        if let Some(deadline) = now.checked_add(self.cfg.close_linger) {
            self.close_deadline = Some(self.close_deadline.map_or(deadline, |c| c.min(deadline)));
        }
        self.read_closed = Some(Box::new(reason));
    }

    /// Fires every timer due at `now`: call deadlines (the call completes with 408), handler
    /// budgets (the session replies 408), heartbeats, session age, the linger of a graceful
    /// close or after an EOF. Afterwards nothing is due at or before `now`:
    /// [`poll_timeout`](Session::poll_timeout) is later, or `None`. Calling it early, or
    /// late by any amount, is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = self.now.max(now);
        if self.state == State::Closed {
            return;
        }
        if self.age_deadline.is_some_and(|d| now >= d) {
            self.finish(CloseReason::SessionAge);
            return;
        }
        self.prune_timers();
        while let Some((t, timer)) = self.timers.peek() {
            if t > now {
                break;
            }
            self.timers.pop();
            match timer {
                Timer::Call(seq, serial) => {
                    if self.pending.get(&seq).is_some_and(|p| p.serial == serial) {
                        let p = self.pending.remove(&seq).expect("checked");
                        if p.heartbeat {
                            self.finish(CloseReason::HeartbeatTimeout);
                            return;
                        }
                        let st =
                            Status::with_cause(Code::HANDLE_TIMEOUT, "context deadline exceeded");
                        self.complete(now, seq, p, Err(st));
                    }
                }
                Timer::Handler(serial) => {
                    if let Some(f) = self.in_flight.remove(&serial) {
                        let st =
                            Status::with_cause(Code::HANDLE_TIMEOUT, "context deadline exceeded");
                        self.send_reply(now, f, Reply::error(st));
                    }
                }
            }
            // The new head may belong to a call that completed.
            self.prune_timers();
        }
        if self.close_deadline.is_some_and(|d| now >= d) {
            let reason = self.read_closed.take().map_or(CloseReason::Local, |r| *r);
            self.finish(reason);
            return;
        }
        if self.goaway_wait.is_some_and(|d| now >= d) {
            self.goaway_wait = None;
        }
        if self.pong_deadline().is_some_and(|d| now >= d) {
            self.finish(CloseReason::HeartbeatTimeout);
            return;
        }
        if self.ping_deadline().is_some_and(|d| now >= d) {
            if let Some(h) = self.cfg.heartbeat_ping.clone() {
                self.send_ping(now, &h);
            }
        }
        self.maybe_finish_close();
    }

    // ------------------------------------------------------------------ timers

    /// When the next heartbeat ping is due: `None` without a pinger, while not open, after an
    /// EOF, or when it would be past what `Instant` represents.
    fn ping_deadline(&self) -> Option<Instant> {
        if self.state != State::Open || self.read_closed.is_some() {
            return None;
        }
        let h = self.cfg.heartbeat_ping.as_ref()?;
        self.last_activity.checked_add(clamp_ping_rate(h.rate))
    }

    /// When the pong side declares a silent pinger dead (twice its rate after its last sign).
    fn pong_deadline(&self) -> Option<Instant> {
        let p = self.pong.as_ref()?;
        p.last.checked_add(p.rate.saturating_mul(2))
    }

    /// Restores the timer invariants after calls completed: the head of the heap is a live
    /// timer (so [`poll_timeout`](Session::poll_timeout) reports only live deadlines), and
    /// dead entries are dropped once they outnumber the calls that can own a timer, which
    /// keeps the heap's size proportional to what is pending.
    fn prune_timers(&mut self) {
        if self.timers.is_empty() {
            return;
        }
        let (pending, in_flight) = (&self.pending, &self.in_flight);
        let owners = pending.len() + in_flight.len();
        if self.timers.len() > 2 * owners + TIMER_SLACK {
            self.timers.retain(|t| timer_live(pending, in_flight, t));
        }
        self.timers
            .drop_dead_head(|t| !timer_live(pending, in_flight, t));
    }

    // ------------------------------------------------------------------ internals

    fn writable(&self) -> Result<(), Status> {
        if let Some(reason) = &self.read_closed {
            return Err(reason.status());
        }
        match self.state {
            State::Open
            | State::AwaitAuthReply
            | State::AwaitAuthCall
            | State::AwaitAuthVerdict => Ok(()),
            State::Closing => Err(Status::with_cause(Code::CONN_CLOSED, "session is closing")),
            State::Closed => Err(Status::from_code(Code::CONN_CLOSED)),
        }
    }

    fn run_hooks<F>(&self, now: Instant, msg: &mut Message, f: F) -> Result<(), Status>
    where
        F: FnMut(&dyn crate::plugin::Plugin, &mut MessageCtx<'_>) -> Result<(), Status>,
    {
        self.run_hooks_with(now, msg, &mut Swap::new(), f)
    }

    /// [`run_hooks`](Self::run_hooks) with the exchange's own swap.
    fn run_hooks_with<F>(
        &self,
        now: Instant,
        msg: &mut Message,
        swap: &mut Swap,
        mut f: F,
    ) -> Result<(), Status>
    where
        F: FnMut(&dyn crate::plugin::Plugin, &mut MessageCtx<'_>) -> Result<(), Status>,
    {
        if self.cfg.plugins.is_empty() {
            return Ok(());
        }
        let mut cx = MessageCtx {
            message: msg,
            session: &self.info,
            now,
            swap,
        };
        self.cfg.plugins.run(|p| f(p, &mut cx))
    }

    fn run_route_hooks<F>(
        &self,
        now: Instant,
        route: &Plugins,
        msg: &mut Message,
        swap: &mut Swap,
        mut f: F,
    ) -> Result<(), Status>
    where
        F: FnMut(&dyn crate::plugin::Plugin, &mut MessageCtx<'_>) -> Result<(), Status>,
    {
        self.run_hooks_with(now, msg, swap, &mut f)?;
        if route.is_empty() {
            return Ok(());
        }
        let mut cx = MessageCtx {
            message: msg,
            session: &self.info,
            now,
            swap,
        };
        route.run(|p| f(p, &mut cx))
    }

    fn run_logged_hooks<F>(&self, now: Instant, msg: &mut Message, hook: &'static str, mut f: F)
    where
        F: FnMut(&dyn crate::plugin::Plugin, &mut MessageCtx<'_>) -> Result<(), Status>,
    {
        if self.cfg.plugins.is_empty() {
            return;
        }
        let mut swap = Swap::new();
        let mut cx = MessageCtx {
            message: msg,
            session: &self.info,
            now,
            swap: &mut swap,
        };
        self.cfg.plugins.run_logged(hook, |p| f(p, &mut cx));
    }

    fn send_ping(&mut self, now: Instant, h: &HeartbeatPing) {
        let rate = clamp_ping_rate(h.rate);
        let mut msg = Message::new(MessageType::PUSH, 0, HEARTBEAT_SERVICE_METHOD);
        msg.meta.set(HEARTBEAT_META_KEY, rate.as_secs().to_string());
        if h.use_call {
            let opts = CallOptions::timeout(rate);
            match self.call(now, msg, opts) {
                Ok(id) => {
                    if let Some(p) = self.pending.get_mut(&id.seq) {
                        p.heartbeat = true;
                    }
                }
                Err(_) => self.finish(CloseReason::HeartbeatTimeout),
            }
        } else if self.push(now, msg).is_err() {
            self.finish(CloseReason::HeartbeatTimeout);
        }
        // A failed encode must not make the timer fire in a loop.
        self.last_activity = now;
    }

    fn on_message(&mut self, now: Instant, msg: Message) {
        match self.state {
            State::AwaitAuthReply => return self.on_auth_reply(now, msg),
            State::AwaitAuthCall => return self.on_auth_call(msg),
            State::AwaitAuthVerdict => {
                if self.deferred.len() >= MAX_DEFERRED {
                    let st = Status::with_cause(
                        Code::UNAUTHORIZED,
                        "too many messages before authentication",
                    );
                    self.finish(CloseReason::AuthFailed(st));
                } else {
                    self.deferred.push_back(msg);
                }
                return;
            }
            _ => {}
        }
        self.dispatch(now, msg);
    }

    fn drain_deferred(&mut self, now: Instant) {
        while let Some(m) = self.deferred.pop_front() {
            if self.state == State::Closed {
                break;
            }
            self.dispatch(now, m);
        }
    }

    fn dispatch(&mut self, now: Instant, msg: Message) {
        if !self.cfg.plugins.is_empty() {
            if let Err(st) = self.cfg.plugins.run(|p| p.pre_read_header(&self.info)) {
                return self.finish(CloseReason::Plugin(st));
            }
        }
        match msg.mtype {
            MessageType::CALL => self.on_call(now, msg),
            MessageType::PUSH => self.on_push(now, msg),
            MessageType::REPLY => self.on_reply(now, msg),
            MessageType::AUTH_REPLY if self.cfg.dialed => {
                // What a peer with an auth checker (Go's or ours) answers a session that
                // did not authenticate: expected when the settings differ, and the close
                // reason tells every caller, so no warning.
                tracing::info!(
                    status = %msg.status,
                    "AUTH_REPLY on a session that did not authenticate; closing the session"
                );
                self.finish(CloseReason::MessageTypeNotAllowed(
                    MessageType::AUTH_REPLY.0,
                ));
            }
            other => {
                tracing::warn!(mtype = %other, "message type not allowed; closing the session");
                self.finish(CloseReason::MessageTypeNotAllowed(other.0));
            }
        }
    }

    fn on_auth_reply(&mut self, now: Instant, msg: Message) {
        let status = if msg.mtype != MessageType::AUTH_REPLY {
            Status::with_cause(
                Code::UNAUTHORIZED,
                format!(
                    "auth message(1st) expect: AUTH_REPLY, but received: {}",
                    msg.mtype.name()
                ),
            )
        } else {
            msg.status.clone()
        };
        if !status.is_ok() {
            return self.finish(CloseReason::AuthFailed(status));
        }
        self.state = State::Open;
        let held = self.held.split();
        self.out.tail().unsplit(held);
        push_one(&mut self.events, Event::Authenticated(msg));
        let _ = now;
    }

    fn on_auth_call(&mut self, msg: Message) {
        if msg.mtype != MessageType::AUTH_CALL {
            let st = Status::with_cause(
                Code::UNAUTHORIZED,
                format!(
                    "auth message(1st) expect: AUTH_CALL, but received: {}",
                    msg.mtype.name()
                ),
            );
            // Go's checker answers this 401 too (an AUTH_REPLY with an empty body, its own
            // seq) before it closes, so the dialer learns why; the close flushes it.
            let mut reply = Message::new(MessageType::AUTH_REPLY, 0, ServiceMethod::empty());
            reply.seq = self.next_seq();
            reply.body_codec = self
                .cfg
                .auth_reply_codec
                .unwrap_or(self.cfg.default_body_codec);
            reply.status = st.clone();
            let r = self
                .cfg
                .protocol
                .encode(&reply, &self.cfg.wire, self.out.tail());
            if let Err(e) = r {
                tracing::debug!(error = %e, "the auth refusal could not be encoded");
            }
            return self.finish(CloseReason::AuthFailed(st));
        }
        self.state = State::AwaitAuthVerdict;
        push_one(&mut self.events, Event::AuthRequest(msg));
    }

    fn touch_pong(&mut self, now: Instant) {
        if let Some(p) = &mut self.pong {
            p.last = now;
        }
    }

    fn on_call(&mut self, now: Instant, mut msg: Message) {
        self.last_activity = now;
        self.touch_pong(now);
        let mut f = InFlight {
            seq: msg.seq,
            xfer: msg.xfer_pipe.clone(),
            reply_codec: msg.body_codec,
            plugins: Plugins::new(),
            service_method: msg.service_method.clone(),
            swap: Swap::new(),
        };
        if let Err(st) = self.run_hooks_with(now, &mut msg, &mut f.swap, |p, cx| {
            p.post_read_call_header(cx)
        }) {
            return self.send_reply(now, f, Reply::error(st));
        }
        if msg.service_method.is_empty() {
            let st = Status::with_cause(Code::BAD_MESSAGE, "invalid service method for message");
            return self.send_reply(now, f, Reply::error(st));
        }
        if self.cfg.heartbeat_pong && msg.service_method == HEARTBEAT_SERVICE_METHOD {
            let r = self.on_heartbeat(now, &msg);
            let reply = match r {
                Ok(()) => {
                    let codec = msg.body_codec;
                    let body = if codec == CodecId::JSON {
                        Bytes::from_static(b"null")
                    } else {
                        Bytes::new()
                    };
                    Reply::ok(body).with_codec(codec)
                }
                Err(st) => Reply::error(st),
            };
            return self.send_reply(now, f, reply);
        }
        let Some(route) = self.cfg.router.lookup(RouteKind::Call, &msg.service_method) else {
            return self.send_reply(now, f, Reply::error(Status::from_code(Code::NOT_FOUND)));
        };
        let (route_id, unknown) = (route.id(), route.is_unknown());
        if !route.plugins().is_empty() {
            f.plugins = route.plugins().clone();
        }
        if let Err(st) = self.run_route_hooks(now, &f.plugins, &mut msg, &mut f.swap, |p, cx| {
            p.pre_read_call_body(cx)
        }) {
            return self.send_reply(now, f, Reply::error(st));
        }
        if let Err(st) = self.run_route_hooks(now, &f.plugins, &mut msg, &mut f.swap, |p, cx| {
            p.post_read_call_body(cx)
        }) {
            return self.send_reply(now, f, Reply::error(st));
        }
        f.reply_codec = self.negotiate_codec(&msg);
        f.service_method = msg.service_method.clone();
        let serial = self.next_serial();
        let reply_codec = f.reply_codec;
        self.in_flight.insert(serial, f);
        if let Some(t) = self.cfg.context_age.and_then(|a| now.checked_add(a)) {
            self.timers.push((t, Timer::Handler(serial)));
        }
        push_one(
            &mut self.events,
            Event::Call(IncomingCall {
                token: ReplyToken {
                    serial,
                    seq: msg.seq,
                },
                route: route_id,
                unknown,
                message: msg,
                reply_codec,
            }),
        );
    }

    /// eRPC's reply codec negotiation: the first `X-Accept-Body-Codec` value when it is 1-3
    /// ASCII digits naming a known codec 1..=255, else the call's codec.
    fn negotiate_codec(&self, msg: &Message) -> CodecId {
        if let Some(v) = msg.meta.peek(ACCEPT_BODY_CODEC_META_KEY) {
            if (1..=3).contains(&v.len()) && v.iter().all(u8::is_ascii_digit) {
                let n: u32 = v.iter().fold(0, |a, d| a * 10 + u32::from(d - b'0'));
                if (1..=255).contains(&n) && self.cfg.codecs.contains(CodecId(n as u8)) {
                    return CodecId(n as u8);
                }
            }
        }
        msg.body_codec
    }

    /// The pong side of the heartbeat: parse `hb_`, keep the record.
    fn on_heartbeat(&mut self, now: Instant, msg: &Message) -> Result<(), Status> {
        let raw = msg.meta.peek(HEARTBEAT_META_KEY).unwrap_or(b"");
        let rate: i64 = if raw.is_empty() {
            0
        } else {
            std::str::from_utf8(raw)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .filter(|r| *r >= 0)
                .unwrap_or(-1)
        };
        match (&mut self.pong, rate) {
            (None, r) if r < 0 => Err(Status::new(
                Code::BAD_MESSAGE,
                "invalid heartbeat rate",
                Some(String::from_utf8_lossy(raw).into_owned()),
            )),
            (None, 0) => Ok(()),
            (None, r) => {
                self.pong = Some(PongRecord {
                    rate: pong_rate(r),
                    last: now,
                });
                Ok(())
            }
            (Some(p), r) => {
                p.last = now;
                if r > 0 {
                    p.rate = pong_rate(r);
                }
                Ok(())
            }
        }
    }

    fn send_reply(&mut self, now: Instant, mut f: InFlight, reply: Reply) {
        let mut msg = Message::new(MessageType::REPLY, f.seq, f.service_method.clone());
        msg.xfer_pipe = f.xfer;
        for id in reply.extra_xfer {
            msg.xfer_pipe.push(id);
        }
        msg.meta = reply.meta;
        match reply.result {
            Ok(body) => {
                msg.body_codec = reply.body_codec.unwrap_or(f.reply_codec);
                msg.body = body;
            }
            Err(st) => {
                msg.status = st;
                msg.body_codec = CodecId::NONE;
            }
        }
        if !f.plugins.is_empty() || !self.cfg.plugins.is_empty() {
            let mut cx = MessageCtx {
                message: &mut msg,
                session: &self.info,
                now,
                swap: &mut f.swap,
            };
            self.cfg
                .plugins
                .run_logged("pre_write_reply", |p| p.pre_write_reply(&mut cx));
            f.plugins
                .run_logged("pre_write_reply", |p| p.pre_write_reply(&mut cx));
        }
        // Go blanks the service method just before writing.
        let sm = std::mem::take(&mut msg.service_method);
        if let Err(e) = self.encode(&msg) {
            tracing::warn!(error = %e, seq = msg.seq, "reply could not be written; sending 500");
            let mut fallback = Message::new(MessageType::REPLY, msg.seq, ServiceMethod::empty());
            fallback.xfer_pipe = msg.xfer_pipe.clone();
            fallback.status = Status::with_cause(Code::INTERNAL_SERVER_ERROR, e.to_string());
            if self.encode(&fallback).is_err() {
                fallback.xfer_pipe = XferPipe::new();
                if let Err(e) = self.encode(&fallback) {
                    tracing::error!(error = %e, "even the 500 reply could not be written");
                }
            }
            return;
        }
        msg.service_method = sm;
        if !f.plugins.is_empty() || !self.cfg.plugins.is_empty() {
            let mut cx = MessageCtx {
                message: &mut msg,
                session: &self.info,
                now,
                swap: &mut f.swap,
            };
            self.cfg
                .plugins
                .run_logged("post_write_reply", |p| p.post_write_reply(&mut cx));
            f.plugins
                .run_logged("post_write_reply", |p| p.post_write_reply(&mut cx));
        }
    }

    fn on_push(&mut self, now: Instant, mut msg: Message) {
        self.last_activity = now;
        self.touch_pong(now);
        if msg.service_method == GOAWAY_SERVICE_METHOD {
            return self.on_goaway(now);
        }
        let mut swap = Swap::new();
        if let Err(st) = self.run_hooks_with(now, &mut msg, &mut swap, |p, cx| {
            p.post_read_push_header(cx)
        }) {
            tracing::warn!(status = %st, service_method = %msg.service_method, "push dropped by plugin");
            return;
        }
        if msg.service_method.is_empty() {
            tracing::warn!("push with an empty service method dropped");
            return;
        }
        if self.cfg.heartbeat_pong && msg.service_method == HEARTBEAT_SERVICE_METHOD {
            if let Err(st) = self.on_heartbeat(now, &msg) {
                tracing::warn!(status = %st, "bad heartbeat push");
            }
            return;
        }
        let Some(route) = self.cfg.router.lookup(RouteKind::Push, &msg.service_method) else {
            tracing::warn!(service_method = %msg.service_method, "no handler for push; dropped (404)");
            return;
        };
        let (route_id, unknown) = (route.id(), route.is_unknown());
        let plugins = route.plugins().clone();
        let r = self
            .run_route_hooks(now, &plugins, &mut msg, &mut swap, |p, cx| {
                p.pre_read_push_body(cx)
            })
            .and_then(|()| {
                self.run_route_hooks(now, &plugins, &mut msg, &mut swap, |p, cx| {
                    p.post_read_push_body(cx)
                })
            });
        if let Err(st) = r {
            tracing::warn!(status = %st, service_method = %msg.service_method, "push dropped by plugin");
            return;
        }
        push_one(
            &mut self.events,
            Event::Push(IncomingPush {
                route: route_id,
                unknown,
                message: msg,
            }),
        );
    }

    fn on_reply(&mut self, now: Instant, mut msg: Message) {
        let Some(mut p) = self.pending.remove(&msg.seq) else {
            tracing::warn!(seq = msg.seq, "reply to no pending call dropped");
            return;
        };
        self.prune_timers();
        // Moved, not cloned: a clone of a name that is not yet shared allocates.
        msg.service_method = std::mem::take(&mut p.service_method);
        if p.heartbeat {
            if !msg.status.is_ok() {
                self.finish(CloseReason::HeartbeatTimeout);
            }
            return self.maybe_finish_close();
        }
        let mut result = self
            .run_hooks(now, &mut msg, |pl, cx| pl.post_read_reply_header(cx))
            .and_then(|()| self.run_hooks(now, &mut msg, |pl, cx| pl.pre_read_reply_body(cx)));
        if result.is_ok() && !msg.status.is_ok() {
            result = Err(msg.status.clone());
        }
        if result.is_ok() {
            result = self.run_hooks(now, &mut msg, |pl, cx| pl.post_read_reply_body(cx));
        }
        let seq = msg.seq;
        self.complete(now, seq, p, result.map(|()| msg));
        self.maybe_finish_close();
    }

    fn complete(&mut self, now: Instant, seq: i32, p: Pending, result: Result<Message, Status>) {
        if p.heartbeat {
            return;
        }
        push_one(
            &mut self.events,
            Event::CallDone(CallDone {
                id: CallId {
                    seq,
                    serial: p.serial,
                },
                result,
                elapsed: now.saturating_duration_since(p.started),
            }),
        );
    }

    fn maybe_finish_close(&mut self) {
        if !self.in_flight.is_empty() || !self.pending.is_empty() {
            return;
        }
        // A call the peer sent before it saw the goaway may still be on its way.
        if self.state == State::Closing && self.read_closed.is_none() && self.goaway_wait.is_some()
        {
            return;
        }
        if let Some(reason) = self.read_closed.take() {
            self.finish(*reason);
        } else if self.state == State::Closing {
            self.finish(CloseReason::Local);
        }
    }

    /// Completes every pending call with `status` (in the order they were made).
    fn fail_pending(&mut self, status: &Status) {
        let mut pending: Vec<(i32, Pending)> = self.pending.drain().collect();
        pending.sort_by_key(|(_, p)| p.serial);
        for (seq, p) in pending {
            self.complete(self.now, seq, p, Err(status.clone()));
        }
    }

    /// Closes for good: every pending call completes with the reason's status, in-flight
    /// incoming calls are forgotten, [`Event::Closed`] is queued.
    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Closed {
            return;
        }
        let was_auth = matches!(
            self.state,
            State::AwaitAuthReply | State::AwaitAuthCall | State::AwaitAuthVerdict
        );
        self.state = State::Closed;
        self.read_closed = None;
        self.fail_pending(&reason.status());
        self.in_flight.clear();
        self.timers.clear();
        self.deferred.clear();
        if was_auth {
            self.held.clear();
        }
        self.close_deadline = None;
        self.goaway_wait = None;
        self.pong = None;
        push_one(&mut self.events, Event::Closed(reason));
    }
}

/// Whether a timer entry still belongs to a call: each call owns at most one entry, keyed by
/// its serial (a seq can be reused after a wrap, a serial cannot).
fn timer_live(
    pending: &FxHashMap<i32, Pending>,
    in_flight: &FxHashMap<u64, InFlight>,
    t: Timer,
) -> bool {
    match t {
        Timer::Call(seq, serial) => pending.get(&seq).is_some_and(|p| p.serial == serial),
        Timer::Handler(serial) => in_flight.contains_key(&serial),
    }
}

/// The ping rate actually used: [`HeartbeatPing::MIN_RATE`] at least (the field is public, so
/// a zero rate must not make the ping timer fire in a loop), [`MAX_HEARTBEAT_RATE`] at most.
fn clamp_ping_rate(rate: Duration) -> Duration {
    rate.clamp(HeartbeatPing::MIN_RATE, MAX_HEARTBEAT_RATE)
}

/// A pinger's announced rate (`hb_`, whole seconds, > 0), lowered to [`MAX_HEARTBEAT_RATE`].
fn pong_rate(secs: i64) -> Duration {
    Duration::from_secs(secs.unsigned_abs()).min(MAX_HEARTBEAT_RATE)
}

/// Pushes `item`, with room for just it when `q` has none: a session mostly holds one event at
/// a time and lets the queue go when it is idle, and a first `push_back` makes room for four
/// (an event is a few hundred bytes).
fn push_one<T>(q: &mut VecDeque<T>, item: T) {
    if q.capacity() == 0 {
        q.reserve_exact(1);
    }
    q.push_back(item);
}

/// [`push_one`] for the timer heap.
#[cfg(test)]
mod tests {
    use super::*;

    #[allow(clippy::disallowed_methods)]
    fn origin() -> Instant {
        Instant::now()
    }

    #[test]
    fn seq_wraps_and_skips_pending_values() {
        let now = origin();
        let mut s = Session::new(SessionConfig::dialer(), SessionInfo::default(), now);
        s.seq = i32::MAX - 1;
        s.pending.insert(
            i32::MIN,
            Pending {
                serial: 1,
                service_method: ServiceMethod::empty(),
                started: now,
                heartbeat: false,
            },
        );
        assert_eq!(s.next_seq(), i32::MAX);
        assert_eq!(s.next_seq(), i32::MIN + 1, "i32::MIN is still pending");
        s.seq = -1;
        assert_eq!(s.next_seq(), 0, "0 is a valid seq after the wrap");
    }

    /// A client and a server session wired by hand; the server routes `/a`.
    fn wired(now: Instant) -> (Session, Session) {
        let mut r = crate::router::Router::new(crate::router::Mapper::Http);
        r.add_call("/a").unwrap();
        let mut sc = SessionConfig::acceptor();
        sc.router = Arc::new(r);
        sc.context_age = Some(Duration::from_secs(60));
        let c = Session::new(SessionConfig::dialer(), SessionInfo::default(), now);
        let s = Session::new(sc, SessionInfo::default(), now);
        (c, s)
    }

    /// Go's auth checker answers a first message that is not an AUTH_CALL with a 401
    /// AUTH_REPLY (its own seq, the checker's codec, no body) and then closes. Bytes seen
    /// from erpc-go-peer `server --auth TOKEN` after a plain CALL `/math/add`.
    #[test]
    fn checker_answers_a_non_auth_first_message_like_go() {
        let now = origin();
        let mut cfg = SessionConfig::acceptor();
        cfg.auth = Auth::Checker;
        cfg.auth_reply_codec = Some(CodecId::PLAIN);
        let mut s = Session::new(cfg, SessionInfo::default(), now);
        let call = hex::decode(
            "0000003a00013101092f6d6174682f6164640006636f64653d300012617574686f723d68656e72\
             796c656532636e6a5b312c322c332c342c355d",
        )
        .unwrap();
        s.handle_input(now, &mut BytesMut::from(&call[..]));
        let mut out = BytesMut::new();
        s.poll_transmit_into(&mut out);
        let go = b"\x00\x00\x00\x7b\x00\x01\x31\x05\x00\x00\x6dcode=401&msg=Unauthorized&cause=\
                   auth%20message%281st%29%20expect%3A%20AUTH_CALL%2C%20but%20received%3A%20CALL\
                   \x00\x00s";
        assert_eq!(&out[..], &go[..]);
        assert!(!s.is_open());
        let Some(Event::Closed(CloseReason::AuthFailed(st))) = s.poll_event() else {
            panic!("the session must close with the auth status")
        };
        assert_eq!(st.code(), Code::UNAUTHORIZED);
    }

    fn timers_bounded(s: &Session) -> bool {
        s.timers.len() <= 2 * (s.pending.len() + s.in_flight.len()) + TIMER_SLACK
    }

    #[test]
    fn timer_heap_stays_proportional_to_pending_calls() {
        let now = origin();
        let (mut c, mut s) = wired(now);
        for round in 0..20 {
            for _ in 0..1000 {
                let m = Message::new(MessageType::CALL, 0, "/a");
                c.call(now, m, CallOptions::default()).unwrap();
            }
            let mut buf = BytesMut::new();
            c.poll_transmit_into(&mut buf);
            s.handle_input(now, &mut buf);
            let mut calls = Vec::new();
            while let Some(ev) = s.poll_event() {
                let Event::Call(call) = ev else { panic!() };
                calls.push(call);
            }
            // Newest first: the heap heads stay live the longest, dead entries pile up
            // behind them until compaction.
            if round % 2 == 0 {
                calls.reverse();
            }
            for call in calls {
                s.reply(now, call.token, Reply::ok("")).unwrap();
                assert!(timers_bounded(&s), "server: {}", s.timers.len());
                let mut buf = BytesMut::new();
                s.poll_transmit_into(&mut buf);
                c.handle_input(now, &mut buf);
                assert!(timers_bounded(&c), "client: {}", c.timers.len());
            }
            assert_eq!(c.pending_calls(), 0);
            assert!(c.timers.is_empty() && s.timers.is_empty());
            assert_eq!(c.poll_timeout(), None);
            assert_eq!(s.poll_timeout(), None);
            while c.poll_event().is_some() {}
        }
    }

    #[test]
    fn idle_sessions_give_their_buffers_back_and_keep_working() {
        let now = origin();
        let (mut c, mut s) = wired(now);
        let exchange = |c: &mut Session, s: &mut Session, n: usize| {
            for _ in 0..n {
                c.call(
                    now,
                    Message::new(MessageType::CALL, 0, "/a"),
                    CallOptions::default(),
                )
                .unwrap();
            }
            let mut buf = BytesMut::new();
            c.poll_transmit_into(&mut buf);
            s.handle_input(now, &mut buf);
            while let Some(ev) = s.poll_event() {
                let Event::Call(call) = ev else { panic!() };
                s.reply(now, call.token, Reply::ok("")).unwrap();
            }
            let mut buf = BytesMut::new();
            s.poll_transmit_into(&mut buf);
            c.handle_input(now, &mut buf);
            let mut replies = 0;
            while let Some(ev) = c.poll_event() {
                replies += usize::from(matches!(ev, Event::CallDone(_)));
            }
            replies
        };
        assert_eq!(exchange(&mut c, &mut s, 100), 100);
        assert!(c.pending.capacity() > 0 && c.events.capacity() > 0);
        for x in [&mut c, &mut s] {
            x.release_idle_buffers();
            assert_eq!(x.out.capacity(), 0);
            assert_eq!(x.pending.capacity(), 0);
            assert_eq!(x.in_flight.capacity(), 0);
            assert_eq!(x.timers.capacity(), 0);
            assert_eq!(x.events.capacity(), 0);
        }
        // They grow again with the next calls.
        assert_eq!(exchange(&mut c, &mut s, 10), 10);
        // What still holds something is kept.
        c.call(
            now,
            Message::new(MessageType::CALL, 0, "/a"),
            CallOptions::default(),
        )
        .unwrap();
        c.release_idle_buffers();
        assert_eq!(c.pending_calls(), 1);
        assert!(c.out.capacity() > 0);
    }
}
