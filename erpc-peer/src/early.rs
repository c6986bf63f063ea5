//! Early exchange (Go's `PreSession.PreSend`/`PreReceive`, used from `PostDial` and
//! `PostAccept`): messages exchanged on a new connection before its session opens — to agree
//! on something, to check a version, or any handshake of the application's own (Go's auth
//! plugin is one case; erpc-rs' auth has its own API, which runs after this).
//!
//! Register one exchange for dialed connections ([`PeerBuilder::early_dial`]) and one for
//! accepted ones ([`PeerBuilder::early_accept`]). Each gets an [`EarlyConn`] to
//! [`send`](EarlyConn::send) and [`receive`](EarlyConn::receive) whole messages in the
//! connection's protocol; an `Err` status refuses the connection (a dial fails with it; an
//! accepted connection is closed). The peer's `auth_timeout` bounds the exchange, the size
//! limit bounds every message, and bytes the other side sent after its early messages are
//! kept for the session.
//!
//! [`PeerBuilder::early_dial`]: crate::PeerBuilder::early_dial
//! [`PeerBuilder::early_accept`]: crate::PeerBuilder::early_accept

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use erpc_proto::proto::Protocol;
use erpc_proto::{Code, Message, Status, WireConfig};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{AsyncReadExt, AsyncWriteExt};

use futures_util::future::{select, Either};

use crate::runtime::{Connected, Runtime};
use crate::state::{BoxedStream, Shared};

/// The future of an early exchange, borrowing its [`EarlyConn`]
/// (`Box::pin(async move { … })`).
pub type EarlyFuture<'a> =
    Pin<Box<dyn std::future::Future<Output = Result<(), Status>> + Send + 'a>>;

/// A new connection before its session opens. See the [module docs](self).
pub struct EarlyConn {
    stream: BoxedStream,
    protocol: Arc<dyn Protocol>,
    wire: WireConfig,
    rbuf: BytesMut,
    dialed: bool,
    local_addr: String,
    remote_addr: String,
}

impl std::fmt::Debug for EarlyConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EarlyConn")
            .field("protocol", &self.protocol.name())
            .field("dialed", &self.dialed)
            .field("local_addr", &self.local_addr)
            .field("remote_addr", &self.remote_addr)
            .finish_non_exhaustive()
    }
}

/// An early exchange: `Ok(())` lets the session open.
pub(crate) type EarlyFn = Arc<dyn for<'a> Fn(&'a mut EarlyConn) -> EarlyFuture<'a> + Send + Sync>;

/// The exchanges a peer runs on new connections.
#[derive(Clone, Default)]
pub(crate) struct EarlyHooks {
    pub(crate) dial: Option<EarlyFn>,
    pub(crate) accept: Option<EarlyFn>,
}

/// Runs `f` on a new connection (dialed or accepted), bounded by the peer's auth timeout;
/// returns the connection for its session.
pub(crate) async fn exchange<R: Runtime>(
    shared: &Shared<R>,
    f: &EarlyFn,
    conn: Connected<BoxedStream>,
    protocol: &Arc<dyn Protocol>,
    dialed: bool,
) -> Result<Connected<BoxedStream>, Status> {
    let Connected {
        stream,
        local_addr,
        remote_addr,
        ..
    } = conn;
    let mut early = EarlyConn::new(
        stream,
        Arc::clone(protocol),
        shared.session_cfg.wire.clone(),
        dialed,
        local_addr.clone(),
        remote_addr.clone(),
    );
    let r = match shared.core.limits.auth_timeout {
        None => f(&mut early).await,
        Some(limit) => {
            let t = shared.rt.timer(shared.rt.now() + limit);
            match select(f(&mut early), t).await {
                Either::Left((r, _)) => r,
                Either::Right(_) => Err(Status::with_cause(
                    if dialed {
                        Code::DIAL_FAILED
                    } else {
                        Code::CONN_CLOSED
                    },
                    format!("early exchange: not done within {limit:?}"),
                )),
            }
        }
    };
    if let Err(st) = r {
        tracing::debug!(status = %st, remote = %remote_addr, dialed, "early exchange refused the connection");
        return Err(st);
    }
    Ok(Connected::new(early.into_stream(), local_addr, remote_addr))
}

impl EarlyConn {
    pub(crate) fn new(
        stream: BoxedStream,
        protocol: Arc<dyn Protocol>,
        wire: WireConfig,
        dialed: bool,
        local_addr: String,
        remote_addr: String,
    ) -> Self {
        EarlyConn {
            stream,
            protocol,
            wire,
            rbuf: BytesMut::new(),
            dialed,
            local_addr,
            remote_addr,
        }
    }

    /// Whether this side dialed the connection.
    pub fn is_dialed(&self) -> bool {
        self.dialed
    }

    /// This side's address.
    pub fn local_addr(&self) -> &str {
        &self.local_addr
    }

    /// The other side's address.
    pub fn remote_addr(&self) -> &str {
        &self.remote_addr
    }

    /// Writes `msg` (type, seq, service method, status, meta, codec and body as given) in the
    /// connection's protocol and flushes it.
    pub async fn send(&mut self, msg: &Message) -> Result<(), Status> {
        let mut frame = BytesMut::new();
        self.protocol
            .encode(msg, &self.wire, &mut frame)
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, e.to_string()))?;
        let w = async {
            self.stream.write_all(&frame).await?;
            self.stream.flush().await
        };
        w.await
            .map_err(|e| Status::with_cause(Code::WRITE_FAILED, format!("early send: {e}")))
    }

    /// Reads the next whole message (within the size limit).
    pub async fn receive(&mut self) -> Result<Message, Status> {
        let mut chunk = [0u8; 8192];
        loop {
            match self.protocol.decode(&mut self.rbuf, &self.wire) {
                Ok(Some(m)) => return Ok(m),
                Ok(None) => {}
                Err(e) => {
                    return Err(Status::with_cause(
                        Code::BAD_MESSAGE,
                        format!("early receive: {e}"),
                    ))
                }
            }
            let n = self.stream.read(&mut chunk).await.map_err(|e| {
                Status::with_cause(Code::CONN_CLOSED, format!("early receive: {e}"))
            })?;
            if n == 0 {
                return Err(Status::with_cause(
                    Code::CONN_CLOSED,
                    "early receive: the connection closed",
                ));
            }
            self.rbuf.extend_from_slice(&chunk[..n]);
        }
    }

    /// The stream for the session, with what was read past the early messages in front.
    pub(crate) fn into_stream(self) -> BoxedStream {
        if self.rbuf.is_empty() {
            self.stream
        } else {
            Box::new(Rewind {
                prefix: self.rbuf.freeze(),
                inner: self.stream,
            })
        }
    }
}

/// A stream that yields `prefix` before reading `inner`.
struct Rewind {
    prefix: Bytes,
    inner: BoxedStream,
}

impl AsyncRead for Rewind {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.prefix.is_empty() {
            let n = buf.len().min(self.prefix.len());
            buf[..n].copy_from_slice(&self.prefix[..n]);
            self.prefix.advance(n);
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewind {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}
