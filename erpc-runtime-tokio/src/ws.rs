//! The `ws` network on tokio (feature `ws`): WebSocket as Go eRPC's `mixer/websocket` on
//! tokio-tungstenite. The rules (one eRPC message per websocket message, 32 MiB, path and
//! token checks, flow control) are erpc-peer's, shared by every adapter: see
//! [`erpc_peer::ws`]. Here: the TCP sockets, the upgrade tasks and their limits.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use erpc_peer::ws::{answer_upgrade, client_request, to_io, ws_config, WsRecords};
pub use erpc_peer::ws::{ACCEPT_BACKLOG, HANDSHAKE_TIMEOUT, MAX_HANDSHAKES, MAX_WRITE_BUFFER};
use erpc_peer::WsEndpoint;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::WebSocketStream;

/// A websocket connection as a stream of records (see [`erpc_peer::ws`]).
#[derive(Debug)]
pub struct TokioWsStream {
    records: WsRecords<WebSocketStream<TcpStream>>,
    local: SocketAddr,
    peer: SocketAddr,
}

impl TokioWsStream {
    /// Dials `ws://<addr><path>[?access_token=T]` over a connected TCP stream; `opts`
    /// already applied.
    pub async fn connect(tcp: TcpStream, endpoint: &WsEndpoint) -> io::Result<Self> {
        let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
        let req = client_request(endpoint, local)?;
        let hs = tokio_tungstenite::client_async_with_config(req, tcp, Some(ws_config()));
        let (ws, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT, hs)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "websocket handshake"))?
            .map_err(to_io)?;
        Ok(TokioWsStream {
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

impl AsyncRead for TokioWsStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = std::task::ready!(self
            .get_mut()
            .records
            .poll_read(cx, buf.initialize_unfilled()))?;
        buf.advance(n);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for TokioWsStream {
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

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().records.poll_close(cx)
    }
}

/// A websocket listener: TCP accepts and upgrades in the background (see
/// [`erpc_peer::ws`]).
#[derive(Debug)]
pub struct TokioWsListener {
    local: SocketAddr,
    ready: tokio::sync::Mutex<mpsc::Receiver<io::Result<TokioWsStream>>>,
    task: tokio::task::JoinHandle<()>,
}

impl TokioWsListener {
    /// Binds `addr` and serves `endpoint`'s path and token.
    pub async fn bind(addr: SocketAddr, endpoint: &WsEndpoint) -> io::Result<Self> {
        let tcp = TcpListener::bind(addr).await?;
        let local = tcp.local_addr()?;
        let (tx, rx) = mpsc::channel(ACCEPT_BACKLOG);
        let path: Arc<str> = endpoint.path.as_str().into();
        let token: Option<Arc<str>> = endpoint.token.as_deref().map(Into::into);
        let task = tokio::spawn(accept_loop(tcp, path, token, tx));
        Ok(TokioWsListener {
            local,
            ready: tokio::sync::Mutex::new(rx),
            task,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The next upgraded connection.
    pub async fn accept(&self) -> io::Result<TokioWsStream> {
        match self.ready.lock().await.recv().await {
            Some(r) => r,
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "websocket listener stopped",
            )),
        }
    }
}

impl Drop for TokioWsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    tcp: TcpListener,
    path: Arc<str>,
    token: Option<Arc<str>>,
    tx: mpsc::Sender<io::Result<TokioWsStream>>,
) {
    let slots = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else {
            return;
        };
        let (s, peer) = match tcp.accept().await {
            Ok(x) => x,
            Err(e) => {
                // Out of descriptors and the like: report it and go on after a pause.
                if tx.send(Err(e)).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (path, token, tx) = (Arc::clone(&path), token.clone(), tx.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let Ok(local) = s.local_addr() else { return };
            let _ = s.set_nodelay(true);
            #[allow(clippy::result_large_err)] // tungstenite's callback signature
            let cb = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                answer_upgrade(&path, token.as_deref(), req, resp)
            };
            let hs = tokio_tungstenite::accept_hdr_async_with_config(s, cb, Some(ws_config()));
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, hs).await {
                Ok(Ok(ws)) => {
                    let stream = TokioWsStream {
                        records: WsRecords::new(ws),
                        local,
                        peer,
                    };
                    let _ = tx.send(Ok(stream)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "websocket upgrade refused"),
                Err(_) => tracing::debug!(%peer, "websocket upgrade timed out"),
            }
        });
    }
}
