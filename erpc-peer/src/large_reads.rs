//! Reading large frames: the rest of a frame goes into a buffer of its own ([`LargeRead`]),
//! read straight from the socket, and a frame that needs a large buffer gets the one an
//! earlier large frame arrived in, once nothing holds that frame's bytes any more
//! ([`Spares`]).
//!
//! Without the reuse every megabyte frame is read into fresh memory: the allocator hands out
//! pages it has just given back to the kernel, and faulting them in again costs more than
//! the kernel's copy of the bytes (about 90 page faults per 1 MiB call on each side).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::BytesMut;

use crate::runtime::Stream;

/// Largest single read of the connection's read buffer; reads start small and grow to this
/// when they fill what they asked for. A frame whose rest is at least this long is read by a
/// [`LargeRead`].
pub(crate) const READ_CHUNK: usize = 64 * 1024;

/// The least room a [`LargeRead`] makes ahead of what has arrived: a read needs initialized
/// bytes, so the room is zeroed, once, before the bytes land in it.
pub(crate) const LARGE_READ_STEP: usize = 256 * 1024;
/// A large frame's buffer holds at most this many times what has arrived of it (or
/// [`LARGE_READ_STEP`] more): room for the whole frame at once is a claim of the peer's, so a
/// peer that claims 16 MiB and sends little holds (and makes us zero) little here. Within
/// that, one read takes all the socket holds of the frame: a 1 MiB frame that arrived whole
/// is read in three reads (its first 64 KiB, then 448 KiB, then the rest), not one per
/// [`LARGE_READ_STEP`].
pub(crate) const LARGE_READ_GROWTH: usize = 8;

/// The rest of a large frame, read into a buffer of its own: straight from the socket, each
/// byte zeroed once before it lands (no copy through a scratch buffer, no zeroing the same
/// room again read after read), the session not asked about the frame until it is whole.
///
/// The buffer grows only with what arrives ([`LARGE_READ_GROWTH`], [`LARGE_READ_STEP`]); the
/// frame's size itself was checked against the message size limit by the session
/// ([`input_needed`](erpc_proto::session::Session::input_needed) does not say how much a
/// frame over the limit needs, so none is read this way).
#[derive(Debug)]
pub(crate) struct LargeRead {
    /// `buf[..filled]` arrived; the rest of `buf` is zeroed room for the next read.
    buf: BytesMut,
    filled: usize,
    /// The frame's length.
    total: usize,
}

impl LargeRead {
    /// Takes the start of a frame (the whole of `rbuf`: a partial frame) that needs `need`
    /// more bytes. A spare from `spares` with room for the whole frame is taken when `rbuf`
    /// has none.
    pub(crate) fn start(rbuf: &mut BytesMut, need: usize, spares: &mut Spares) -> LargeRead {
        let have = rbuf.len();
        let total = have.saturating_add(need);
        let spare = (rbuf.capacity() < total)
            .then(|| spares.reuse(total))
            .flatten();
        let buf = match spare {
            Some(mut spare) => {
                spare.extend_from_slice(rbuf);
                rbuf.clear();
                spare
            }
            None => std::mem::take(rbuf),
        };
        LargeRead {
            buf,
            filled: have,
            total,
        }
    }

    /// Reads more of the frame (never past its end). `Ok(n)` are `n` bytes of it. `spare`
    /// reads into the buffer's spare capacity when the stream can (see
    /// [`Runtime::poll_read_spare`](crate::Runtime::poll_read_spare)); otherwise the room is
    /// zeroed and read into.
    pub(crate) fn poll_read<S: Stream>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
        spare: impl FnOnce(
            &mut S,
            &mut Context<'_>,
            &mut BytesMut,
            usize,
        ) -> Option<Poll<io::Result<usize>>>,
    ) -> Poll<io::Result<usize>> {
        if self.buf.len() <= self.filled {
            // Room for the next reads, in proportion to what arrived.
            let room = self.total.min(
                self.filled
                    .saturating_mul(LARGE_READ_GROWTH)
                    .max(self.filled.saturating_add(LARGE_READ_STEP)),
            );
            self.buf.reserve(room - self.buf.len());
            if let Some(polled) = spare(stream, cx, &mut self.buf, room - self.filled) {
                self.filled = self.buf.len();
                return polled;
            }
            // Zeroed once, then read into by as many reads as it takes.
            self.buf.resize(room, 0);
        }
        let polled = Pin::new(stream).poll_read(cx, &mut self.buf[self.filled..]);
        if let Poll::Ready(Ok(n)) = polled {
            self.filled += n.min(self.buf.len() - self.filled);
        }
        polled
    }

    /// Whether the whole frame arrived.
    pub(crate) fn is_complete(&self) -> bool {
        self.filled >= self.total
    }

    /// The bytes that arrived (the whole frame when [complete](LargeRead::is_complete)), as
    /// the connection's read buffer again; its allocation becomes a spare once the frame is
    /// taken out of it whole ([`Spares::after_read`]).
    pub(crate) fn finish(mut self, spares: &mut Spares) -> BytesMut {
        self.buf.truncate(self.filled);
        spares.filling = Some(self.buf.capacity());
        self.buf
    }
}

