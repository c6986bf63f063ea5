//! The read side of a connection over a std reader ([`Peer::serve_io`](crate::Peer::serve_io);
//! off unix every socket's): a reader thread that blocks in `read` (64 KiB at a time) and
//! hands what it read to the connection's thread through a bounded queue of a few chunks
//! ([`ReadQueue`]). When the queue is full the reader waits, and what the other side sends
//! backs up (a socket's receive buffer fills and TCP pushes back on the sender).

use std::io::{self, Read};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};

use crate::pipe::{self, pipe};

/// Size of one read of the reader thread.
const READ_CHUNK: usize = 64 * 1024;
/// Reads the reader thread may queue before it waits for the connection to take them.
const READ_QUEUE: usize = 4;

/// What the reader thread hands over: bytes, the end of the stream, or a read error.
type Chunk = io::Result<Bytes>;

/// The connection's end of a reader thread.
#[derive(Debug)]
pub(crate) struct ReadQueue {
    rx: Option<pipe::Receiver<Chunk>>,
    /// The rest of the chunk being read.
    chunk: Bytes,
    eof: bool,
}

impl ReadQueue {
    /// Starts a reader thread (named `name`) on `source`; it ends at the end of the stream,
    /// at a read error, or at the first read after this queue is dropped.
    pub(crate) fn start<R: Read + Send + 'static>(name: &str, mut source: R) -> io::Result<Self> {
        let (tx, rx) = pipe(READ_QUEUE);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || read_loop(&mut source, &tx))?;
        Ok(ReadQueue {
            rx: Some(rx),
            chunk: Bytes::new(),
            eof: false,
        })
    }

    /// Stops taking chunks: the reader thread ends at its next read or send.
    pub(crate) fn close(&mut self) {
        self.rx = None;
    }

    /// Reads what the reader thread queued into `buf`; `Ready(Ok(0))` at the end.
    pub(crate) fn poll_read(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut n = 0;
        loop {
            if !self.chunk.is_empty() {
                let k = self.chunk.len().min(buf.len() - n);
                buf[n..n + k].copy_from_slice(&self.chunk[..k]);
                self.chunk.advance(k);
                n += k;
                if n == buf.len() {
                    return Poll::Ready(Ok(n));
                }
            }
            if self.eof {
                return Poll::Ready(Ok(n));
            }
            let Some(rx) = self.rx.as_mut() else {
                return Poll::Ready(Ok(n));
            };
            match rx.poll_recv(cx) {
                Poll::Ready(Some(Ok(c))) => self.chunk = c,
                Poll::Ready(Some(Err(e))) => {
                    self.eof = true;
                    if n > 0 {
                        return Poll::Ready(Ok(n));
                    }
                    return Poll::Ready(Err(e));
                }
                Poll::Ready(None) => self.eof = true,
                Poll::Pending if n > 0 => return Poll::Ready(Ok(n)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

fn read_loop(source: &mut impl Read, tx: &pipe::Sender<Chunk>) {
    let mut buf = BytesMut::zeroed(READ_CHUNK);
    loop {
        if buf.len() < READ_CHUNK / 4 {
            // Chunks share one allocation until it is used up.
            buf = BytesMut::zeroed(READ_CHUNK);
        }
        let chunk = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => Ok(buf.split_to(n).freeze()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => Err(e),
        };
        let failed = chunk.is_err();
        if tx.send(chunk).is_err() || failed {
            break;
        }
    }
    // Dropping `tx` tells the connection the stream ended.
}
