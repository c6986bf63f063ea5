//! The byte stream under a websocket: plain TCP (`ws://`) or TLS over it (`wss://`, the
//! handshake run by [`WsTls`](erpc_peer::WsTls) on futures-rustls).

use std::fmt;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_util::compat::Compat;

/// A connection another HTTP server upgraded (hyper's `Upgraded` through
/// `hyper_util::rt::TokioIo`, say): any tokio byte stream.
pub trait UpgradedIo: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> UpgradedIo for T {}

/// A websocket's transport.
#[non_exhaustive]
pub enum WsIo {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`: TLS over TCP.
    Tls(Compat<Box<dyn erpc_peer::runtime::Stream>>),
    /// Upgraded by another HTTP server ([`serve_upgraded`](super::serve_upgraded)).
    Upgraded(Box<dyn UpgradedIo>),
}

impl fmt::Debug for WsIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsIo::Plain(s) => f.debug_tuple("Plain").field(s).finish(),
            WsIo::Tls(_) => f.write_str("Tls"),
            WsIo::Upgraded(_) => f.write_str("Upgraded"),
        }
    }
}

impl AsyncRead for WsIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Tls(s) => Pin::new(s).poll_read(cx, buf),
            WsIo::Upgraded(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for WsIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Tls(s) => Pin::new(s).poll_write(cx, buf),
            WsIo::Upgraded(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_flush(cx),
            WsIo::Tls(s) => Pin::new(s).poll_flush(cx),
            WsIo::Upgraded(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            WsIo::Plain(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Tls(s) => Pin::new(s).poll_shutdown(cx),
            WsIo::Upgraded(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}
