//! One run of a registered handler as a future: decode the arguments and call the user's
//! function on the first poll (so both happen wherever the handler runs: its own task, a
//! worker thread, or the connection's task for a route proven fast), then poll the
//! function's future; a panic at either step becomes the run's answer.
//!
//! Plain futures rather than `async` blocks because every call boxes one: an `async` block
//! keeps its captured context and message for its whole life, and beside them the result
//! that carried the function's future out of `catch_unwind` and the future itself — 1,328
//! bytes for Go's benchmark handler, whose own future is 504. Past glibc's per-thread cache
//! (1,032 bytes) every such box is a slow allocation that also sweeps the fast bins. Here a
//! run holds either what it starts from or the running future (520 bytes for the same
//! handler).

use std::future::Future;
use std::marker::PhantomData;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use erpc_proto::codec::{CodecRegistry, DecodeBody};
use erpc_proto::session::Reply;
use erpc_proto::{Code, CodecId, Message, ServiceMethod, Status};
use pin_project_lite::pin_project;

use super::{call_args, log_push_panic, panic_reply, push_args, IntoReply};
use crate::context::{CallCtx, PushCtx};

/// The user's function and the codecs its arguments and answers use, shared by every run.
pub(crate) type Registered<F> = Arc<(F, CodecRegistry)>;

pin_project! {
    /// One run of a call handler (see the [module docs](self)).
    #[project = CallRunProj]
    pub(crate) enum CallRun<F, A, Fut> {
        Start {
            start: Option<(Registered<F>, CallCtx, Message)>,
            args: PhantomData<fn() -> A>,
        },
        Running {
            shared: Registered<F>,
            reply_codec: CodecId,
            #[pin]
            fut: Fut,
        },
        Done,
    }
}

impl<F, A, Fut> CallRun<F, A, Fut> {
    /// The run of the call `msg` (its context `ctx`) by `shared`'s function.
    pub(crate) fn new(shared: Registered<F>, ctx: CallCtx, msg: Message) -> Self {
        CallRun::Start {
            start: Some((shared, ctx, msg)),
            args: PhantomData,
        }
    }
}

/// What a run polled again after it answered gives (the peer layer never does that).
fn polled_after_done() -> Reply {
    Reply::error(Status::with_cause(
        Code::INTERNAL_SERVER_ERROR,
        "handler polled after it answered",
    ))
}

impl<F, A, Fut> Future for CallRun<F, A, Fut>
where
    A: DecodeBody,
    F: Fn(CallCtx, A) -> Fut,
    Fut: Future,
    Fut::Output: IntoReply,
{
    type Output = Reply;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Reply> {
        loop {
            match self.as_mut().project() {
                CallRunProj::Start { start, .. } => {
                    let Some((shared, ctx, msg)) = start.take() else {
                        self.set(CallRun::Done);
                        return Poll::Ready(polled_after_done());
                    };
                    let reply_codec = ctx.reply_codec;
                    let started = call_args::<A>(msg, &shared.1).and_then(|args| {
                        catch_unwind(AssertUnwindSafe(|| (shared.0)(ctx, args)))
                            .map_err(|p| panic_reply(&*p))
                    });
                    match started {
                        Ok(fut) => self.set(CallRun::Running {
                            shared,
                            reply_codec,
                            fut,
                        }),
                        Err(reply) => {
                            self.set(CallRun::Done);
                            return Poll::Ready(reply);
                        }
                    }
                }
                CallRunProj::Running {
                    shared,
                    reply_codec,
                    fut,
                } => {
                    let reply = match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(out)) => out.into_reply(*reply_codec, &shared.1),
                        Err(p) => panic_reply(&*p),
                    };
                    self.set(CallRun::Done);
                    return Poll::Ready(reply);
                }
                CallRunProj::Done => return Poll::Ready(polled_after_done()),
            }
        }
    }
}

pin_project! {
    /// One run of a push handler (see the [module docs](self)).
    #[project = PushRunProj]
    pub(crate) enum PushRun<F, A, Fut> {
        Start {
            start: Option<(Registered<F>, PushCtx, Message)>,
            args: PhantomData<fn() -> A>,
        },
        Running {
            // For the log line of a panic.
            service_method: ServiceMethod,
            #[pin]
            fut: Fut,
        },
        Done,
    }
}

impl<F, A, Fut> PushRun<F, A, Fut> {
    /// The run of the push `msg` (its context `ctx`) by `shared`'s function.
    pub(crate) fn new(shared: Registered<F>, ctx: PushCtx, msg: Message) -> Self {
        PushRun::Start {
            start: Some((shared, ctx, msg)),
            args: PhantomData,
        }
    }
}

impl<F, A, Fut> Future for PushRun<F, A, Fut>
where
    A: DecodeBody,
    F: Fn(PushCtx, A) -> Fut,
    Fut: Future<Output = ()>,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.as_mut().project() {
                PushRunProj::Start { start, .. } => {
                    let Some((shared, ctx, msg)) = start.take() else {
                        self.set(PushRun::Done);
                        return Poll::Ready(());
                    };
                    let Some(args) = push_args::<A>(msg, &shared.1) else {
                        self.set(PushRun::Done);
                        return Poll::Ready(());
                    };
                    let service_method = ctx.service_method.clone();
                    match catch_unwind(AssertUnwindSafe(|| (shared.0)(ctx, args))) {
                        Ok(fut) => self.set(PushRun::Running {
                            service_method,
                            fut,
                        }),
                        Err(p) => {
                            log_push_panic(&service_method, &*p);
                            self.set(PushRun::Done);
                            return Poll::Ready(());
                        }
                    }
                }
                PushRunProj::Running {
                    service_method,
                    fut,
                } => {
                    match catch_unwind(AssertUnwindSafe(|| fut.poll(cx))) {
                        Ok(Poll::Pending) => return Poll::Pending,
                        Ok(Poll::Ready(())) => {}
                        Err(p) => log_push_panic(service_method, &*p),
                    }
                    self.set(PushRun::Done);
                    return Poll::Ready(());
                }
                PushRunProj::Done => return Poll::Ready(()),
            }
        }
    }
}
