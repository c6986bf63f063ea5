//! [`AsyncIo`]: the runtime value — async-io sockets and timers, spawning on the executor you
//! pick.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Instant;

use erpc_peer::{BoxFuture, Connected, Endpoint, Runtime, SocketOptions};

use crate::net::{self, AsyncIoListener, AsyncIoStream, AsyncIoTimer};

type SpawnFn = dyn Fn(BoxFuture<()>) + Send + Sync;

#[derive(Clone)]
enum Spawner {
    #[cfg(feature = "async-std")]
    AsyncStd,
    #[cfg(feature = "smol")]
    SmolGlobal,
    #[cfg(feature = "smol")]
    Smol(Arc<smol::Executor<'static>>),
    Custom(Arc<SpawnFn>),
}

/// The runtime of this crate: sockets and timers from async-io (whose reactor thread serves
/// every executor), background tasks spawned onto the executor chosen at construction.
///
/// Every constructor gives the same sockets and timers; only where the peer's tasks (one per
/// connection, one per listener) run differs. A peer built on one spawner works from code
/// running on another executor, too — the choice keeps the work on the threads you expect.
///
/// ```
/// # #[cfg(all(feature = "async-std", feature = "smol"))] {
/// use erpc_runtime_async_std::AsyncIo;
/// let on_async_std = AsyncIo::async_std();
/// let on_smol = AsyncIo::smol();
/// let on_mine = AsyncIo::smol_executor(std::sync::Arc::new(smol::Executor::new()));
/// # let _ = (on_async_std, on_smol, on_mine);
/// # }
/// ```
#[derive(Clone)]
pub struct AsyncIo {
    spawner: Spawner,
}

impl fmt::Debug for AsyncIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match &self.spawner {
            #[cfg(feature = "async-std")]
            Spawner::AsyncStd => "async-std",
            #[cfg(feature = "smol")]
            Spawner::SmolGlobal => "smol (global executor)",
            #[cfg(feature = "smol")]
            Spawner::Smol(_) => "smol (application executor)",
            Spawner::Custom(_) => "custom spawner",
        };
        f.debug_tuple("AsyncIo").field(&name).finish()
    }
}

impl AsyncIo {
    /// Spawns with `async_std::task::spawn`.
    #[cfg(feature = "async-std")]
    pub fn async_std() -> Self {
        AsyncIo {
            spawner: Spawner::AsyncStd,
        }
    }

    /// Spawns with `smol::spawn` (smol's global executor, which runs on its own threads).
    #[cfg(feature = "smol")]
    pub fn smol() -> Self {
        AsyncIo {
            spawner: Spawner::SmolGlobal,
        }
    }

    /// Spawns onto your executor (tasks are detached). The peer's tasks make progress only
    /// while something runs `executor` (`executor.run(..)`, `smol::block_on(executor.run(..))`).
    #[cfg(feature = "smol")]
    pub fn smol_executor(executor: Arc<smol::Executor<'static>>) -> Self {
        AsyncIo {
            spawner: Spawner::Smol(executor),
        }
    }

    /// Spawns with `spawn`, for any other executor: it must run the future to completion in
    /// the background.
    pub fn from_spawner(spawn: impl Fn(BoxFuture<()>) + Send + Sync + 'static) -> Self {
        AsyncIo {
            spawner: Spawner::Custom(Arc::new(spawn)),
        }
    }
}

/// smol's global executor when the `smol` feature is on (the default), else async-std. Turning
/// on `async-std` (directly or through another crate) never moves a smol program's tasks.
#[cfg(any(feature = "async-std", feature = "smol"))]
impl Default for AsyncIo {
    fn default() -> Self {
        #[cfg(feature = "smol")]
        return AsyncIo::smol();
        #[cfg(not(feature = "smol"))]
        return AsyncIo::async_std();
    }
}

impl Runtime for AsyncIo {
    type Stream = AsyncIoStream;
    type Listener = AsyncIoListener;
    type Timer = AsyncIoTimer;

    fn spawn<F>(&self, fut: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        match &self.spawner {
            #[cfg(feature = "async-std")]
            Spawner::AsyncStd => {
                async_std::task::spawn(fut);
            }
            #[cfg(feature = "smol")]
            Spawner::SmolGlobal => smol::spawn(fut).detach(),
            #[cfg(feature = "smol")]
            Spawner::Smol(ex) => ex.spawn(fut).detach(),
            Spawner::Custom(f) => f(Box::pin(fut)),
        }
    }

    fn timer(&self, deadline: Instant) -> AsyncIoTimer {
        net::timer(deadline)
    }

    async fn connect(
        &self,
        endpoint: &Endpoint,
        opts: SocketOptions,
    ) -> io::Result<Connected<AsyncIoStream>> {
        net::connect(self, endpoint, opts).await
    }

    async fn bind(&self, endpoint: &Endpoint) -> io::Result<(AsyncIoListener, String)> {
        net::bind(self, endpoint).await
    }

    #[cfg(unix)]
    fn adopt(
        &self,
        endpoint: &Endpoint,
        listener: erpc_peer::InheritedListener,
    ) -> io::Result<(AsyncIoListener, String)> {
        net::adopt(self, endpoint, listener)
    }

    #[cfg(unix)]
    fn listener_fd<'a>(
        &self,
        listener: &'a AsyncIoListener,
    ) -> Option<std::os::fd::BorrowedFd<'a>> {
        net::listener_fd(listener)
    }

    #[cfg(feature = "kcp")]
    async fn connect_kcp(
        &self,
        endpoint: &Endpoint,
        _opts: SocketOptions,
        config: &crate::kcp::KcpConfig,
    ) -> io::Result<Connected<AsyncIoStream>> {
        net::connect_kcp(self, endpoint, config).await
    }

    #[cfg(feature = "kcp")]
    async fn bind_kcp(
        &self,
        endpoint: &Endpoint,
        config: &crate::kcp::KcpConfig,
    ) -> io::Result<(AsyncIoListener, String)> {
        net::bind_kcp(self, endpoint, config)
    }

    #[cfg(feature = "quic")]
    async fn connect_quic(
        &self,
        endpoint: &Endpoint,
        dial: &erpc_peer::quic::QuicDial,
    ) -> io::Result<Connected<AsyncIoStream>> {
        net::connect_quic(self, endpoint, dial).await
    }

    #[cfg(feature = "quic")]
    async fn bind_quic(
        &self,
        endpoint: &Endpoint,
        listen: &erpc_peer::quic::QuicListen,
    ) -> io::Result<(AsyncIoListener, String)> {
        net::bind_quic(self, endpoint, listen)
    }

    async fn accept(
        &self,
        listener: &AsyncIoListener,
        opts: SocketOptions,
    ) -> io::Result<Connected<AsyncIoStream>> {
        net::accept(listener, opts).await
    }
}
