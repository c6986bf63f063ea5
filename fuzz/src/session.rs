//! Drives two `Session`s (through the `testing::Pair` harness) with an arbitrary script:
//! calls, pushes and replies from both sides, arbitrary bytes injected into either stream,
//! time moving (by small steps and by jumps of any size, `Duration::MAX` included), closes
//! and EOFs (half-closes while calls are in flight), cancels, all over a randomly chunked
//! stream. Messages may carry fuzzed values for the meta keys the core interprets (`hb_`,
//! `X-Accept-Body-Codec`) and calls fuzzed timeouts; the configuration may hold
//! `Duration::MAX` for every duration.
//!
//! Checks: no panic, no endless loop (the script is bounded by the input), every call
//! completes exactly once (a cancelled one never), `cancel` answers true exactly for calls
//! that have not completed, exactly one `Closed` per session once both are closed, and
//! `poll_timeout` is live: after `handle_timeout(t)` nothing is due at or before `t`, and an
//! open session with nothing pending and no periodic timer reports no timeout at all.
//!
//! Script: three header bytes (config flags, chunking, seed), then ops of one byte and an
//! argument byte (some read more). Ops below 250 are `op % 10` (the original script, so the
//! corpus keeps its meaning); 250..=255 are the extended ops (meta, durations, jumps,
//! cancel, reply-all, close with any linger).

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    Auth, CallId, CallOptions, Event, HeartbeatPing, IncomingCall, Reply, SessionConfig,
};
use erpc_proto::testing::{Chunking, Pair, Side};
use erpc_proto::{CodecId, Message, MessageType, Meta, Status, WireConfig};

struct Script<'a> {
    data: &'a [u8],
}

impl Script<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.data.split_first()?;
        self.data = rest;
        Some(*b)
    }

    fn bytes(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    /// Up to 8 bytes, big-endian (fewer when the script ends).
    fn u64(&mut self) -> u64 {
        self.bytes(8)
            .iter()
            .fold(0u64, |a, b| (a << 8) | u64::from(*b))
    }

    /// A duration of any size: small, arbitrary seconds or nanoseconds, or `Duration::MAX`.
    fn duration(&mut self) -> Duration {
        match self.byte().unwrap_or(0) % 5 {
            0 => Duration::from_millis(u64::from(self.byte().unwrap_or(0)) * 7),
            1 => Duration::from_secs(u64::from(self.byte().unwrap_or(0)) * 60),
            2 => Duration::from_secs(self.u64()),
            3 => Duration::from_nanos(self.u64()),
            _ => Duration::MAX,
        }
    }

    /// A meta value in the shape of a number: digits of any size, negative ones, the edges
    /// of the integer types, or raw bytes.
    fn number(&mut self) -> Vec<u8> {
        const EDGES: [&str; 10] = [
            "5000000000000000000",
            "18446744073709551615",
            "18446744073709551616",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-1",
            "0",
            "+3",
            "00000000000000000000000000003",
        ];
        match self.byte().unwrap_or(0) % 7 {
            0 => self.byte().unwrap_or(0).to_string().into_bytes(),
            1 => self.u64().to_string().into_bytes(),
            2 => (self.u64() as i64).to_string().into_bytes(),
            3 => EDGES[usize::from(self.byte().unwrap_or(0)) % EDGES.len()]
                .as_bytes()
                .to_vec(),
            4 => {
                let n = usize::from(self.byte().unwrap_or(0) % 24);
                self.bytes(n).to_vec()
            }
            5 => Vec::new(),
            _ => "3"
                .repeat(usize::from(self.byte().unwrap_or(0)))
                .into_bytes(),
        }
    }

    /// Meta for the keys the core interprets, as the bits of `sel` ask.
    fn meta(&mut self, sel: u8, m: &mut Message) {
        if sel & 1 != 0 {
            let v = self.number();
            m.meta.set("hb_", v);
        }
        if sel & 2 != 0 {
            let v = self.number();
            m.meta.add("X-Accept-Body-Codec", v);
        }
        if sel & 4 != 0 {
            m.body_codec = CodecId(self.byte().unwrap_or(0));
        }
    }
}

const METHODS: [&str; 5] = ["/c", "/p", "/heartbeat", "", "/unknown"];

