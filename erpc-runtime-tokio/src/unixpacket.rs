//! The `unixpacket` network on tokio (feature `unixpacket`, Linux and Android): seqpacket
//! unix sockets in tokio's reactor, with the packet rules of [`erpc_peer::unixpacket`]
//! (packets of at most 1024 bytes written, longer packets read whole up to
//! [`MAX_PACKET`](erpc_peer::unixpacket::MAX_PACKET), never a silent cut).

use std::io::{self, IoSlice};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use erpc_peer::unixpacket::{self as packet, PacketReader};
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// `fd` in tokio's reactor. tokio 1.54 deprecates the safe `AsyncFd::new` for types whose
/// `as_raw_fd` might change or close under it; an `OwnedFd` owns its descriptor and always
/// answers the same one, which is the condition `AsyncFd::register` asks for, so the safe
/// constructor is sound here (and `unsafe` is forbidden in this workspace).
#[allow(deprecated)]
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    AsyncFd::new(fd)
}

/// A connected seqpacket socket as a byte stream.
#[derive(Debug)]
pub struct TokioUnixpacketStream {
    fd: AsyncFd<OwnedFd>,
    reader: PacketReader,
}

impl TokioUnixpacketStream {
    fn new(fd: OwnedFd) -> io::Result<Self> {
        Ok(Self {
            fd: register(fd)?,
            reader: PacketReader::new(),
        })
    }

    /// Connects to the listener at `path`.
    pub fn connect(path: &Path) -> io::Result<Self> {
        Self::new(packet::connect(path, true)?)
    }
}

impl AsyncRead for TokioUnixpacketStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.reader.has_buffered() {
            let n = this
                .reader
                .read(this.fd.get_ref(), buf.initialize_unfilled(), true)?;
            buf.advance(n);
            return Poll::Ready(Ok(()));
        }
        loop {
            let mut guard = ready!(this.fd.poll_read_ready(cx))?;
            let out = buf.initialize_unfilled();
            match guard.try_io(|fd| this.reader.read(fd.get_ref(), out, true)) {
                Ok(r) => {
                    buf.advance(r?);
                    return Poll::Ready(Ok(()));
                }
                Err(_would_block) => continue,
            }
        }
    }
}

impl TokioUnixpacketStream {
    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        send: impl Fn(&OwnedFd) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|fd| send(fd.get_ref())) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for TokioUnixpacketStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |fd| packet::send(fd, buf, true))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_send(cx, |fd| packet::send_vectored(fd, bufs, true))
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(packet::shutdown_write(self.fd.get_ref()))
    }
}

/// A listening seqpacket socket; its path is removed when it is dropped.
#[derive(Debug)]
pub struct TokioUnixpacketListener {
    fd: AsyncFd<OwnedFd>,
    path: PathBuf,
}

impl TokioUnixpacketListener {
    /// Listens at `path`.
    pub fn bind(path: &Path) -> io::Result<Self> {
        Ok(Self {
            fd: register(packet::listen(path, true)?)?,
            path: path.to_owned(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<TokioUnixpacketStream> {
        let fd = self
            .fd
            .async_io(tokio::io::Interest::READABLE, |fd| packet::accept(fd, true))
            .await?;
        TokioUnixpacketStream::new(fd)
    }
}

impl Drop for TokioUnixpacketListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
