//! The facade of `erpc-runtime-blocking`: its API is already synchronous, so this is a thin
//! wrapper; only `call_many` needs threads (one per call, as a blocking program would).

use std::sync::Arc;
use std::time::Duration;

use erpc_runtime_blocking::{builder, CallCtx, Peer, PushCtx, Raw, Session, Status};

use crate::conformance::facade::{
    add, custom_error, Client, ClientOpts, Conn, Inbox, Nums, Probe, Runtime, Server, ServerOpts,
    Sum, Text, ADD, BYTES, ECHO, ECHO_BACK, ERR, NOTE, RAW_ECHO, SLOW, STEP,
};

/// std threads.
#[derive(Debug)]
pub(crate) struct Blocking;

impl Runtime for Blocking {
    fn name(&self) -> &'static str {
        "blocking"
    }

    fn server(&self, opts: ServerOpts) -> Result<Box<dyn Server>, String> {
        let probe = Arc::new(Probe::default());
        let (p1, p2) = (Arc::clone(&probe), Arc::clone(&probe));
        let mut b = builder(opts.config)
            .call(ADD, |_ctx: CallCtx, a: Nums| Ok::<_, Status>(add(&a)))
            .call(ERR, |_ctx: CallCtx, _a: Nums| Err::<Sum, _>(custom_error()))
            .call(SLOW, move |_ctx: CallCtx, a: Nums| {
                p1.entered.put(a.nums.first().copied().unwrap_or(0));
                p1.gate.wait_blocking(STEP);
                Ok::<_, Status>(add(&a))
            })
            .call(BYTES, |_ctx: CallCtx, b: Raw| {
                Ok::<_, Status>(b.len() as u64)
            })
            .call(RAW_ECHO, |_ctx: CallCtx, b: Raw| Ok::<_, Status>(b))
            .push(ECHO, move |ctx: PushCtx, t: Text| {
                p2.pushes.put(t.text.clone());
                let _ = ctx.session().push(ECHO_BACK, &t);
            });
        if let Some(tls) = opts.tls {
            b = b.tls_server(tls);
        }
        let peer = b.build().map_err(|e| e.to_string())?;
        let addr = peer.listen().map_err(|e| e.to_string())?;
        Ok(Box::new(BlockingServer { peer, addr, probe }))
    }

    fn client(&self, opts: ClientOpts) -> Result<Box<dyn Client>, String> {
        let inbox = Arc::new(Inbox::default());
        let mut b = builder(opts.config);
        for route in [ECHO_BACK, NOTE] {
            let i = Arc::clone(&inbox);
            b = b.push(route, move |_ctx: PushCtx, t: Text| {
                i.pushes.put((route.to_owned(), t.text))
            });
        }
        if let Some((cfg, name)) = opts.tls {
            b = b.tls_client(cfg, &name);
        }
        let peer = b.build().map_err(|e| e.to_string())?;
        Ok(Box::new(BlockingClient { peer, inbox }))
    }
}

struct BlockingServer {
    peer: Peer,
    addr: String,
    probe: Arc<Probe>,
}

impl Server for BlockingServer {
    fn addr(&self) -> &str {
        &self.addr
    }

    fn probe(&self) -> &Probe {
        &self.probe
    }

    fn count_sessions(&self) -> usize {
        self.peer.count_sessions()
    }

    fn stats(&self) -> erpc_peer::PeerStats {
        self.peer.stats()
    }

    fn is_closing(&self) -> bool {
        self.peer.is_closing()
    }

    fn push_all(&self, route: &str, body: &Text) -> Vec<Result<(), Status>> {
        let mut out = Vec::new();
        self.peer.range_sessions(|s| {
            out.push(s.push(route, body));
            true
        });
        out
    }

    fn close(&self) {
        self.peer.close();
    }
}

impl Drop for BlockingServer {
    fn drop(&mut self) {
        self.probe.gate.open();
        if !self.peer.is_closing() {
            self.peer.close();
        }
    }
}

struct BlockingClient {
    peer: Peer,
    inbox: Arc<Inbox>,
}

impl Client for BlockingClient {
    fn dial(&self, addr: &str) -> Result<Box<dyn Conn>, Status> {
        Ok(Box::new(BlockingConn(self.peer.dial(addr)?)))
    }

    fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    fn close(&self) {
        self.peer.close();
    }
}

impl Drop for BlockingClient {
    fn drop(&mut self) {
        if !self.peer.is_closing() {
            self.peer.close();
        }
    }
}

struct BlockingConn(Session);

impl Conn for BlockingConn {
    fn call(&self, route: &str, args: &Nums, timeout: Option<Duration>) -> Result<Sum, Status> {
        let mut c = self.0.call_with(route);
        if let Some(t) = timeout {
            c = c.timeout(t);
        }
        c.send::<_, Sum>(args).map(|r| r.body)
    }

    fn call_bytes(&self, route: &str, body: Vec<u8>) -> Result<u64, Status> {
        self.0.call(route, &Raw::from(body))
    }

    fn call_many(&self, route: &str, args: Vec<Nums>) -> Vec<Result<Sum, Status>> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = args
                .iter()
                .map(|a| {
                    std::thread::Builder::new()
                        .stack_size(128 * 1024)
                        .spawn_scoped(scope, move || self.0.call::<_, Sum>(route, a))
                        .expect("spawn a caller thread")
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("caller thread panicked"))
                .collect()
        })
    }

    fn push(&self, route: &str, body: &Text) -> Result<(), Status> {
        self.0.push(route, body)
    }

    fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    fn wait_closed(&self, limit: Duration) -> bool {
        self.0.wait_closed_timeout(limit)
    }
}