/// How many spare buffers a connection keeps.
pub(crate) const SPARES: usize = 8;
/// The most memory a connection's spare buffers hold in all (two 16 MiB frames).
pub(crate) const SPARE_BYTES: usize = 32 * 1024 * 1024;

/// Read buffers of large frames that were taken out whole, kept to read later large frames
/// into. A spare is reused only once every piece of its frame has been dropped (the message,
/// its body, a reply that echoed the body), so reusing never touches bytes someone holds.
/// Bounded by [`SPARES`] and [`SPARE_BYTES`]; the driver drops them when the connection goes
/// quiet, with its other buffers.
#[derive(Default)]
pub(crate) struct Spares {
    /// Each with the size of its allocation.
    kept: Vec<(BytesMut, usize)>,
    /// What the kept buffers hold in all, in bytes of their allocations.
    bytes: usize,
    /// While the read buffer holds (or held) a large frame: the size of its allocation.
    filling: Option<usize>,
}

impl Spares {
    /// After a read was handed to the connection: a read buffer that held a large frame
    /// and is now empty (the frame was taken out whole) becomes a spare.
    pub(crate) fn after_read(&mut self, rbuf: &mut BytesMut) {
        if let Some(size) = self.filling {
            if rbuf.is_empty() {
                self.filling = None;
                self.keep(std::mem::take(rbuf), size);
            }
        }
    }

    /// Keeps what is left of a read buffer whose large frame (`size` bytes of allocation)
    /// was just taken out whole; the oldest spares go to make room.
    fn keep(&mut self, rest: BytesMut, size: usize) {
        if size > SPARE_BYTES {
            return;
        }
        while !self.kept.is_empty()
            && (self.kept.len() >= SPARES || self.bytes + size > SPARE_BYTES)
        {
            let (_, old) = self.kept.remove(0);
            self.bytes -= old;
        }
        self.bytes += size;
        self.kept.push((rest, size));
    }

    /// A spare with room for `total` bytes that no one else holds, emptied and ready.
    fn reuse(&mut self, total: usize) -> Option<BytesMut> {
        let i = self
            .kept
            .iter_mut()
            .position(|(b, size)| *size >= total && b.try_reclaim(total))?;
        let (spare, size) = self.kept.swap_remove(i);
        self.bytes -= size;
        Some(spare)
    }

    /// Drops them all (the connection is quiet; its read buffer was let go too).
    pub(crate) fn clear(&mut self) {
        *self = Spares::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;

    /// A stream whose reads return the queued pieces (a read takes at most one piece, and as
    /// much of it as fits), then `Pending` (or EOF when `eof`).
    #[derive(Default)]
    struct Pieces {
        queue: VecDeque<Vec<u8>>,
        eof: bool,
        reads: usize,
    }

    impl futures_io::AsyncRead for Pieces {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            self.reads += 1;
            let Some(front) = self.queue.front_mut() else {
                return if self.eof {
                    Poll::Ready(Ok(0))
                } else {
                    Poll::Pending
                };
            };
            let n = front.len().min(buf.len());
            buf[..n].copy_from_slice(&front[..n]);
            front.drain(..n);
            if front.is_empty() {
                self.queue.pop_front();
            }
            Poll::Ready(Ok(n))
        }
    }

