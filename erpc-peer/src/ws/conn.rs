//! [`WsStream`] and [`WsListener`]: a websocket connection and listener over any adapter's
//! TCP streams, the handshakes run on the adapter's [`Runtime`] (see the
//! [module docs](super)).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_tungstenite::WebSocketStream;
use futures_channel::{mpsc, oneshot};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{SinkExt, StreamExt};
use tungstenite::protocol::Role;

use super::{client_request, to_io, upgrade, ws_config, WsRecords};
use super::{ACCEPT_BACKLOG, HANDSHAKE_TIMEOUT, MAX_HANDSHAKES};
use crate::runtime::{Runtime, Stream};
use crate::WsEndpoint;

/// What a websocket runs on: TCP, TLS over TCP, or a connection another server upgraded.
type Transport = Box<dyn Stream>;

/// `fut`, or a `TimedOut` error naming `what` once `limit` passed on `rt`'s clock.
async fn within<R: Runtime, T>(
    rt: &R,
    limit: Duration,
    what: &str,
    fut: impl Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let timer = rt.timer(rt.now() + limit);
    futures_util::pin_mut!(fut);
    match futures_util::future::select(fut, timer).await {
        futures_util::future::Either::Left((r, _)) => r,
        futures_util::future::Either::Right(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!("{what}: no answer within {limit:?}"),
        )),
    }
}

/// A websocket connection as a stream of records (see the [module docs](super)).
pub struct WsStream {
    records: WsRecords<WebSocketStream<Transport>>,
    local: SocketAddr,
    peer: SocketAddr,
    /// The session id the listener's handshake check gave.
    session_id: Option<String>,
}

impl std::fmt::Debug for WsStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsStream")
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("session_id", &self.session_id)
            .finish_non_exhaustive()
    }
}

impl WsStream {
    fn new(ws: WebSocketStream<Transport>, local: SocketAddr, peer: SocketAddr) -> Self {
        WsStream {
            records: WsRecords::new(ws),
            local,
            peer,
            session_id: None,
        }
    }

    /// Dials `ws://<addr><path>[?access_token=T]` over `tcp`, a connected TCP stream from
    /// `local` to `peer` with the socket options applied (`wss://`, TLS first, when the
    /// endpoint's [`tls`](WsEndpoint::tls) has a client configuration). The TLS and
    /// websocket handshakes together take at most [`HANDSHAKE_TIMEOUT`] on `rt`'s clock.
    pub async fn connect<R: Runtime, S: Stream>(
        rt: &R,
        tcp: S,
        local: SocketAddr,
        peer: SocketAddr,
        endpoint: &WsEndpoint,
    ) -> io::Result<Self> {
        let req = client_request(endpoint, local)?;
        let hs = async {
            let io: Transport = if endpoint.tls.is_client() {
                endpoint.tls.connect(tcp).await?
            } else {
                Box::new(tcp)
            };
            async_tungstenite::client_async_with_config(req, io, Some(ws_config()))
                .await
                .map_err(to_io)
        };
        // Boxed: the handshake's state is large, and every dial future would carry it.
        let (ws, _) = within(rt, HANDSHAKE_TIMEOUT, "websocket handshake", Box::pin(hs)).await?;
        Ok(WsStream::new(ws, local, peer))
    }

    /// A websocket connection another HTTP server upgraded (it checked the request and
    /// answered `101 Switching Protocols` with [`accept_key`](super::accept_key)): `io` is
    /// the connection after that answer (Go's `NewServeHandler`).
    pub async fn upgraded<S: Stream>(io: S, local: SocketAddr, peer: SocketAddr) -> Self {
        let io: Transport = Box::new(io);
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, Some(ws_config())).await;
        WsStream::new(ws, local, peer)
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other side's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// The session id the listener's [`handshake`](WsEndpoint::handshake) check gave (Go's
    /// `Erpc-Session-Id`); `None` on a dial or without a check.
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }
}

impl AsyncRead for WsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().records.poll_read(cx, buf)
    }
}

impl AsyncWrite for WsStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().records.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().records.poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().records.poll_close(cx)
    }
}

