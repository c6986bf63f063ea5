//! tower integration (feature `tower`): a [`Session`] as a [`tower_service::Service`] of calls,
//! so that tower's layers (timeout, retry, rate and concurrency limits, load shedding) wrap the
//! calls an application makes; and a `tower::Service` as a call handler
//! ([`PeerBuilder::call_service`](crate::PeerBuilder::call_service)), so that server-side
//! layers wrap handlers.
//!
//! ```ignore
//! use tower::{ServiceBuilder, ServiceExt};
//! // Client: at most 64 calls in flight, each within 2 s.
//! let mut math = ServiceBuilder::new()
//!     .concurrency_limit(64)
//!     .timeout(Duration::from_secs(2))
//!     .service(session.tower::<Vec<i64>, i64>());
//! let sum = math.ready().await?.call(Call::new("/math/add", vec![1, 2, 3])).await?.body;
//!
//! // Server: a tower service (with its layers) as the handler of /math/add.
//! let add = ServiceBuilder::new().concurrency_limit(100).service_fn(
//!     |req: HandlerRequest<Vec<i64>>| async move { Ok::<_, Status>(req.args.iter().sum::<i64>()) },
//! );
//! let peer = builder(config).call_service("/math/add", add).build()?;
//! ```
//!
//! Errors: the client service's error is [`Status`]; a layer's own error (tower's `Elapsed`,
//! `Overloaded`, …) arrives boxed, as tower layers do. A handler service may fail with any
//! error that converts into tower's `BoxError`: a [`Status`] is answered as it is, tower's
//! timeout as 408, its load shedding as 500 `overloaded` (eRPC has no 503), anything else as
//! 500 with the error's text as cause.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use erpc_proto::codec::{DecodeBody, EncodeBody};
use erpc_proto::{Code, Meta, Status};

use crate::call::CallReply;
use crate::context::CallCtx;
use crate::session::Session;

/// The error type tower layers use.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// One call as a tower request: the service method, the arguments and the meta to send.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Call<A> {
    /// The service method (route) to call.
    pub service_method: String,
    /// The arguments (the request body).
    pub args: A,
    /// Meta sent with the call.
    pub meta: Meta,
}

impl<A> Call<A> {
    /// A call to `service_method` with `args` and no meta.
    pub fn new(service_method: impl Into<String>, args: A) -> Self {
        Call {
            service_method: service_method.into(),
            args,
            meta: Meta::new(),
        }
    }

    /// Adds a meta entry.
    pub fn with_meta(mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.meta.add(key, value);
        self
    }
}

/// A [`Session`] as a tower service of [`Call<A>`]s answered with [`CallReply<R>`] (see
/// [`Session::tower`]). Cheap to clone; clones share the session.
pub struct TowerSession<A, R> {
    session: Session,
    _types: PhantomData<fn(A) -> R>,
}

impl<A, R> Clone for TowerSession<A, R> {
    fn clone(&self) -> Self {
        TowerSession {
            session: self.session.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, R> std::fmt::Debug for TowerSession<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TowerSession")
            .field("session", &self.session.id())
            .finish()
    }
}

impl Session {
    /// This session as a tower service of calls with arguments `A` and replies `R`, for
    /// tower's layers. Readiness: ready while the session is open (a closed session fails
    /// `poll_ready` with 102); the session's own backpressure (its bounded command queue)
    /// applies inside each call's future.
    pub fn tower<A, R>(&self) -> TowerSession<A, R> {
        TowerSession {
            session: self.clone(),
            _types: PhantomData,
        }
    }
}

impl<A, R> tower_service::Service<Call<A>> for TowerSession<A, R>
where
    A: EncodeBody + Send + Sync + 'static,
    R: DecodeBody + Send + 'static,
{
    type Response = CallReply<R>;
    type Error = Status;
    type Future = Pin<Box<dyn Future<Output = Result<CallReply<R>, Status>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(if self.session.is_closed() {
            Err(Status::with_cause(Code::CONN_CLOSED, "session is closed"))
        } else {
            Ok(())
        })
    }

    fn call(&mut self, req: Call<A>) -> Self::Future {
        let session = self.session.clone();
        Box::pin(async move {
            let mut b = session.call_with(&req.service_method);
            for (k, v) in req.meta.iter() {
                b = b.meta(k, v);
            }
            b.send(&req.args).await
        })
    }
}

/// What a handler service gets: the call's context and its decoded arguments.
#[derive(Debug)]
#[non_exhaustive]
pub struct HandlerRequest<A> {
    /// The call's context (meta, session, …).
    pub ctx: CallCtx,
    /// The decoded arguments.
    pub args: A,
}

/// The status a handler service's error is answered with.
pub(crate) fn error_status(e: BoxError) -> Status {
    if let Some(st) = e.downcast_ref::<Status>() {
        return st.clone();
    }
    if e.is::<tower::timeout::error::Elapsed>() {
        return Status::with_cause(Code::HANDLE_TIMEOUT, e.to_string());
    }
    if e.is::<tower::load_shed::error::Overloaded>() {
        return Status::new(
            Code::INTERNAL_SERVER_ERROR,
            "overloaded",
            Some(e.to_string()),
        );
    }
    Status::with_cause(Code::INTERNAL_SERVER_ERROR, e.to_string())
}

/// Waits until `svc` is ready, then calls it with `req` (what a handler registered with
/// [`PeerBuilder::call_service`](crate::PeerBuilder::call_service) runs).
pub(crate) async fn serve<S, A>(mut svc: S, req: HandlerRequest<A>) -> Result<S::Response, Status>
where
    S: tower_service::Service<HandlerRequest<A>>,
    S::Error: Into<BoxError>,
{
    std::future::poll_fn(|cx| svc.poll_ready(cx))
        .await
        .map_err(|e| error_status(e.into()))?;
    svc.call(req).await.map_err(|e| error_status(e.into()))
}
