//! The facade of the async adapters, written once over `erpc_peer` (which both async adapters
//! re-export with their runtime filled in). A runtime contributes an [`Exec`]: how to build a
//! peer through its adapter's public `builder`, and how to block on a future.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, Instant};

use erpc_peer::{CallCtx, Peer, PeerBuilder, PeerConfig, PushCtx, Raw, Session, Status};
use futures_util::future::{join_all, select};

use crate::conformance::facade::{
    add, custom_error, Client, ClientOpts, Conn, Inbox, Nums, Probe, Runtime, Server, ServerOpts,
    Sum, Text, ADD, BYTES, ECHO, ECHO_BACK, ERR, NOTE, RAW_ECHO, SLOW, STEP,
};

/// An executor an async adapter runs on.
pub(crate) trait Exec: Clone + Send + Sync + Sized + 'static {
    /// The adapter's runtime type.
    type Rt: erpc_peer::Runtime;
    /// For messages.
    const NAME: &'static str;
    /// A fresh executor for one peer (or a handle on a global one).
    fn start() -> Self;
    /// The runtime value peers are built with.
    fn rt(&self) -> Self::Rt;
    /// The adapter's public builder.
    fn builder(&self, config: PeerConfig) -> PeerBuilder<Self::Rt>;
    /// Runs `fut` to completion on this executor, blocking the calling thread.
    fn block_on<F: Future>(&self, fut: F) -> F::Output;
}

/// tokio: each peer gets its own two-thread runtime.
#[derive(Clone, Debug)]
pub(crate) struct TokioExec(Arc<tokio::runtime::Runtime>);

impl Exec for TokioExec {
    type Rt = erpc_runtime_tokio::Tokio;
    const NAME: &'static str = "tokio";

    fn start() -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        TokioExec(Arc::new(rt))
    }

    fn rt(&self) -> Self::Rt {
        erpc_runtime_tokio::Tokio
    }

    fn builder(&self, config: PeerConfig) -> PeerBuilder<Self::Rt> {
        erpc_runtime_tokio::builder(config)
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        self.0.block_on(fut)
    }
}

/// async-std: its global executor.
#[derive(Clone, Debug)]
pub(crate) struct AsyncStdExec;

impl Exec for AsyncStdExec {
    type Rt = erpc_runtime_async_std::AsyncIo;
    const NAME: &'static str = "async-std";

    fn start() -> Self {
        AsyncStdExec
    }

    fn rt(&self) -> Self::Rt {
        erpc_runtime_async_std::AsyncIo::async_std()
    }

    fn builder(&self, config: PeerConfig) -> PeerBuilder<Self::Rt> {
        erpc_runtime_async_std::builder_on(self.rt(), config)
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        async_std::task::block_on(fut)
    }
}

/// smol: its global executor.
#[derive(Clone, Debug)]
pub(crate) struct SmolExec;

impl Exec for SmolExec {
    type Rt = erpc_runtime_async_std::AsyncIo;
    const NAME: &'static str = "smol";

    fn start() -> Self {
        SmolExec
    }

    fn rt(&self) -> Self::Rt {
        erpc_runtime_async_std::AsyncIo::smol()
    }

    fn builder(&self, config: PeerConfig) -> PeerBuilder<Self::Rt> {
        erpc_runtime_async_std::builder_on(self.rt(), config)
    }

    fn block_on<F: Future>(&self, fut: F) -> F::Output {
        smol::block_on(fut)
    }
}

/// The [`Runtime`] of an async adapter.
#[derive(Debug)]
pub(crate) struct AsyncRuntime<E>(PhantomData<fn() -> E>);

impl<E> AsyncRuntime<E> {
    pub(crate) const fn new() -> Self {
        AsyncRuntime(PhantomData)
    }
}

