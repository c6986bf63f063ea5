//! Property test: for random interleavings of calls, pushes, replies, time and stream
//! chunking, every call completes exactly once and no event is lost or duplicated.
#![cfg(feature = "testing")]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{CallId, CallOptions, Event, IncomingCall, Reply, SessionConfig};
use erpc_proto::testing::{Chunking, Pair, Side};
use erpc_proto::{Message, MessageType, Status};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Call {
        side: bool,
        timeout_ms: Option<u16>,
        body: u8,
    },
    Push {
        side: bool,
    },
    Reply {
        side: bool,
        pick: u8,
        error: bool,
    },
    Advance {
        ms: u16,
    },
    Settle,
    Close {
        side: bool,
        graceful: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (any::<bool>(), proptest::option::of(1u16..500), any::<u8>())
            .prop_map(|(side, timeout_ms, body)| Op::Call { side, timeout_ms, body }),
        2 => any::<bool>().prop_map(|side| Op::Push { side }),
        4 => (any::<bool>(), any::<u8>(), any::<bool>()).prop_map(|(side, pick, error)| Op::Reply { side, pick, error }),
        2 => (0u16..300).prop_map(|ms| Op::Advance { ms }),
        2 => Just(Op::Settle),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(side, graceful)| Op::Close { side, graceful }),
    ]
}

fn side(b: bool) -> Side {
    if b {
        Side::Client
    } else {
        Side::Server
    }
}

fn cfg(dialer: bool) -> SessionConfig {
    let mut r = Router::new(Mapper::Http);
    r.add_call("/c").unwrap();
    r.add_push("/p").unwrap();
    let mut c = if dialer {
        SessionConfig::dialer()
    } else {
        SessionConfig::acceptor()
    };
    c.router = Arc::new(r);
    c
}

#[derive(Default)]
struct Books {
    /// Calls issued per side, with the number of completions seen.
    calls: [HashMap<CallId, u32>; 2],
    pushes_sent: [u32; 2],
    pushes_seen: [u32; 2],
    incoming: [Vec<IncomingCall>; 2],
    closed: [u32; 2],
}

fn idx(s: Side) -> usize {
    match s {
        Side::Client => 0,
        Side::Server => 1,
    }
}

fn drain(pair: &mut Pair, books: &mut Books) {
    for s in [Side::Client, Side::Server] {
        for ev in pair.drain_events(s) {
            match ev {
                Event::Call(c) => books.incoming[idx(s)].push(c),
                Event::Push(_) => books.pushes_seen[idx(s.peer())] += 1,
                Event::CallDone(d) => {
                    *books.calls[idx(s)]
                        .get_mut(&d.id)
                        .expect("completion of an issued call") += 1;
                }
                Event::Closed(_) => books.closed[idx(s)] += 1,
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn every_call_completes_exactly_once(
        ops in proptest::collection::vec(op(), 1..80),
        seed in any::<u64>(),
        max_chunk in 1usize..200,
        latency_ms in 0u64..20,
    ) {
        let mut pair = Pair::new(cfg(true), cfg(false))
            .with_chunking(Chunking::Random { seed, max: max_chunk })
            .with_latency(Duration::from_millis(latency_ms));
        let mut books = Books::default();
        for op in ops {
            let now = pair.now();
            match op {
                Op::Call { side: s, timeout_ms, body } => {
                    let s = side(s);
                    let mut m = Message::new(MessageType::CALL, 0, "/c");
                    m.body = Bytes::from(vec![body; body as usize % 7]);
                    let opts = match timeout_ms {
                        Some(ms) => CallOptions::timeout(Duration::from_millis(ms.into())),
                        None => CallOptions::no_timeout(),
                    };
                    if let Ok(id) = pair.session(s).call(now, m, opts) {
                        prop_assert!(books.calls[idx(s)].insert(id, 0).is_none(), "call ids are unique");
                    }
                }
                Op::Push { side: s } => {
                    let s = side(s);
                    if pair.session(s).push(now, Message::new(MessageType::PUSH, 0, "/p")).is_ok() {
                        books.pushes_sent[idx(s)] += 1;
                    }
                }
                Op::Reply { side: s, pick, error } => {
                    let s = side(s);
                    let list = &mut books.incoming[idx(s)];
                    if !list.is_empty() {
                        let c = list.remove(pick as usize % list.len());
                        let reply = if error {
                            Reply::error(Status::new(1001, "e", None::<&str>))
                        } else {
                            Reply::ok(c.message.body.clone())
                        };
                        let _ = pair.session(s).reply(now, c.token, reply);
                    }
                }
                Op::Advance { ms } => pair.advance(Duration::from_millis(ms.into())),
                Op::Settle => pair.settle(),
                Op::Close { side: s, graceful } => {
                    let linger = graceful.then_some(Duration::from_millis(200));
                    pair.session(side(s)).close(now, linger);
                }
            }
            drain(&mut pair, &mut books);
        }
        // Answer everything still waiting, then let all deadlines and lingers pass.
        for s in [Side::Client, Side::Server] {
            for c in std::mem::take(&mut books.incoming[idx(s)]) {
                let now = pair.now();
                let _ = pair.session(s).reply(now, c.token, Reply::ok(Bytes::new()));
            }
        }
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
                prop_assert_eq!(*n, 1, "call {:?} of side {} completed {} times", id, s, n);
            }
            prop_assert_eq!(books.closed[s], 1, "one Closed event per session");
            prop_assert!(books.pushes_seen[s] <= books.pushes_sent[s], "no push is duplicated");
        }
    }

    #[test]
    fn pushes_are_not_lost_on_an_open_session(
        n in 1u32..60,
        seed in any::<u64>(),
        max_chunk in 1usize..64,
    ) {
        let mut pair = Pair::new(cfg(true), cfg(false)).with_chunking(Chunking::Random { seed, max: max_chunk });
        let now = pair.now();
        for i in 0..n {
            let mut m = Message::new(MessageType::PUSH, 0, "/p");
            m.body = Bytes::from(i.to_string());
            pair.session(Side::Client).push(now, m).unwrap();
        }
        pair.settle();
        let got: Vec<Bytes> = pair
            .drain_events(Side::Server)
            .into_iter()
            .map(|e| match e {
                Event::Push(p) => p.message.body,
                other => panic!("{other:?}"),
            })
            .collect();
        let want: Vec<Bytes> = (0..n).map(|i| Bytes::from(i.to_string())).collect();
        prop_assert_eq!(got, want, "in order, none lost, none duplicated");
    }
}