    impl futures_io::AsyncWrite for Pieces {
        fn poll_write(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// A stream without reads into spare capacity.
    fn no_spare(
        _: &mut Pieces,
        _: &mut Context<'_>,
        _: &mut BytesMut,
        _: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        None
    }

    /// Reads until the stream has nothing more; returns the bytes each read brought.
    fn read_all(large: &mut LargeRead, stream: &mut Pieces) -> Vec<usize> {
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        let mut got = Vec::new();
        while !large.is_complete() {
            match large.poll_read(stream, &mut cx, no_spare) {
                Poll::Ready(Ok(0)) | Poll::Pending => break,
                Poll::Ready(Ok(n)) => got.push(n),
                Poll::Ready(Err(e)) => panic!("{e}"),
            }
        }
        got
    }

    /// The frame `0, 1, 2, ...` (mod 251) of `len` bytes.
    fn frame(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[test]
    fn a_frame_arriving_in_pieces_is_whole_and_in_order() {
        let f = frame(3 * LARGE_READ_STEP + 12_345);
        let mut rbuf = BytesMut::from(&f[..100]);
        let mut stream = Pieces::default();
        for piece in f[100..].chunks(50_000) {
            stream.queue.push_back(piece.to_vec());
        }
        let mut spares = Spares::default();
        let mut large = LargeRead::start(&mut rbuf, f.len() - 100, &mut spares);
        assert!(rbuf.is_empty(), "the start of the frame went along");
        let reads = read_all(&mut large, &mut stream);
        assert!(large.is_complete());
        assert_eq!(reads.iter().sum::<usize>(), f.len() - 100);
        let whole = large.finish(&mut spares);
        assert_eq!(&whole[..], &f[..], "bytes in order, none lost");
        assert!(stream.queue.is_empty());
    }

    /// Reads into spare capacity (as tokio's do): the piece's bytes appended, at most `max`.
    fn into_spare(
        s: &mut Pieces,
        _: &mut Context<'_>,
        buf: &mut BytesMut,
        max: usize,
    ) -> Option<Poll<io::Result<usize>>> {
        let Some(front) = s.queue.front_mut() else {
            return Some(Poll::Pending);
        };
        let n = front.len().min(max);
        buf.extend_from_slice(&front[..n]);
        front.drain(..n);
        if front.is_empty() {
            s.queue.pop_front();
        }
        Some(Poll::Ready(Ok(n)))
    }

    #[test]
    fn reads_into_spare_capacity_zero_nothing_and_stop_at_the_frame_end() {
        let f = frame(5 * LARGE_READ_STEP + 3);
        let mut rbuf = BytesMut::from(&f[..100]);
        let mut stream = Pieces::default();
        for piece in f[100..].chunks(100_000) {
            stream.queue.push_back(piece.to_vec());
        }
        stream.queue.push_back(b"next".to_vec());
        let mut spares = Spares::default();
        let mut large = LargeRead::start(&mut rbuf, f.len() - 100, &mut spares);
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        while !large.is_complete() {
            let polled = large.poll_read(&mut stream, &mut cx, into_spare);
            assert!(matches!(polled, Poll::Ready(Ok(n)) if n > 0));
            assert_eq!(large.buf.len(), large.filled, "no zeroed room");
        }
        assert_eq!(&large.finish(&mut spares)[..], &f[..]);
        assert_eq!(stream.queue, [b"next".to_vec()]);
    }

    #[test]
    fn a_partial_frame_waits_and_goes_on_where_it_stopped() {
        let f = frame(2 * LARGE_READ_STEP);
        let mut rbuf = BytesMut::from(&f[..10]);
        let mut stream = Pieces::default();
        stream.queue.push_back(f[10..1000].to_vec());
        let mut spares = Spares::default();
        let mut large = LargeRead::start(&mut rbuf, f.len() - 10, &mut spares);
        assert_eq!(read_all(&mut large, &mut stream), [990]);
        assert!(!large.is_complete(), "the rest has not arrived");
        // Later, the rest (and never past the frame: the next frame's bytes stay queued).
        stream.queue.push_back(f[1000..].to_vec());
        stream.queue.push_back(b"next frame".to_vec());
        read_all(&mut large, &mut stream);
        assert!(large.is_complete());
        assert_eq!(&large.finish(&mut spares)[..], &f[..]);
        assert_eq!(stream.queue, [b"next frame".to_vec()]);
    }

    #[test]
    fn a_claim_of_16_mib_with_10_bytes_sent_holds_little() {
        let mut rbuf = BytesMut::from(&[1u8; 10][..]);
        let mut stream = Pieces::default();
        stream.queue.push_back(vec![2u8; 10]);
        let mut spares = Spares::default();
        let mut large = LargeRead::start(&mut rbuf, 16 << 20, &mut spares);
        assert_eq!(read_all(&mut large, &mut stream), [10]);
        assert!(
            large.buf.capacity() <= 2 * LARGE_READ_STEP,
            "{} bytes for 20 that arrived",
            large.buf.capacity()
        );
        // The peer gives up: what arrived goes back to the connection, which sees the EOF.
        stream.eof = true;
        let mut cx = Context::from_waker(futures_util::task::noop_waker_ref());
        assert!(matches!(
            large.poll_read(&mut stream, &mut cx, no_spare),
            Poll::Ready(Ok(0))
        ));
        let rest = large.finish(&mut spares);
        assert_eq!(rest.len(), 20);
    }

    #[test]
    fn a_16_mib_frame_grows_its_buffer_with_what_arrives() {
        let len = 16 << 20;
        let f = frame(len);
        let mut rbuf = BytesMut::from(&f[..64]);
        let mut stream = Pieces::default();
        let mut spares = Spares::default();
        let mut large = LargeRead::start(&mut rbuf, len - 64, &mut spares);
        for piece in f[64..].chunks(300_000) {
            stream.queue.push_back(piece.to_vec());
            read_all(&mut large, &mut stream);
            // Zeroed room and allocation: in proportion to what arrived (the allocation may
            // round up to twice that).
            let bound = (LARGE_READ_GROWTH * large.filled).max(large.filled + LARGE_READ_STEP);
            assert!(large.buf.len() <= bound);
            assert!(large.buf.capacity() <= 2 * bound);
        }
        assert!(large.is_complete());
        let whole = large.finish(&mut spares);
        assert!(whole[..] == f[..], "the 16 MiB arrived whole");
        // Taken out whole, its buffer is the next large frame's.
        let mut rbuf = whole;
        let frame_bytes = rbuf.split_to(len);
        spares.after_read(&mut rbuf);
        drop(frame_bytes);
        let mut next = BytesMut::from(&f[..64]);
        let large = LargeRead::start(&mut next, len - 64, &mut spares);
        assert!(large.buf.capacity() >= len, "the spare was reused");
        assert_eq!(&large.buf[..64], &f[..64]);
    }

    /// A read buffer that filled with one large frame of `len` bytes, taken out whole.
    fn emptied(spares: &mut Spares, len: usize) -> (BytesMut, BytesMut) {
        let mut rbuf = BytesMut::with_capacity(len);
        rbuf.resize(len, 7);
        spares.filling = Some(rbuf.capacity());
        let frame = rbuf.split_to(len);
        (rbuf, frame)
    }

    #[test]
    fn a_spare_is_reused_only_once_its_frame_is_dropped() {
        let mut spares = Spares::default();
        let (mut rbuf, frame) = emptied(&mut spares, 1 << 20);
        let ptr = frame.as_ptr();
        spares.after_read(&mut rbuf);
        assert_eq!(spares.kept.len(), 1);
        assert_eq!(rbuf.capacity(), 0, "the read buffer starts afresh");
        let body = frame.freeze();
        assert!(spares.reuse(1 << 20).is_none(), "its bytes are still held");
        drop(body);
        let again = spares.reuse(1 << 20).expect("nobody holds it now");
        assert_eq!(again.as_ptr(), ptr, "the same memory");
        assert!(again.is_empty() && again.capacity() >= 1 << 20);
        assert!(spares.kept.is_empty() && spares.bytes == 0);
    }

    #[test]
    fn a_spare_too_small_for_the_frame_is_not_taken() {
        let mut spares = Spares::default();
        let (mut rbuf, frame) = emptied(&mut spares, 100_000);
        spares.after_read(&mut rbuf);
        drop(frame);
        assert!(spares.reuse(200_000).is_none());
        assert!(spares.reuse(100_000).is_some());
    }

    #[test]
    fn a_buffer_that_still_holds_bytes_is_not_kept() {
        let mut spares = Spares::default();
        let mut rbuf = BytesMut::with_capacity(1 << 20);
        rbuf.resize(1 << 20, 7);
        spares.filling = Some(rbuf.capacity());
        let _frame = rbuf.split_to(1000);
        spares.after_read(&mut rbuf);
        assert!(spares.kept.is_empty(), "the next frame's bytes are in it");
        assert_eq!(rbuf.len(), (1 << 20) - 1000);
    }

    #[test]
    fn spares_are_bounded_in_number_and_bytes() {
        let mut spares = Spares::default();
        for _ in 0..3 * SPARES {
            let (mut rbuf, _frame) = emptied(&mut spares, 1 << 16);
            spares.after_read(&mut rbuf);
        }
        assert_eq!(spares.kept.len(), SPARES);
        for _ in 0..4 {
            let (mut rbuf, _frame) = emptied(&mut spares, 12 << 20);
            spares.after_read(&mut rbuf);
            assert!(spares.bytes <= SPARE_BYTES);
        }
        assert_eq!(spares.kept.len(), 2, "two 12 MiB buffers fit in 32 MiB");
        let (mut rbuf, _frame) = emptied(&mut spares, SPARE_BYTES + 1);
        spares.after_read(&mut rbuf);
        assert_eq!(
            spares.kept.len(),
            2,
            "a buffer over the bound is never kept"
        );
        spares.clear();
        assert!(spares.kept.is_empty() && spares.bytes == 0 && spares.filling.is_none());
    }
}
