//! The bytes a connection has queued for its socket, in the order they go out.
//!
//! Frames come from the session core's output. Small ones are gathered into one buffer, so
//! that a batch of replies leaves in one write; a large body (a megabyte) comes as the
//! `Bytes` the message carried and stays a chunk of its own, and a large batch is taken
//! over as it is, without a copy behind what is still queued — copying either would cost
//! as much as the kernel's own copy of it.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use erpc_proto::session::Session as Core;

/// Output this size or larger is queued as a chunk of its own instead of being copied
/// behind the bytes already queued; a gathering buffer this full takes more only while it
/// has room for it.
pub(crate) const GATHER_LIMIT: usize = 64 * 1024;

/// The most pieces one vectored write takes (Linux allows 1024; 64 hold a batch of sealed
/// chunks and the gathering buffer with room to spare).
pub(crate) const MAX_SLICES: usize = 64;

/// Bytes queued for a socket: sealed chunks, then the buffer that gathers new output.
#[derive(Default)]
pub(crate) struct Outgoing {
    sealed: VecDeque<Bytes>,
    gather: BytesMut,
    len: usize,
}

impl Outgoing {
    /// Bytes queued.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Takes everything `core` has queued for the peer; returns how many bytes.
    pub(crate) fn take_from(&mut self, core: &mut Core) -> usize {
        let n = core.queued_bytes();
        if n == 0 {
            return 0;
        }
        // A large output, or a large gathering buffer that would have to grow (and so be
        // copied) to take it: the queued bytes are sealed as they are.
        let spare = self.gather.capacity() - self.gather.len();
        if !self.gather.is_empty()
            && (n >= GATHER_LIMIT || (self.gather.len() >= GATHER_LIMIT && spare < n))
        {
            self.sealed
                .push_back(std::mem::take(&mut self.gather).freeze());
        }
        // Into an empty buffer the core's small frames are swapped, not copied; its large
        // bodies come as the pieces they are.
        let taken = core.poll_transmit_vectored(&mut self.sealed, &mut self.gather);
        self.len += taken;
        taken
    }

    /// The bytes to write next (empty when nothing is queued).
    pub(crate) fn first(&self) -> &[u8] {
        match self.sealed.front() {
            Some(b) => b,
            None => &self.gather,
        }
    }

