//! Helpers shared by the integration tests: every scenario runs under smol's global executor,
//! under an application-owned `smol::Executor` and (with the `async-std` feature, as
//! `--all-features` and the conformance suite have it) under async-std, with bounded waits.
#![allow(dead_code, unreachable_pub)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use erpc_runtime_async_std::{AsyncIo, PeerConfig, Session};
use futures_util::future::{select, Either};

/// The longest any single step of a test may take before it counts as hung.
pub const STEP: Duration = Duration::from_secs(10);

/// Generates, for each scenario `async fn name(rt: AsyncIo)`, one test per executor.
#[macro_export]
macro_rules! on_every_executor {
    ($($name:ident),* $(,)?) => {
        #[cfg(feature = "async-std")]
        mod on_async_std {
            $(
                #[test]
                fn $name() {
                    async_std::task::block_on(super::$name(erpc_runtime_async_std::AsyncIo::async_std()));
                }
            )*
        }
        mod on_smol {
            $(
                #[test]
                fn $name() {
                    smol::block_on(super::$name(erpc_runtime_async_std::AsyncIo::smol()));
                }
            )*
        }
        mod on_smol_executor {
            $(
                #[test]
                fn $name() {
                    let ex = std::sync::Arc::new(smol::Executor::new());
                    let rt = erpc_runtime_async_std::AsyncIo::smol_executor(ex.clone());
                    smol::block_on(ex.run(super::$name(rt)));
                }
            )*
        }
    };
}

/// A config bound to 127.0.0.1 (never every interface) with a free port.
pub fn local() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

/// Sleeps on the async-io reactor (works under every executor).
pub async fn sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

/// Awaits `fut`, failing the test with `what` if it takes longer than [`STEP`].
pub async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    within_for(STEP, what, fut).await
}

/// Awaits `fut`, failing the test with `what` if it takes longer than `limit`.
pub async fn within_for<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    match select(Box::pin(fut), async_io::Timer::after(limit)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

/// Polls `cond` every few milliseconds until it holds; fails the test after [`STEP`].
pub async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    within(what, async {
        while !cond() {
            sleep(Duration::from_millis(5)).await;
        }
    })
    .await
}

/// Calls `/echo` with `n` and checks the answer.
pub async fn echo_ok(sess: &Session, n: i64) {
    let got: i64 = within("echo call", sess.call("/echo", &n))
        .await
        .expect("echo call failed");
    assert_eq!(got, n);
}

/// Runs `fut` in the background on `rt` and hands back its output through a oneshot.
pub fn spawn<T: Send + 'static>(
    rt: &AsyncIo,
    fut: impl Future<Output = T> + Send + 'static,
) -> futures_channel::oneshot::Receiver<T> {
    use erpc_runtime_async_std::Runtime;
    let (tx, rx) = futures_channel::oneshot::channel();
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx
}

/// Yields to the executor once.
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false).await
}

/// A one-shot gate handlers wait on.
#[derive(Clone, Default)]
pub struct Gate(Arc<(std::sync::atomic::AtomicBool, event_listener::Event)>);

impl Gate {
    /// Opens the gate for every waiter.
    pub fn open(&self) {
        self.0 .0.store(true, std::sync::atomic::Ordering::Release);
        self.0 .1.notify(usize::MAX);
    }

    /// Waits until the gate is open.
    pub async fn wait(&self) {
        loop {
            if self.0 .0.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            let l = self.0 .1.listen();
            if self.0 .0.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            l.await;
        }
    }
}
