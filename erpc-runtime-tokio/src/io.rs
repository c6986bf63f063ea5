//! The stream a tokio connection runs on, in the futures-io traits the peer drives
//! ([`erpc_peer::runtime::Stream`]) — implemented here rather than through tokio-util's
//! `Compat`, which does not forward vectored writes: a call's header and its megabyte body
//! (and whatever else is queued) leave in one `writev` instead of a write each.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{BufMut, BytesMut};
use futures_io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncRead as TokioRead, AsyncWrite as TokioWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio_util::io::poll_read_buf;

/// A TCP or unix stream (or one of the optional networks'), in the futures-io traits.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokioStream {
    /// TCP.
    Tcp(TcpStream),
    /// Unix domain.
    #[cfg(unix)]
    Unix(UnixStream),
    /// Unix domain seqpacket (feature `unixpacket`, Linux and Android).
    #[cfg(all(
        feature = "unixpacket",
        any(target_os = "linux", target_os = "android")
    ))]
    Unixpacket(crate::unixpacket::TokioUnixpacketStream),
    /// KCP over UDP (feature `kcp`).
    #[cfg(feature = "kcp")]
    Kcp(crate::kcp::TokioKcpStream),
    /// WebSocket, one record per message (feature `ws`).
    #[cfg(feature = "ws")]
    Ws(Box<crate::ws::TokioWsStream>),
    /// A QUIC connection's stream (feature `quic`).
    #[cfg(feature = "quic")]
    Quic(Box<crate::quic::QuicStream>),
}

impl TokioStream {
    /// Reads at most `max` bytes into the spare capacity of `buf`, reserved as needed (tokio's
    /// `ReadBuf` takes room that was never initialized), appending them; `None` for the
    /// streams that read only into initialized bytes.
    pub(crate) fn poll_read_spare(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        buf.reserve(max);
        let mut limited = (&mut *buf).limit(max);
        match self {
            TokioStream::Tcp(s) => Some(poll_read_buf(Pin::new(s), cx, &mut limited)),
            #[cfg(unix)]
            TokioStream::Unix(s) => Some(poll_read_buf(Pin::new(s), cx, &mut limited)),
            #[allow(unreachable_patterns)] // without the optional networks
            _ => None,
        }
    }
}

/// Runs `$body` with `$s` the pinned inner stream of one of the streams in tokio's traits;
/// `$quic` with it pinned for a QUIC stream (already in the futures-io traits).
macro_rules! each {
    ($self:expr, $s:ident => $body:expr, quic $q:ident => $quic:expr) => {
        match $self.get_mut() {
            TokioStream::Tcp(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(unix)]
            TokioStream::Unix(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            TokioStream::Unixpacket(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(feature = "kcp")]
            TokioStream::Kcp(s) => {
                let $s = Pin::new(s);
                $body
            }
            #[cfg(feature = "ws")]
            TokioStream::Ws(s) => {
                let $s = Pin::new(&mut **s);
                $body
            }
            #[cfg(feature = "quic")]
            TokioStream::Quic(s) => {
                let $q = Pin::new(&mut **s);
                $quic
            }
        }
    };
}

/// A tokio read into `buf`, as futures-io reports it (how many bytes).
fn read_into<R: TokioRead + ?Sized>(
    s: Pin<&mut R>,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    ready!(s.poll_read(cx, &mut rb))?;
    Poll::Ready(Ok(rb.filled().len()))
}

impl AsyncRead for TokioStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => read_into(s, cx, buf), quic q => q.poll_read(cx, buf))
    }
}

impl AsyncWrite for TokioStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        each!(self, s => s.poll_write(cx, buf), quic q => q.poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        each!(
            self,
            s => s.poll_write_vectored(cx, bufs),
            quic q => q.poll_write_vectored(cx, bufs)
        )
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_flush(cx), quic q => q.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each!(self, s => s.poll_shutdown(cx), quic q => q.poll_close(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{AsyncReadExt, AsyncWriteExt};

    /// Over TCP, one vectored write takes several pieces at once (tokio's `writev`), and a
    /// read sees them in order.
    #[tokio::test]
    async fn a_vectored_write_reaches_the_socket_whole() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let (dialed, accepted) = tokio::join!(TcpStream::connect(addr), l.accept());
        let mut a = TokioStream::Tcp(dialed.unwrap());
        let mut b = TokioStream::Tcp(accepted.unwrap().0);
        let (p1, p2, p3) = (vec![1u8; 10], vec![2u8; 3000], vec![3u8; 7]);
        let slices = [IoSlice::new(&p1), IoSlice::new(&p2), IoSlice::new(&p3)];
        let n = std::future::poll_fn(|cx| Pin::new(&mut a).poll_write_vectored(cx, &slices))
            .await
            .unwrap();
        assert_eq!(n, 3017, "all three pieces in one write");
        a.close().await.unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, [p1, p2, p3].concat());
    }
}
