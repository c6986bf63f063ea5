//! The `ws` network on async-io (feature `ws`; smol, async-std or any executor): WebSocket as
//! Go eRPC's `mixer/websocket`, written once in erpc-peer ([`erpc_peer::ws`]: the records,
//! the upgrade with its path, token and handshake checks, files for plain HTTP requests,
//! `wss://`, the bounded upgrade tasks). Here: the async-net TCP sockets.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use async_net::{TcpListener, TcpStream};
use erpc_peer::ws::{WsListener, WsStream};
pub use erpc_peer::ws::{ACCEPT_BACKLOG, HANDSHAKE_TIMEOUT, MAX_HANDSHAKES, MAX_WRITE_BUFFER};
use erpc_peer::WsEndpoint;

use crate::AsyncIo;

/// A websocket connection as a stream of records (see [`erpc_peer::ws`]).
pub type AsyncIoWsStream = WsStream;

/// A websocket listener: TCP accepts and upgrades in the background on the adapter's
/// executor; dropping it stops them and closes the TCP socket.
pub type AsyncIoWsListener = WsListener;

/// Dials `ws://<addr><path>[?access_token=T]` (or `wss://`) over a connected TCP stream;
/// socket options already applied.
pub async fn connect(rt: &AsyncIo, tcp: TcpStream, endpoint: &WsEndpoint) -> io::Result<WsStream> {
    let (local, peer) = (tcp.local_addr()?, tcp.peer_addr()?);
    WsStream::connect(rt, tcp, local, peer, endpoint).await
}

/// Binds `addr` and serves `endpoint`, the upgrades on `rt`.
pub async fn bind(rt: &AsyncIo, addr: SocketAddr, endpoint: &WsEndpoint) -> io::Result<WsListener> {
    serve(rt, TcpListener::bind(addr).await?, endpoint)
}

/// Serves `endpoint` on a TCP listener bound elsewhere (one inherited on a graceful reboot).
pub fn serve(rt: &AsyncIo, tcp: TcpListener, endpoint: &WsEndpoint) -> io::Result<WsListener> {
    let local = tcp.local_addr()?;
    #[cfg(unix)]
    let fd = std::os::fd::AsFd::as_fd(&tcp).try_clone_to_owned()?;
    let tcp = Arc::new(tcp);
    let accept = move || {
        let tcp = Arc::clone(&tcp);
        async move {
            let (s, peer) = tcp.accept().await?;
            let _ = s.set_nodelay(true);
            let local = s.local_addr()?;
            Ok((s, local, peer))
        }
    };
    let listener = WsListener::serve(rt, local, accept, endpoint);
    #[cfg(unix)]
    let listener = listener.with_listener_fd(fd);
    Ok(listener)
}
