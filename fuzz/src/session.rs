//! Drives two `Session`s (through the `testing::Pair` harness) with an arbitrary script:
//! calls, pushes and replies from both sides, arbitrary bytes injected into either stream,
//! time moving, closes and EOFs, all over a randomly chunked stream. Checks: no panic, no
//! endless loop (the script is bounded by the input), every call completes exactly once,
//! exactly one `Closed` per session once both are closed.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{
    Auth, CallId, CallOptions, Event, HeartbeatPing, IncomingCall, Reply, SessionConfig,
};
use erpc_proto::testing::{Chunking, Pair, Side};
use erpc_proto::{Message, MessageType, Meta, Status, WireConfig};

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
    if flags & 2 != 0 {
        c.context_age = Some(Duration::from_millis(300));
    }
    if flags & 4 != 0 {
        c.heartbeat_pong = true;
        if dialer {
            c.heartbeat_ping = Some(if flags & 8 != 0 {
                HeartbeatPing::call(Duration::from_secs(3))
            } else {
                HeartbeatPing::push(Duration::from_secs(3))
            });
        }
    }
    if flags & 16 != 0 {
        c.auth = if dialer {
            Auth::Bearer {
                codec: erpc_proto::CodecId::PLAIN,
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
    calls: [HashMap<CallId, u32>; 2],
    incoming: [Vec<IncomingCall>; 2],
    closed: [u32; 2],
}

fn drain(pair: &mut Pair, books: &mut Books) {
    for s in [Side::Client, Side::Server] {
        for ev in pair.drain_events(s) {
            match ev {
                Event::Call(c) => books.incoming[idx(s)].push(c),
                Event::CallDone(d) => {
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
                    assert!(books.calls[idx(s)].insert(id, 0).is_none());
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
        for n in books.calls[s].values() {
            assert_eq!(*n, 1, "every call completes exactly once");
        }
        assert_eq!(books.closed[s], 1, "one Closed event per session");
    }
}
