//! The two-session test bench: [`Pair`].

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};

use crate::plugin::SessionInfo;
use crate::session::{Event, Session, SessionConfig};

/// One end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)] // one side or the other of a session pair
pub enum Side {
    /// The dialing session.
    Client,
    /// The accepting session.
    Server,
}

impl Side {
    fn idx(self) -> usize {
        match self {
            Side::Client => 0,
            Side::Server => 1,
        }
    }

    /// The other end.
    pub fn peer(self) -> Side {
        match self {
            Side::Client => Side::Server,
            Side::Server => Side::Client,
        }
    }
}

/// How bytes are cut before they reach the receiving session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::exhaustive_enums)] // test knobs, matched by the tests
pub enum Chunking {
    /// Each write arrives whole.
    Whole,
    /// Every write is cut into pieces of this many bytes (1 = byte by byte).
    Every(usize),
    /// Pieces of pseudo-random length 1..=max from a seeded generator (reproducible).
    Random {
        /// Generator seed.
        seed: u64,
        /// Largest piece.
        max: usize,
    },
}

#[derive(Debug)]
enum Segment {
    Data(Bytes),
    Eof,
}

#[derive(Debug)]
struct End {
    session: Session,
    /// The read buffer the "adapter" keeps for this session.
    buf: BytesMut,
    /// Bytes on their way to this end: (arrival time, segment).
    inbound: VecDeque<(Instant, Segment)>,
    events: VecDeque<Event>,
    eof_sent: bool,
    /// Output of this end is lost (a partition).
    silenced: bool,
}

/// A deterministic two-session test bench: a dialing and an accepting [`Session`] wired back
/// to back through in-memory "wires" with a virtual clock, optional latency, and byte streams
/// cut at chosen or pseudo-random points.
///
/// It is the tool for testing anything built on the core without sockets: tests, property
/// tests and fuzzers replay any scenario exactly.
///
/// ```
/// use std::time::Duration;
/// use erpc_proto::session::{CallOptions, Event, Reply, SessionConfig};
/// use erpc_proto::testing::{Chunking, Pair, Side};
/// use erpc_proto::{router::{Mapper, Router}, Message, MessageType};
///
/// let mut router = Router::new(Mapper::Http);
/// router.add_call("/math/add").unwrap();
/// let mut server = SessionConfig::acceptor();
/// server.router = router.into();
/// let mut pair = Pair::new(SessionConfig::dialer(), server)
///     .with_latency(Duration::from_millis(5))
///     .with_chunking(Chunking::Every(1));
///
/// let mut msg = Message::new(MessageType::CALL, 0, "/math/add");
/// msg.body = "[1,2]".into();
/// let now = pair.now();
/// let id = pair.session(Side::Client).call(now, msg, CallOptions::default()).unwrap();
/// pair.settle();
/// let Some(Event::Call(call)) = pair.next_event(Side::Server) else { panic!() };
/// let now = pair.now();
/// pair.session(Side::Server).reply(now, call.token, Reply::ok("3")).unwrap();
/// pair.settle();
/// let Some(Event::CallDone(done)) = pair.next_event(Side::Client) else { panic!() };
/// assert_eq!(done.id, id);
/// assert_eq!(&done.result.unwrap().body[..], b"3");
/// ```
#[derive(Debug)]
pub struct Pair {
    now: Instant,
    latency: Duration,
    chunking: Chunking,
    rng: u64,
    ends: [End; 2],
}