/// A websocket listener: TCP accepts and upgrades in the background on the adapter's
/// runtime (see the [module docs](super)); dropping it stops them, and the TCP listener is
/// dropped with the accept loop.
pub struct WsListener {
    local: SocketAddr,
    ready: futures_util::lock::Mutex<mpsc::Receiver<io::Result<WsStream>>>,
    /// A copy of the listening socket, which a graceful reboot hands over.
    #[cfg(unix)]
    fd: Option<std::os::fd::OwnedFd>,
    /// Dropped with the listener: stops the accept loop.
    _stop: oneshot::Sender<()>,
}

impl std::fmt::Debug for WsListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsListener")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl WsListener {
    /// Serves `endpoint` on the TCP listener bound at `local` whose connections `accept`
    /// yields (each with its local and remote address), the accept loop and the upgrades on
    /// `rt`. An accept error is
    /// reported to [`accept`](Self::accept) and the loop goes on after a pause.
    pub fn serve<R, A, F, S>(rt: &R, local: SocketAddr, accept: A, endpoint: &WsEndpoint) -> Self
    where
        R: Runtime,
        A: FnMut() -> F + Send + 'static,
        F: Future<Output = io::Result<(S, SocketAddr, SocketAddr)>> + Send,
        S: Stream,
    {
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        let (stop_tx, stop_rx) = oneshot::channel();
        let endpoint = Arc::new(endpoint.clone());
        let loop_rt = rt.clone();
        rt.spawn(async move {
            let accepting = accept_loop(loop_rt, accept, endpoint, tx);
            futures_util::pin_mut!(accepting);
            futures_util::future::select(accepting, stop_rx).await;
        });
        WsListener {
            local,
            ready: futures_util::lock::Mutex::new(rx),
            #[cfg(unix)]
            fd: None,
            _stop: stop_tx,
        }
    }

    /// The same, keeping `fd` (a copy of the listening socket) for a graceful reboot.
    #[cfg(unix)]
    pub fn with_listener_fd(mut self, fd: std::os::fd::OwnedFd) -> Self {
        self.fd = Some(fd);
        self
    }

    /// The listening socket given by [`with_listener_fd`](Self::with_listener_fd).
    #[cfg(unix)]
    pub fn listener_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.fd.as_ref().map(std::os::fd::AsFd::as_fd)
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next upgraded connection.
    pub async fn accept(&self) -> io::Result<WsStream> {
        match self.ready.lock().await.next().await {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "websocket listener stopped",
            )),
        }
    }
}

async fn accept_loop<R, A, F, S>(
    rt: R,
    mut accept: A,
    endpoint: Arc<WsEndpoint>,
    mut tx: mpsc::Sender<io::Result<WsStream>>,
) where
    R: Runtime,
    A: FnMut() -> F,
    F: Future<Output = io::Result<(S, SocketAddr, SocketAddr)>>,
    S: Stream,
{
    let slots = Arc::new(async_lock::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = slots.acquire_arc().await;
        let (s, local, peer) = match accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: report it and go on after a pause.
                if tx.send(Err(e)).await.is_err() {
                    return;
                }
                rt.timer(rt.now() + Duration::from_millis(50)).await;
                continue;
            }
        };
        let (endpoint, mut tx, hs_rt) = (Arc::clone(&endpoint), tx.clone(), rt.clone());
        rt.spawn(async move {
            let _permit = permit;
            let hs = async {
                let io: Transport = if endpoint.tls.is_server() {
                    endpoint.tls.accept(s).await?
                } else {
                    Box::new(s)
                };
                upgrade::serve(io, &peer.to_string(), &endpoint).await
            };
            match within(&hs_rt, HANDSHAKE_TIMEOUT, "websocket upgrade", hs).await {
                Ok(Some((ws, id))) => {
                    let mut s = WsStream::new(ws, local, peer);
                    s.session_id = id;
                    let _ = tx.send(Ok(s)).await;
                }
                Ok(None) => tracing::debug!(%peer, "plain HTTP request answered"),
                Err(e) => tracing::debug!(%peer, error = %e, "websocket upgrade failed"),
            }
        });
    }
}