    /// Fills `dst` with the queued bytes in order, as many pieces as fit; returns how many
    /// (0 when nothing is queued). One vectored write of them takes everything queued when
    /// there are no more pieces than `dst` holds.
    pub(crate) fn slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let pieces = self
            .sealed
            .iter()
            .map(|b| &b[..])
            .chain(std::iter::once(&self.gather[..]))
            .filter(|b| !b.is_empty());
        let mut k = 0;
        for (slot, piece) in dst.iter_mut().zip(pieces) {
            *slot = IoSlice::new(piece);
            k += 1;
        }
        k
    }

    /// `n` bytes from the front of the queue were written (at most [`len`](Outgoing::len));
    /// they may span several pieces.
    pub(crate) fn advance(&mut self, n: usize) {
        let mut n = n.min(self.len);
        self.len -= n;
        while n > 0 {
            match self.sealed.front_mut() {
                Some(b) => {
                    let k = n.min(b.len());
                    b.advance(k);
                    n -= k;
                    if b.is_empty() {
                        self.sealed.pop_front();
                    }
                }
                None => {
                    self.gather.advance(n);
                    n = 0;
                }
            }
        }
        // Sealed pieces are never empty, so the front is what goes next.
        while self.sealed.front().is_some_and(|b| b.is_empty()) {
            self.sealed.pop_front();
        }
    }

    /// Drops everything queued.
    pub(crate) fn clear(&mut self) {
        self.sealed.clear();
        self.gather.clear();
        self.len = 0;
    }

    /// Frees the memory of an empty queue.
    pub(crate) fn release_idle(&mut self) {
        if self.is_empty() {
            *self = Outgoing::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use erpc_proto::plugin::SessionInfo;
    use erpc_proto::session::{CallOptions, SessionConfig};
    use erpc_proto::{CodecId, Message, MessageType};

    use crate::conn::tests::origin;

    fn core() -> Core {
        Core::new(SessionConfig::dialer(), SessionInfo::default(), origin())
    }

    fn call(c: &mut Core, body_len: usize) {
        let mut m = Message::new(MessageType::CALL, 0, "/x");
        m.body_codec = CodecId::PLAIN;
        m.body = Bytes::from(vec![7u8; body_len]);
        c.call(origin(), m, CallOptions::no_timeout()).unwrap();
    }

    /// Writes everything queued, `step` bytes at a time at most.
    fn drain(o: &mut Outgoing, step: usize) -> Vec<u8> {
        let mut all = Vec::new();
        while !o.is_empty() {
            let n = o.first().len().min(step);
            assert!(n > 0, "queued bytes but nothing to write");
            all.extend_from_slice(&o.first()[..n]);
            o.advance(n);
        }
        all
    }

    #[test]
    fn bytes_leave_in_the_order_they_were_queued_whatever_their_sizes() {
        let mut c = core();
        let mut reference = core();
        let mut o = Outgoing::default();
        let mut expected = Vec::new();
        for (i, len) in [10, 200_000, 30, 40, 1 << 20, 5, 70_000]
            .into_iter()
            .enumerate()
        {
            call(&mut c, len);
            call(&mut reference, len);
            while let Some(piece) = reference.poll_transmit() {
                expected.extend_from_slice(&piece);
            }
            o.take_from(&mut c);
            if i == 3 {
                // Part of the queue leaves between takes.
                let n = o.first().len() / 2;
                expected.drain(..n);
                o.advance(n);
            }
        }
        assert_eq!(o.len(), expected.len());
        assert_eq!(drain(&mut o, 4096), expected);
        assert_eq!(o.len(), 0);
    }

    /// Writes everything queued with vectored writes, each taking at most `step` bytes
    /// (a partial write that may end anywhere in any piece).
    fn drain_vectored(o: &mut Outgoing, steps: &[usize]) -> (Vec<u8>, usize) {
        let mut all = Vec::new();
        let mut writes = 0;
        while !o.is_empty() {
            let mut slices = [IoSlice::new(&[]); MAX_SLICES];
            let k = o.slices(&mut slices);
            assert!(k > 0, "queued bytes but nothing to write");
            let offered: usize = slices[..k].iter().map(|s| s.len()).sum();
            assert_eq!(offered, o.len(), "every queued byte offered at once");
            let mut left = steps[writes % steps.len()];
            for s in &slices[..k] {
                let n = s.len().min(left);
                all.extend_from_slice(&s[..n]);
                left -= n;
            }
            let n = steps[writes % steps.len()].min(offered);
            o.advance(n);
            writes += 1;
        }
        (all, writes)
    }

    #[test]
    fn vectored_writes_take_everything_and_partial_ones_resume_mid_piece() {
        let mut c = core();
        let mut reference = core();
        let mut o = Outgoing::default();
        let mut expected = Vec::new();
        for len in [10, 200_000, 30, 40, 1 << 20, 5, 70_000] {
            call(&mut c, len);
            call(&mut reference, len);
            o.take_from(&mut c);
        }
        while let Some(piece) = reference.poll_transmit() {
            expected.extend_from_slice(&piece);
        }
        // Whole writes: one takes everything.
        let mut whole = o_clone(&mut core(), &[10, 200_000, 30, 40, 1 << 20, 5, 70_000]);
        let (bytes, writes) = drain_vectored(&mut whole, &[usize::MAX]);
        assert_eq!(writes, 1);
        assert_eq!(bytes, expected);
        // Partial writes ending inside pieces, across several, one byte, exactly a piece.
        let (bytes, _) = drain_vectored(&mut o, &[1, 7, 65_536, 150_000, 3, 1 << 20]);
        assert_eq!(bytes, expected);
        assert_eq!(o.len(), 0);
        assert!(o.sealed.is_empty());
    }

    /// A fresh queue of calls with these body sizes, taken from `c`.
    fn o_clone(c: &mut Core, lens: &[usize]) -> Outgoing {
        let mut o = Outgoing::default();
        for &len in lens {
            call(c, len);
            o.take_from(c);
        }
        o
    }

    #[test]
    fn small_frames_gather_into_one_write() {
        let mut c = core();
        let mut o = Outgoing::default();
        for _ in 0..50 {
            call(&mut c, 100);
            o.take_from(&mut c);
        }
        assert_eq!(o.first().len(), o.len(), "one buffer for small frames");
    }

    #[test]
    fn a_large_frame_is_not_copied_behind_queued_bytes() {
        let mut c = core();
        let mut o = Outgoing::default();
        call(&mut c, 100);
        o.take_from(&mut c);
        call(&mut c, 1 << 20);
        o.take_from(&mut c);
        assert_eq!(
            o.sealed.len(),
            3,
            "the small frame sealed, then header and body"
        );
        assert_eq!(o.sealed.back().unwrap().len(), 1 << 20, "the body as it is");
        assert!(o.gather.is_empty());
    }

    #[test]
    fn clearing_and_releasing_leave_nothing() {
        let mut c = core();
        let mut o = Outgoing::default();
        call(&mut c, 100_000);
        o.take_from(&mut c);
        call(&mut c, 100);
        o.take_from(&mut c);
        o.clear();
        assert!(o.is_empty() && o.first().is_empty());
        o.release_idle();
        assert_eq!(o.gather.capacity(), 0);
        assert!(o.sealed.is_empty());
    }
}