impl Pair {
    /// A pair of a dialer (`client`, its `dialed` flag forced on) and an acceptor (`server`),
    /// both started at the virtual time origin.
    pub fn new(mut client: SessionConfig, mut server: SessionConfig) -> Pair {
        client.dialed = true;
        server.dialed = false;
        // The virtual clock needs an origin; it is the only clock reading and all later times
        // are derived from it.
        #[allow(clippy::disallowed_methods)]
        let now = Instant::now();
        let end = |cfg, id: &str, dialed| End {
            session: Session::new(cfg, SessionInfo::new(id, Some("pair".into()), dialed), now),
            buf: BytesMut::new(),
            inbound: VecDeque::new(),
            events: VecDeque::new(),
            eof_sent: false,
            silenced: false,
        };
        let mut p = Pair {
            now,
            latency: Duration::ZERO,
            chunking: Chunking::Whole,
            rng: 0x9E37_79B9_7F4A_7C15,
            ends: [end(client, "client", true), end(server, "server", false)],
        };
        p.collect();
        p
    }

    /// Sets the one-way latency of both wires.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Sets how bytes are cut.
    pub fn with_chunking(mut self, chunking: Chunking) -> Self {
        if let Chunking::Random { seed, .. } = chunking {
            self.rng = seed | 1;
        }
        self.chunking = chunking;
        self
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A session, to give it commands (pass [`Pair::now`] as `now`).
    pub fn session(&mut self, side: Side) -> &mut Session {
        &mut self.ends[side.idx()].session
    }

    /// The next event a session reported (events are collected as the pair runs).
    pub fn next_event(&mut self, side: Side) -> Option<Event> {
        self.collect();
        self.ends[side.idx()].events.pop_front()
    }

    /// Every event a session reported so far.
    pub fn drain_events(&mut self, side: Side) -> Vec<Event> {
        self.collect();
        self.ends[side.idx()].events.drain(..).collect()
    }

    /// Simulates `side` closing its socket: after the bytes already on the wire, the peer
    /// sees end of stream. (The pair does this by itself when a session reports
    /// [`Event::Closed`], as a driver would.)
    pub fn close_transport(&mut self, side: Side) {
        self.collect();
        let arrive = later(self.now, self.latency);
        let end = &mut self.ends[side.idx()];
        if !end.eof_sent {
            end.eof_sent = true;
            self.ends[side.peer().idx()]
                .inbound
                .push_back((arrive, Segment::Eof));
        }
    }

    /// Loses everything `side` writes from now on, without an end of stream: the peer sees
    /// silence, as across a network partition.
    pub fn silence(&mut self, side: Side) {
        self.collect();
        self.ends[side.idx()].silenced = true;
    }

    /// Puts raw bytes on the wire towards `to`, as if its peer had written them.
    pub fn inject(&mut self, to: Side, bytes: Bytes) {
        let arrive = later(self.now, self.latency);
        self.ends[to.idx()]
            .inbound
            .push_back((arrive, Segment::Data(bytes)));
    }

    /// Moves output to the wires and collects events, without moving time.
    fn collect(&mut self) {
        let arrive = later(self.now, self.latency);
        for i in 0..2 {
            let (a, b) = self.ends.split_at_mut(1);
            let (from, to) = if i == 0 {
                (&mut a[0], &mut b[0])
            } else {
                (&mut b[0], &mut a[0])
            };
            if !from.eof_sent && !from.silenced {
                while let Some(bytes) = from.session.poll_transmit() {
                    to.inbound.push_back((arrive, Segment::Data(bytes)));
                }
            } else {
                while from.session.poll_transmit().is_some() {}
            }
            while let Some(ev) = from.session.poll_event() {
                // Like a real driver: once the session closed and its last bytes are out,
                // close the transport, so the peer sees end of stream.
                if matches!(ev, Event::Closed(_)) && !from.eof_sent && !from.silenced {
                    while let Some(bytes) = from.session.poll_transmit() {
                        to.inbound.push_back((arrive, Segment::Data(bytes)));
                    }
                    from.eof_sent = true;
                    to.inbound.push_back((arrive, Segment::Eof));
                }
                from.events.push_back(ev);
            }
        }
    }

    fn next_piece(&mut self, remaining: usize) -> usize {
        match self.chunking {
            Chunking::Whole => remaining,
            Chunking::Every(n) => n.max(1).min(remaining),
            Chunking::Random { max, .. } => {
                // xorshift64*
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
                (1 + (r % max.max(1) as u64) as usize).min(remaining)
            }
        }
    }

    /// Delivers everything due at the current time; returns whether anything was delivered.
    fn deliver_due(&mut self) -> bool {
        let mut any = false;
        for i in 0..2 {
            while let Some((t, _)) = self.ends[i].inbound.front() {
                if *t > self.now {
                    break;
                }
                any = true;
                let (_, seg) = self.ends[i].inbound.pop_front().expect("peeked");
                let now = self.now;
                match seg {
                    Segment::Data(mut data) => {
                        while !data.is_empty() {
                            let n = self.next_piece(data.len());
                            let piece = data.split_to(n);
                            let end = &mut self.ends[i];
                            end.buf.extend_from_slice(&piece);
                            end.session.handle_input(now, &mut end.buf);
                        }
                    }
                    Segment::Eof => self.ends[i].session.handle_eof(now),
                }
            }
        }
        any
    }

    fn fire_timers(&mut self) -> bool {
        let mut any = false;
        for end in &mut self.ends {
            if end.session.poll_timeout().is_some_and(|t| t <= self.now) {
                end.session.handle_timeout(self.now);
                // Otherwise `run_now` would spin: a session must not stay due after its timers
                // fired.
                assert!(
                    end.session.poll_timeout().is_none_or(|t| t > self.now),
                    "poll_timeout still reports a due time after handle_timeout"
                );
                any = true;
            }
        }
        any
    }

    /// The next time something happens on its own: a delivery or a session timer.
    fn next_wakeup(&self) -> Option<Instant> {
        self.ends
            .iter()
            .flat_map(|e| [e.inbound.front().map(|(t, _)| *t), e.session.poll_timeout()])
            .flatten()
            .min()
    }

    fn run_now(&mut self) {
        loop {
            self.collect();
            let delivered = self.deliver_due();
            let fired = self.fire_timers();
            if !delivered && !fired {
                self.collect();
                break;
            }
        }
    }

    /// Runs until every wire is empty, moving the clock to each delivery in turn (and firing
    /// session timers that fall due on the way), but never past the last delivery.
    pub fn settle(&mut self) {
        self.run_now();
        while let Some(t) = self
            .ends
            .iter()
            .filter_map(|e| e.inbound.front().map(|(t, _)| *t))
            .min()
        {
            let next = self.next_wakeup().map_or(t, |w| w.min(t));
            self.now = self.now.max(next);
            self.run_now();
        }
    }

    /// Moves the clock forward by `d` at once, as a driver that was suspended sees it: every
    /// delivery and timer due by then happens at the new time, in one go (where
    /// [`advance`](Pair::advance) stops at each of them on the way). Any `d` is fine: the
    /// clock stops at the latest time [`Instant`] represents.
    pub fn jump(&mut self, d: Duration) {
        self.now = later(self.now, d);
        self.run_now();
    }

    /// Moves the clock forward by `d`, delivering bytes and firing timers in time order. A `d`
    /// that would pass what [`Instant`] can represent stops at the latest representable time
    /// (roughly).
    pub fn advance(&mut self, d: Duration) {
        let target = later(self.now, d);
        self.run_now();
        while let Some(next) = self.next_wakeup() {
            if next > target {
                break;
            }
            self.now = self.now.max(next);
            self.run_now();
        }
        self.now = target;
        self.run_now();
    }
}

/// `t + d`, or the latest time this platform's [`Instant`] represents (within a nanosecond
/// or so) when that overflows: virtual time may jump by any duration without a panic.
fn later(t: Instant, d: Duration) -> Instant {
    if let Some(x) = t.checked_add(d) {
        return x;
    }
    // Binary search for the largest addable duration.
    let (mut lo, mut hi) = (Duration::ZERO, d);
    while hi.saturating_sub(lo) > Duration::from_nanos(1) {
        let mid = lo + (hi - lo) / 2;
        if t.checked_add(mid).is_some() {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    t + lo
}