fn config(dialer: bool, flags: u8) -> SessionConfig {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/c").expect("fresh");
    r.add_push("/p").expect("fresh");
    if flags & 1 != 0 {
        r.set_unknown_call();
    }
    let mut c = if dialer {
        SessionConfig::dialer()
    } else {
        SessionConfig::acceptor()
    };
    c.router = r.into();
    c.wire = WireConfig::default().with_max_message_size(4096);
    c.call_timeout = Some(Duration::from_millis(500));
    // Bit 32: every duration of the configuration is `Duration::MAX`.
    let huge = flags & 32 != 0;
    if huge {
        c.call_timeout = Some(Duration::MAX);
        c.session_age = Some(Duration::MAX);
        c.close_linger = Duration::MAX;
    }
    // Bit 64: a short close linger and a session age.
    if flags & 64 != 0 {
        c.close_linger = Duration::from_millis(200);
        c.session_age = Some(Duration::from_secs(20));
    }
    if flags & 2 != 0 {
        c.context_age = Some(if huge {
            Duration::MAX
        } else {
            Duration::from_millis(300)
        });
    }
    if flags & 4 != 0 {
        c.heartbeat_pong = true;
        if dialer {
            let mut ping = if flags & 8 != 0 {
                HeartbeatPing::call(Duration::from_secs(3))
            } else {
                HeartbeatPing::push(Duration::from_secs(3))
            };
            if huge {
                // Past the constructors' bounds: the session clamps it.
                ping.rate = Duration::MAX;
            }
            c.heartbeat_ping = Some(ping);
        }
    }
    if flags & 16 != 0 {
        c.auth = if dialer {
            Auth::Bearer {
                codec: CodecId::PLAIN,
                info: Bytes::from_static(b"token"),
                meta: Meta::new(),
            }
        } else {
            Auth::Checker
        };
    }
    c
}

fn side(b: u8) -> Side {
    if b & 1 == 0 {
        Side::Client
    } else {
        Side::Server
    }
}

