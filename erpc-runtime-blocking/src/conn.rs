//! The connection thread: owns one connection's `erpc_proto` session and the writing half of
//! its socket, and moves bytes, commands, handler results and time between them.
//!
//! It sleeps on one channel ([`Inbox`]) with a timeout taken from the session's
//! `poll_timeout`. A reader thread per connection feeds that channel with what it reads;
//! session handles send commands; worker threads send handler results. Everything that
//! arrived is processed as one batch, then everything the session queued is written with one
//! write.

use std::collections::{HashMap, VecDeque};
use std::io::Read;
use std::net::Shutdown;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use erpc_proto::session::{CallId, CloseReason, Event, Reply, Session as Core};
use erpc_proto::{Code, Message, Status};

use crate::handler::{CallCtx, Handler, PushCtx, Work};
use crate::peer::Shared;
use crate::session::{lock, Command, Inbox, Session};
use crate::socket::Socket;
use crate::transport::{Fed, Transport};

/// Size of one read.
const READ_CHUNK: usize = 64 * 1024;
/// Most inbox messages handled before the queued output is written.
const BATCH: usize = 1024;
/// After this side closed, how long to wait for the peer's end of stream before cutting the
/// connection (so that the last replies are not lost to a reset).
const READ_LINGER: Duration = Duration::from_millis(250);

/// A connected, handshaken stream.
#[derive(Debug)]
pub(crate) struct Link {
    pub(crate) socket: Socket,
    pub(crate) transport: Transport,
    pub(crate) local_addr: String,
    pub(crate) remote_addr: String,
}

/// How a connection ended.
#[derive(Debug)]
pub(crate) struct Ended {
    pub(crate) reason: CloseReason,
    /// Whether the session had opened (authenticated) before it ended.
    pub(crate) opened: bool,
    /// Whether the application closed it (no redial then).
    pub(crate) closed_locally: bool,
}

struct Driver<'a> {
    shared: &'a Shared,
    handle: &'a Session,
    stash: &'a mut VecDeque<Command>,
    gen: u64,
    core: Core,
    socket: Socket,
    transport: Transport,
    rbuf: BytesMut,
    wbuf: BytesMut,
    calls: HashMap<CallId, SyncSender<Result<Message, Status>>>,
    read_closed: bool,
    write_failed: bool,
    reason: Option<CloseReason>,
    opened: bool,
    closed_locally: bool,
    ready: Option<SyncSender<Result<(), Status>>>,
}

/// Drives `core` over `link` until the connection ends. Commands found in `stash` (carried
/// over from a previous connection) go first; commands that arrive after the end are put
/// there for the next connection.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run(
    shared: &Shared,
    link: Link,
    core: Core,
    handle: &Session,
    rx: &Receiver<Inbox>,
    stash: &mut VecDeque<Command>,
    gen: u64,
    ready: Option<SyncSender<Result<(), Status>>>,
) -> Ended {
    let opened = core.is_open();
    let mut d = Driver {
        shared,
        handle,
        stash,
        gen,
        core,
        socket: link.socket,
        transport: link.transport,
        rbuf: BytesMut::with_capacity(READ_CHUNK),
        wbuf: BytesMut::new(),
        calls: HashMap::new(),
        read_closed: false,
        write_failed: false,
        reason: None,
        opened,
        closed_locally: false,
        ready,
    };
    if opened {
        d.signal_ready(Ok(()));
    }
    let reader = d.start_reader();
    let now = Instant::now();
    match d.transport.drain(&mut d.rbuf) {
        Ok(fed) => d.input(now, fed),
        Err(e) => d.transport_error(now, e),
    }
    while d.reason.is_none() {
        let cmds: Vec<Command> = d.stash.drain(..).collect();
        for cmd in cmds {
            d.apply(Instant::now(), cmd);
        }
        d.step(rx);
    }
    d.finish(rx, reader)
}

fn read_loop(mut sock: Socket, tx: Sender<Inbox>, gen: u64) {
    let mut scratch = vec![0u8; READ_CHUNK];
    loop {
        let msg = match sock.read(&mut scratch) {
            Ok(0) => Inbox::ReadEnd { gen, error: None },
            Ok(n) => Inbox::Input {
                gen,
                data: BytesMut::from(&scratch[..n]),
            },
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => Inbox::ReadEnd {
                gen,
                error: Some(e),
            },
        };
        let end = matches!(msg, Inbox::ReadEnd { .. });
        if tx.send(msg).is_err() || end {
            return;
        }
    }
}

