//! The `ws` network on async-io (feature `ws`; smol, async-std or any executor): WebSocket as
//! Go eRPC's `mixer/websocket` on async-tungstenite. The rules (one eRPC message per
//! websocket message, 32 MiB, path and token checks, flow control) are erpc-peer's, shared by
//! every adapter: see [`erpc_peer::ws`]. Here: the TCP sockets, the upgrade tasks and their
//! limits.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use async_net::{TcpListener, TcpStream};
use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::WebSocketStream;
use erpc_peer::ws::{answer_upgrade, client_request, to_io, ws_config, WsRecords};
pub use erpc_peer::ws::{ACCEPT_BACKLOG, HANDSHAKE_TIMEOUT, MAX_HANDSHAKES, MAX_WRITE_BUFFER};
use erpc_peer::{Runtime, WsEndpoint};
use futures_channel::{mpsc, oneshot};
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::{SinkExt, StreamExt};

use crate::AsyncIo;

/// `fut`, or a `TimedOut` error once `limit` passed.
async fn timeout<T>(
    limit: Duration,
    what: &str,
    fut: impl std::future::Future<Output = io::Result<T>>,
) -> io::Result<T> {
    let timer = async {
        async_io::Timer::after(limit).await;
        Err(io::Error::new(io::ErrorKind::TimedOut, what.to_owned()))
    };
    futures_util::pin_mut!(fut, timer);
    futures_util::future::select(fut, timer)
        .await
        .factor_first()
        .0
}

/// A websocket connection as a stream of records (see [`erpc_peer::ws`]).
#[derive(Debug)]
pub struct AsyncIoWsStream {
    records: WsRecords<WebSocketStream<TcpStream>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl AsyncIoWsStream {
    /// Dials `ws://<addr><path>[?access_token=T]` over a connected TCP stream; socket options
    /// already applied.
    pub async fn connect(tcp: TcpStream, endpoint: &WsEndpoint) -> io::Result<Self> {
        let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
        let req = client_request(endpoint, local)?;
        let (ws, _) = timeout(HANDSHAKE_TIMEOUT, "websocket handshake", async {
            async_tungstenite::client_async_with_config(req, tcp, Some(ws_config()))
                .await
                .map_err(to_io)
        })
        .await?;
        Ok(AsyncIoWsStream {
            records: WsRecords::new(ws),
            local,
            peer,
        })
    }

    /// This side's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The other side's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }
}

impl AsyncRead for AsyncIoWsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().records.poll_read(cx, buf)
    }
}

impl AsyncWrite for AsyncIoWsStream {
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
/// executor (see [`erpc_peer::ws`]); dropping it stops them and closes the TCP socket.
#[derive(Debug)]
pub struct AsyncIoWsListener {
    local: SocketAddr,
    ready: async_lock::Mutex<mpsc::Receiver<io::Result<AsyncIoWsStream>>>,
    /// Dropped with the listener: stops the accept loop.
    _stop: oneshot::Sender<()>,
}

impl AsyncIoWsListener {
    /// Binds `addr` and serves `endpoint`'s path and token, the upgrades on `rt`.
    pub async fn bind(rt: &AsyncIo, addr: SocketAddr, endpoint: &WsEndpoint) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        let (stop_tx, stop_rx) = oneshot::channel();
        let path: Arc<str> = endpoint.path.as_str().into();
        let token: Option<Arc<str>> = endpoint.token.as_deref().map(Into::into);
        let loop_rt = rt.clone();
        rt.spawn(async move {
            let accepting = accept_loop(loop_rt, tcp, path, token, tx);
            futures_util::pin_mut!(accepting);
            futures_util::future::select(accepting, stop_rx).await;
        });
        Ok(AsyncIoWsListener {
            local,
            ready: async_lock::Mutex::new(rx),
            _stop: stop_tx,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next upgraded connection.
    pub async fn accept(&self) -> io::Result<AsyncIoWsStream> {
        match self.ready.lock().await.next().await {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "websocket listener stopped",
            )),
        }
    }
}

async fn accept_loop(
    rt: AsyncIo,
    tcp: TcpListener,
    path: Arc<str>,
    token: Option<Arc<str>>,
    mut tx: mpsc::Sender<io::Result<AsyncIoWsStream>>,
) {
    let slots = Arc::new(async_lock::Semaphore::new(MAX_HANDSHAKES));
    loop {
        let permit = slots.acquire_arc().await;
        let (s, peer) = match tcp.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: report it and go on after a pause.
                if tx.send(Err(e)).await.is_err() {
                    return;
                }
                async_io::Timer::after(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (path, token, mut tx) = (Arc::clone(&path), token.clone(), tx.clone());
        rt.spawn(async move {
            let _permit = permit;
            let Ok(local) = s.local_addr() else { return };
            let _ = s.set_nodelay(true);
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let cb = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                answer_upgrade(&path, token.as_deref(), req, resp)
            };
            let hs = async {
                async_tungstenite::accept_hdr_async_with_config(s, cb, Some(ws_config()))
                    .await
                    .map_err(to_io)
            };
            match timeout(HANDSHAKE_TIMEOUT, "websocket upgrade", hs).await {
                Ok(ws) => {
                    let stream = AsyncIoWsStream {
                        records: WsRecords::new(ws),
                        local,
                        peer,
                    };
                    let _ = tx.send(Ok(stream)).await;
                }
                Err(e) => tracing::debug!(%peer, error = %e, "websocket upgrade failed"),
            }
        });
    }
}
