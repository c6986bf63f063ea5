//! A connection over any std byte stream (Go's `ServeConn` for what is not a socket of this
//! crate: a pipe, a serial line, a stream of a transport this crate does not know): a reader
//! thread on the read half ([`ReadQueue`]) and a writer thread on the write half, fed through
//! a bounded queue ([`MAX_QUEUED_WRITES`] bytes), so the connection's thread never blocks.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};

use crate::reader::ReadQueue;
use crate::rt::lock;

/// Bytes written to a std stream's writer thread and not yet taken by it, at most; a write
/// past it waits (the peer's queued-bytes mark and `write_timeout` apply above this).
pub const MAX_QUEUED_WRITES: usize = 256 * 1024;

#[derive(Default)]
struct OutState {
    queue: VecDeque<Bytes>,
    queued: usize,
    /// The writer thread is writing a chunk it took.
    writing: bool,
    /// No more writes: the writer thread ends once the queue is written.
    closing: bool,
    /// The writer thread ended (the write half is dropped).
    done: bool,
    error: Option<io::Error>,
    /// The connection's task, waiting for room, a flush or the close.
    waker: Option<Waker>,
}

#[derive(Default)]
struct Outbox {
    state: Mutex<OutState>,
    work: Condvar,
}

impl Outbox {
    fn wake(st: &mut OutState) {
        if let Some(w) = st.waker.take() {
            w.wake();
        }
    }
}

/// A std reader and writer as the futures-io stream the peer drives.
pub(crate) struct IoStream {
    read: ReadQueue,
    out: Arc<Outbox>,
}

impl std::fmt::Debug for IoStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoStream").finish_non_exhaustive()
    }
}

impl IoStream {
    /// Starts the reader thread on `reader` and the writer thread on `writer`.
    pub(crate) fn start<R, W>(reader: R, writer: W) -> io::Result<Self>
    where
        R: Read + Send + 'static,
        W: Write + Send + 'static,
    {
        let out = Arc::new(Outbox::default());
        let o = Arc::clone(&out);
        std::thread::Builder::new()
            .name("erpc-writer".into())
            .spawn(move || write_loop(&o, writer))?;
        let read = ReadQueue::start("erpc-reader", reader)?;
        Ok(IoStream { read, out })
    }
}

fn write_loop(out: &Outbox, mut writer: impl Write) {
    let mut st = lock(&out.state);
    loop {
        while st.queue.is_empty() && !st.closing {
            st = out.work.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        let Some(chunk) = st.queue.pop_front() else {
            break; // closing and everything written
        };
        st.writing = true;
        let more = !st.queue.is_empty();
        drop(st);
        let r = writer
            .write_all(&chunk)
            .and_then(|()| if more { Ok(()) } else { writer.flush() });
        st = lock(&out.state);
        st.writing = false;
        st.queued -= chunk.len();
        Outbox::wake(&mut st);
        if let Err(e) = r {
            st.error = Some(e);
            break;
        }
    }
    st.done = true;
    Outbox::wake(&mut st);
    drop(st);
    drop(writer);
}

impl AsyncRead for IoStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut().read.poll_read(cx, buf)
    }
}

/// The writer thread's error, once it failed (the error is kept for later calls).
fn failed(st: &OutState) -> Option<io::Error> {
    st.error
        .as_ref()
        .map(|e| io::Error::new(e.kind(), e.to_string()))
}

impl AsyncWrite for IoStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = lock(&self.out.state);
        if let Some(e) = failed(&st) {
            return Poll::Ready(Err(e));
        }
        if st.closing || st.done {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let room = MAX_QUEUED_WRITES.saturating_sub(st.queued);
        if room == 0 {
            st.waker = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let n = room.min(buf.len());
        st.queue.push_back(Bytes::copy_from_slice(&buf[..n]));
        st.queued += n;
        self.out.work.notify_one();
        Poll::Ready(Ok(n))
    }

    /// Ready once the writer thread wrote (and flushed) everything queued.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.out.state);
        if let Some(e) = failed(&st) {
            return Poll::Ready(Err(e));
        }
        if st.queue.is_empty() && !st.writing {
            return Poll::Ready(Ok(()));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }

    /// Ready once everything queued is written and the write half dropped.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = lock(&self.out.state);
        if !st.closing {
            st.closing = true;
            self.out.work.notify_one();
        }
        if st.done {
            return Poll::Ready(failed(&st).map_or(Ok(()), Err));
        }
        st.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl Drop for IoStream {
    fn drop(&mut self) {
        // The writer thread writes what is queued and drops the write half; the reader
        // thread ends at its next read (a read that never returns keeps it, and the read
        // half, until the process ends).
        self.read.close();
        let mut st = lock(&self.out.state);
        st.closing = true;
        self.out.work.notify_one();
    }
}