impl Driver<'_> {
    fn signal_ready(&mut self, r: Result<(), Status>) {
        if let Some(tx) = self.ready.take() {
            let _ = tx.send(r);
        }
    }

    fn start_reader(&mut self) -> Option<std::thread::JoinHandle<()>> {
        let now = Instant::now();
        let (sock, abort) = match (self.socket.try_clone(), self.socket.try_clone()) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                self.transport_error(now, e);
                return None;
            }
        };
        *lock(&self.handle.inner.socket) = Some(abort);
        let tx = self.handle.inner.tx.clone();
        let gen = self.gen;
        match std::thread::Builder::new()
            .name("erpc-reader".into())
            .spawn(move || read_loop(sock, tx, gen))
        {
            Ok(h) => Some(h),
            Err(e) => {
                self.transport_error(now, e);
                None
            }
        }
    }

    fn transport_error(&mut self, now: Instant, e: impl std::fmt::Display) {
        self.read_closed = true;
        self.core.handle_transport_error(now, e);
    }

    /// One turn: act on the session's events, write its output, wait for the next message
    /// (or the session's next deadline), handle everything that arrived.
    fn step(&mut self, rx: &Receiver<Inbox>) {
        self.events();
        self.transmit();
        if self.reason.is_some() {
            return;
        }
        let first = match self.core.poll_timeout() {
            Some(t) => {
                let now = Instant::now();
                if t <= now {
                    None
                } else {
                    match rx.recv_timeout(t - now) {
                        Ok(m) => Some(m),
                        Err(RecvTimeoutError::Timeout) => None,
                        Err(RecvTimeoutError::Disconnected) => {
                            self.core.close(now, None);
                            return;
                        }
                    }
                }
            }
            None => match rx.recv() {
                Ok(m) => Some(m),
                Err(_) => {
                    self.core.close(Instant::now(), None);
                    return;
                }
            },
        };
        let now = Instant::now();
        if let Some(m) = first {
            self.on_inbox(now, m);
            for _ in 1..BATCH {
                match rx.try_recv() {
                    Ok(m) => self.on_inbox(now, m),
                    Err(_) => break,
                }
            }
        }
        if self.core.poll_timeout().is_some_and(|t| t <= now) {
            self.core.handle_timeout(now);
        }
        self.events();
        self.transmit();
    }

    fn on_inbox(&mut self, now: Instant, msg: Inbox) {
        let gen = self.gen;
        match msg {
            Inbox::Cmd(cmd) => {
                if self.reason.is_none() {
                    self.apply(now, cmd);
                } else if let Command::Close { .. } = cmd {
                    self.closed_locally = true;
                } else {
                    self.stash.push_back(cmd);
                }
            }
            Inbox::Input { gen: g, data } if g == gen => {
                if self.read_closed {
                    return;
                }
                match self.transport.feed(data, &mut self.rbuf) {
                    Ok(fed) => self.input(now, fed),
                    Err(e) => self.transport_error(now, e),
                }
            }
            Inbox::ReadEnd { gen: g, error } if g == gen => {
                if self.read_closed {
                    return;
                }
                self.read_closed = true;
                match error {
                    None => self.core.handle_eof(now),
                    Some(e) => self.core.handle_transport_error(now, e),
                }
            }
            Inbox::Reply {
                gen: g,
                token,
                reply,
                started,
                service_method,
            } if g == gen => {
                self.shared.log.call_handled(
                    &service_method,
                    now.saturating_duration_since(started),
                    &reply,
                );
                let _ = self.core.reply(now, token, reply);
            }
            Inbox::AuthVerdict { gen: g, reply } if g == gen => {
                let _ = self.core.accept_auth(now, reply);
            }
            // Leftovers of an earlier connection of this session.
            _ => {}
        }
    }

    fn input(&mut self, now: Instant, fed: Fed) {
        if !self.rbuf.is_empty() {
            self.core.handle_input(now, &mut self.rbuf);
        }
        if let Fed::Closed = fed {
            self.read_closed = true;
            self.core.handle_eof(now);
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

    fn events(&mut self) {
        while let Some(ev) = self.core.poll_event() {
            self.on_event(Instant::now(), ev);
        }
    }

    fn overload(&self) -> Status {
        let cfg = self.shared.pool.config();
        Status::new(
            Code::INTERNAL_SERVER_ERROR,
            format!(
                "worker pool overload, max_workers={}, queue={}",
                cfg.max_workers, cfg.queue
            ),
            None::<String>,
        )
    }

    fn on_event(&mut self, now: Instant, ev: Event) {
        let shared = self.shared;
        match ev {
            Event::Call(c) => {
                let handler = shared
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
                shared.log.call_received(m);
                let ctx = CallCtx::new(self.handle.clone(), m, c.reply_codec);
                let work = Work::Call {
                    f: f.clone(),
                    ctx,
                    service_method: m.service_method.clone(),
                    msg: c.message,
                    codecs: shared.session_cfg.codecs.clone(),
                    token: c.token,
                    started: now,
                    gen: self.gen,
                    done: self.handle.inner.tx.clone(),
                };
                if let Err(Work::Call { token, ctx, .. }) = shared.pool.try_submit(work) {
                    shared.pool.count_rejected_call();
                    let st = self.overload();
                    tracing::warn!(service_method = %ctx.service_method(), status = %st, "call refused: worker pool full");
                    let _ = self.core.reply(now, token, Reply::error(st));
                }
            }
            Event::Push(p) => {
                let handler = shared
                    .handlers
                    .get(p.route.0 as usize)
                    .and_then(Option::as_ref);
                let Some(Handler::Push(f)) = handler else {
                    return;
                };
                shared.log.push_received(&p.message);
                let ctx = PushCtx::new(self.handle.clone(), &p.message);
                let work = Work::Push {
                    f: f.clone(),
                    ctx,
                    msg: p.message,
                    codecs: shared.session_cfg.codecs.clone(),
                };
                if let Err(Work::Push { ctx, .. }) = shared.pool.try_submit(work) {
                    shared.pool.count_dropped_push();
                    tracing::warn!(service_method = %ctx.service_method(), status = %self.overload(), "push dropped: worker pool full");
                }
            }
            Event::CallDone(d) => {
                shared.log.call_done(&d);
                if let Some(tx) = self.calls.remove(&d.id) {
                    let _ = tx.send(d.result);
                }
            }
            Event::AuthRequest(m) => match &shared.auth_checker {
                Some(f) => {
                    let work = Work::Auth {
                        f: f.clone(),
                        msg: m,
                        gen: self.gen,
                        done: self.handle.inner.tx.clone(),
                    };
                    if shared.pool.try_submit(work).is_err() {
                        let _ = self.core.accept_auth(now, Reply::error(self.overload()));
                    }
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

    /// Writes everything queued, blocking until the kernel took it.
    fn transmit(&mut self) {
        if self.write_failed {
            return;
        }
        self.core.poll_transmit_into(&mut self.wbuf);
        let r = if self.wbuf.is_empty() {
            self.transport.flush(&mut self.socket)
        } else {
            self.transport.write(&mut self.socket, &mut self.wbuf)
        };
        if let Err(e) = r {
            self.write_failed = true;
            self.wbuf.clear();
            self.transport_error(Instant::now(), e);
            self.events();
        }
    }

    /// Ends the stream: close_notify and FIN, a short wait for the peer's end (commands that
    /// arrive meanwhile are kept for the next connection), then the socket is cut and the
    /// reader thread joined.
    fn finish(
        mut self,
        rx: &Receiver<Inbox>,
        reader: Option<std::thread::JoinHandle<()>>,
    ) -> Ended {
        for (_, tx) in self.calls.drain() {
            let _ = tx.send(Err(Status::from_code(Code::CONN_CLOSED)));
        }
        if !self.write_failed {
            self.transport.close(&mut self.socket);
        }
        let _ = self.socket.shutdown(Shutdown::Write);
        let deadline = Instant::now() + READ_LINGER;
        while !self.read_closed && reader.is_some() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            match rx.recv_timeout(deadline - now) {
                Ok(Inbox::Cmd(Command::Close { .. })) => self.closed_locally = true,
                Ok(Inbox::Cmd(cmd)) => self.stash.push_back(cmd),
                Ok(Inbox::ReadEnd { gen, .. }) if gen == self.gen => self.read_closed = true,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        let _ = self.socket.shutdown(Shutdown::Both);
        *lock(&self.handle.inner.socket) = None;
        if let Some(r) = reader {
            let _ = r.join();
        }
        Ended {
            reason: self.reason.take().unwrap_or(CloseReason::Local),
            opened: self.opened,
            closed_locally: self.closed_locally,
        }
    }
}