/// Waits for `fut` at most `limit` on the adapter's own timer; `None` when time ran out.
async fn bounded<R: erpc_peer::Runtime, F: Future>(
    rt: &R,
    limit: Duration,
    fut: F,
) -> Option<F::Output> {
    use futures_util::future::Either;
    match select(Box::pin(fut), rt.timer(Instant::now() + limit)).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

impl<E: Exec> Runtime for AsyncRuntime<E> {
    fn name(&self) -> &'static str {
        E::NAME
    }

    fn server(&self, opts: ServerOpts) -> Result<Box<dyn Server>, String> {
        let exec = E::start();
        let probe = Arc::new(Probe::default());
        let (p1, p2, rt) = (Arc::clone(&probe), Arc::clone(&probe), exec.rt());
        let mut b = exec
            .builder(opts.config)
            .call(ADD, |_ctx: CallCtx, a: Nums| async move {
                Ok::<_, Status>(add(&a))
            })
            .call(ERR, |_ctx: CallCtx, _a: Nums| async move {
                Err::<Sum, _>(custom_error())
            })
            .call(SLOW, move |_ctx: CallCtx, a: Nums| {
                let (p, rt) = (Arc::clone(&p1), rt.clone());
                async move {
                    p.entered.put(a.nums.first().copied().unwrap_or(0));
                    bounded(&rt, STEP, p.gate.wait()).await;
                    Ok::<_, Status>(add(&a))
                }
            })
            .call(BYTES, |_ctx: CallCtx, b: Raw| async move {
                Ok::<_, Status>(b.len() as u64)
            })
            .call(RAW_ECHO, |_ctx: CallCtx, b: Raw| async move {
                Ok::<_, Status>(b)
            })
            .push(ECHO, move |ctx: PushCtx, t: Text| {
                let p = Arc::clone(&p2);
                async move {
                    p.pushes.put(t.text.clone());
                    let _ = ctx.session().push(ECHO_BACK, &t).await;
                }
            });
        if let Some(tls) = opts.tls {
            b = b.tls_server(tls);
        }
        let peer = b.build().map_err(|e| e.to_string())?;
        let addr = exec.block_on(peer.listen()).map_err(|e| e.to_string())?;
        Ok(Box::new(AsyncServer {
            exec,
            peer,
            addr,
            probe,
        }))
    }

    fn client(&self, opts: ClientOpts) -> Result<Box<dyn Client>, String> {
        let exec = E::start();
        let inbox = Arc::new(Inbox::default());
        let mut b = exec.builder(opts.config);
        for route in [ECHO_BACK, NOTE] {
            let i = Arc::clone(&inbox);
            b = b.push(route, move |_ctx: PushCtx, t: Text| {
                let i = Arc::clone(&i);
                async move { i.pushes.put((route.to_owned(), t.text)) }
            });
        }
        if let Some((cfg, name)) = opts.tls {
            b = b.tls_client(cfg, &name);
        }
        let peer = b.build().map_err(|e| e.to_string())?;
        Ok(Box::new(AsyncClient { exec, peer, inbox }))
    }
}

struct AsyncServer<E: Exec> {
    exec: E,
    peer: Peer<E::Rt>,
    addr: String,
    probe: Arc<Probe>,
}

impl<E: Exec> Server for AsyncServer<E> {
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
        let mut sessions = Vec::new();
        self.peer.range_sessions(|s| {
            sessions.push(s.clone());
            true
        });
        self.exec
            .block_on(join_all(sessions.iter().map(|s| s.push(route, body))))
    }

    fn close(&self) {
        self.exec.block_on(self.peer.close());
    }
}

impl<E: Exec> Drop for AsyncServer<E> {
    fn drop(&mut self) {
        // A scenario that failed half-way leaves nothing listening behind.
        self.probe.gate.open();
        if !self.peer.is_closing() {
            self.exec.block_on(self.peer.close());
        }
    }
}

struct AsyncClient<E: Exec> {
    exec: E,
    peer: Peer<E::Rt>,
    inbox: Arc<Inbox>,
}

impl<E: Exec> Client for AsyncClient<E> {
    fn dial(&self, addr: &str) -> Result<Box<dyn Conn>, Status> {
        let sess = self.exec.block_on(self.peer.dial(addr))?;
        Ok(Box::new(AsyncConn {
            exec: self.exec.clone(),
            sess,
        }))
    }

    fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    fn close(&self) {
        self.exec.block_on(self.peer.close());
    }
}

impl<E: Exec> Drop for AsyncClient<E> {
    fn drop(&mut self) {
        if !self.peer.is_closing() {
            self.exec.block_on(self.peer.close());
        }
    }
}

struct AsyncConn<E: Exec> {
    exec: E,
    sess: Session,
}

impl<E: Exec> Conn for AsyncConn<E> {
    fn call(&self, route: &str, args: &Nums, timeout: Option<Duration>) -> Result<Sum, Status> {
        let mut c = self.sess.call_with(route);
        if let Some(t) = timeout {
            c = c.timeout(t);
        }
        self.exec.block_on(c.send::<_, Sum>(args)).map(|r| r.body)
    }

    fn call_bytes(&self, route: &str, body: Vec<u8>) -> Result<u64, Status> {
        self.exec.block_on(self.sess.call(route, &Raw::from(body)))
    }

    fn call_many(&self, route: &str, args: Vec<Nums>) -> Vec<Result<Sum, Status>> {
        self.exec
            .block_on(join_all(args.iter().map(|a| self.sess.call(route, a))))
    }

    fn push(&self, route: &str, body: &Text) -> Result<(), Status> {
        self.exec.block_on(self.sess.push(route, body))
    }

    fn is_closed(&self) -> bool {
        self.sess.is_closed()
    }

    fn wait_closed(&self, limit: Duration) -> bool {
        let rt = self.exec.rt();
        self.exec
            .block_on(bounded(&rt, limit, self.sess.closed()))
            .is_some()
    }
}
