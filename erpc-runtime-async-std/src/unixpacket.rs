//! The `unixpacket` network on async-io (feature `unixpacket`, Linux and Android):
//! seqpacket unix sockets in async-io's reactor, with the packet rules of
//! [`erpc_peer::unixpacket`] (packets of at most 1024 bytes written, longer packets read
//! whole up to [`MAX_PACKET`](erpc_peer::unixpacket::MAX_PACKET), never a silent cut).

use std::io::{self, IoSlice};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use async_io::Async;
use erpc_peer::unixpacket::{self as packet, PacketReader};
use futures_io::{AsyncRead, AsyncWrite};

/// A connected seqpacket socket as a byte stream.
#[derive(Debug)]
pub struct AsyncIoUnixpacketStream {
    fd: Async<OwnedFd>,
    reader: PacketReader,
}

impl AsyncIoUnixpacketStream {
    fn new(fd: OwnedFd) -> io::Result<Self> {
        Ok(Self {
            fd: Async::new_nonblocking(fd)?,
            reader: PacketReader::new(),
        })
    }

    /// Connects to the listener at `path`.
    pub fn connect(path: &Path) -> io::Result<Self> {
        Self::new(packet::connect(path, true)?)
    }

    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        send: impl Fn(&OwnedFd) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match send(self.fd.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.fd.poll_writable(cx))?
                }
                r => return Poll::Ready(r),
            }
        }
    }
}

impl AsyncRead for AsyncIoUnixpacketStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            match this.reader.read(this.fd.get_ref(), buf, true) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(this.fd.poll_readable(cx))?
                }
                r => return Poll::Ready(r),
            }
        }
    }
}

impl AsyncWrite for AsyncIoUnixpacketStream {
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

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(packet::shutdown_write(self.fd.get_ref()))
    }
}

/// A listening seqpacket socket; its path is removed when it is dropped.
#[derive(Debug)]
pub struct AsyncIoUnixpacketListener {
    fd: Async<OwnedFd>,
    path: PathBuf,
}

impl AsyncIoUnixpacketListener {
    /// Listens at `path`.
    pub fn bind(path: &Path) -> io::Result<Self> {
        Ok(Self {
            fd: Async::new_nonblocking(packet::listen(path, true)?)?,
            path: path.to_owned(),
        })
    }

    /// The socket path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next connection.
    pub async fn accept(&self) -> io::Result<AsyncIoUnixpacketStream> {
        let fd = self.fd.read_with(|fd| packet::accept(fd, true)).await?;
        AsyncIoUnixpacketStream::new(fd)
    }
}

impl Drop for AsyncIoUnixpacketListener {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