fn idx(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

#[derive(Default)]
struct Books {
    /// Completions per issued call.
    calls: [HashMap<CallId, u32>; 2],
    /// The issued calls in order (a `HashMap`'s order would make scripts irreproducible).
    issued: [Vec<CallId>; 2],
    /// Cancelled calls: they must never complete.
    cancelled: [Vec<CallId>; 2],
    incoming: [Vec<IncomingCall>; 2],
    closed: [u32; 2],
}

impl Books {
    fn issue(&mut self, s: Side, id: CallId) {
        assert!(self.calls[idx(s)].insert(id, 0).is_none());
        self.issued[idx(s)].push(id);
    }
}

/// Timer liveness, checked after every op on both sides.
fn check_timers(pair: &mut Pair, flags: u8) {
    for s in [Side::Client, Side::Server] {
        let now = pair.now();
        let session = pair.session(s);
        session.handle_timeout(now);
        let next = session.poll_timeout();
        assert!(
            next.is_none_or(|t| t > now),
            "still due after handle_timeout: {next:?} <= {now:?}"
        );
        if session.is_closed() {
            assert_eq!(next, None, "a closed session has no timers");
        }
        // Heartbeats (4) and a session age (32, 64) are periodic or session-wide.
        if flags & (4 | 32 | 64) == 0
            && session.is_open()
            && session.pending_calls() == 0
            && session.calls_in_flight() == 0
        {
            assert_eq!(
                next, None,
                "a deadline of a completed call is still reported"
            );
        }
    }
}

fn drain(pair: &mut Pair, books: &mut Books) {
    for s in [Side::Client, Side::Server] {
        for ev in pair.drain_events(s) {
            match ev {
                Event::Call(c) => books.incoming[idx(s)].push(c),
                Event::CallDone(d) => {
                    assert!(
                        !books.cancelled[idx(s)].contains(&d.id),
                        "a cancelled call completed"
                    );
                    let n = books.calls[idx(s)]
                        .get_mut(&d.id)
                        .expect("completion of an issued call");
                    *n += 1;
                    assert_eq!(*n, 1, "a call completed twice");
                }
                Event::Closed(_) => books.closed[idx(s)] += 1,
                Event::AuthRequest(_) => {
                    let now = pair.now();
                    let _ = pair.session(s).accept_auth(now, Reply::ok("pass"));
                }
                Event::Push(_) | Event::Authenticated(_) => {}
                _ => {}
            }
        }
    }
}

/// Runs one script. Panics if an invariant breaks.
pub fn check(data: &[u8]) {
    let mut sc = Script { data };
    let (Some(flags), Some(chunk), Some(seed)) = (sc.byte(), sc.byte(), sc.byte()) else {
        return;
    };
    let chunking = match chunk % 3 {
        0 => Chunking::Whole,
        1 => Chunking::Every(1 + (chunk as usize >> 2)),
        _ => Chunking::Random {
            seed: u64::from(seed),
            max: 1 + chunk as usize,
        },
    };
    let mut pair = Pair::new(config(true, flags), config(false, flags))
        .with_chunking(chunking)
        .with_latency(Duration::from_millis(u64::from(seed % 8)));
    let mut books = Books::default();
    while let Some(op) = sc.byte() {
        let now = pair.now();
        let arg = sc.byte().unwrap_or(0);
        if op >= 250 {
            extended_op(&mut pair, &mut books, &mut sc, op, arg);
            drain(&mut pair, &mut books);
            check_timers(&mut pair, flags);
            // What the timers completed is booked before the next op looks at the books.
            drain(&mut pair, &mut books);
            continue;
        }
        match op % 10 {
            0 | 1 => {
                let s = side(op >> 4);
                let mut m =
                    Message::new(MessageType::CALL, 0, METHODS[arg as usize % METHODS.len()]);
                m.body = Bytes::copy_from_slice(sc.bytes(arg as usize % 32));
                if arg & 0x80 != 0 {
                    m.xfer_pipe =
                        erpc_proto::XferPipe::from_ids(if arg & 0x40 != 0 { b"gm" } else { b"m" });
                }
                let opts = if arg & 0x20 != 0 {
                    CallOptions::no_timeout()
                } else {
                    CallOptions::default()
                };
                if let Ok(id) = pair.session(s).call(now, m, opts) {
                    books.issue(s, id);
                }
            }
            2 => {
                let s = side(arg);
                let m = Message::new(
                    MessageType::PUSH,
                    0,
                    METHODS[(arg >> 1) as usize % METHODS.len()],
                );
                let _ = pair.session(s).push(now, m);
            }
            3 => {
                let s = side(arg);
                let list = &mut books.incoming[idx(s)];
                if !list.is_empty() {
                    let c = list.remove((arg >> 1) as usize % list.len());
                    let reply = match arg >> 5 {
                        0 => Reply::error(Status::new(1001, "e", Some("c"))),
                        1 => Reply::ok(vec![b'x'; 5000]), // over the limit: becomes a 500
                        _ => Reply::ok(c.message.body.clone()),
                    };
                    let _ = pair.session(s).reply(now, c.token, reply);
                }
            }
            4 => pair.advance(Duration::from_millis(u64::from(arg) * 13)),
            5 => pair.settle(),
            6 | 7 => {
                let s = side(op);
                let raw = Bytes::copy_from_slice(sc.bytes(arg as usize));
                pair.inject(s, raw);
            }
            8 => {
                let linger = (arg & 2 != 0).then(|| Duration::from_millis(u64::from(arg)));
                pair.session(side(arg)).close(now, linger);
            }
            _ => pair.close_transport(side(arg)),
        }
        drain(&mut pair, &mut books);
        check_timers(&mut pair, flags);
        drain(&mut pair, &mut books);
    }
    // Finish: every call must complete once both sessions are closed.
    pair.settle();
    drain(&mut pair, &mut books);
    for s in [Side::Client, Side::Server] {
        let now = pair.now();
        pair.session(s).close(now, None);
    }
    pair.settle();
    drain(&mut pair, &mut books);
    for s in 0..2 {
        for (id, n) in &books.calls[s] {
            if books.cancelled[s].contains(id) {
                assert_eq!(*n, 0, "a cancelled call never completes");
            } else {
                assert_eq!(*n, 1, "every call completes exactly once");
            }
        }
        assert_eq!(books.closed[s], 1, "one Closed event per session");
    }
}

/// Ops 250..=255: messages with interpreted meta and fuzzed timeouts, time jumps of any
/// size, cancels, replies to everything in flight, closes with any linger.
fn extended_op(pair: &mut Pair, books: &mut Books, sc: &mut Script<'_>, op: u8, arg: u8) {
    let now = pair.now();
    let s = side(arg);
    match op {
        250 | 251 => {
            let sm = METHODS[usize::from(arg >> 1) % METHODS.len()];
            let mtype = if op == 250 {
                MessageType::CALL
            } else {
                MessageType::PUSH
            };
            let mut m = Message::new(mtype, 0, sm);
            let sel = sc.byte().unwrap_or(0);
            sc.meta(sel, &mut m);
            let n = usize::from(sel >> 4);
            m.body = Bytes::copy_from_slice(sc.bytes(n));
            if op == 250 {
                let opts = match arg >> 5 {
                    0 => CallOptions::default(),
                    1 => CallOptions::no_timeout(),
                    _ => CallOptions::timeout(sc.duration()),
                };
                if let Ok(id) = pair.session(s).call(now, m, opts) {
                    books.issue(s, id);
                }
            } else {
                let _ = pair.session(s).push(now, m);
            }
        }
        252 => {
            let d = sc.duration();
            if arg & 1 == 0 {
                pair.jump(d);
            } else {
                // `advance` stops at every timer on the way: only for short steps.
                pair.advance(d.min(Duration::from_secs(30)));
            }
        }
        253 => {
            let list = &books.issued[idx(s)];
            if !list.is_empty() {
                let id = list[usize::from(arg >> 1) % list.len()];
                let open = books.calls[idx(s)][&id] == 0 && !books.cancelled[idx(s)].contains(&id);
                let was_pending = pair.session(s).cancel(id);
                assert_eq!(
                    was_pending, open,
                    "cancel answers whether the call was pending"
                );
                if was_pending {
                    books.cancelled[idx(s)].push(id);
                }
            }
        }
        254 => {
            for c in std::mem::take(&mut books.incoming[idx(s)]) {
                let reply = if arg & 2 != 0 {
                    Reply::ok(c.message.body.clone())
                } else {
                    Reply::error(Status::new(1001, "e", None::<String>))
                };
                let _ = pair.session(s).reply(now, c.token, reply);
            }
        }
        _ => {
            let linger = (arg & 2 != 0).then(|| sc.duration());
            pair.session(s).close(now, linger);
        }
    }
}
