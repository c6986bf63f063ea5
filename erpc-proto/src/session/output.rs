//! What a session has queued for the peer: small frames gathered in one buffer, large bodies
//! kept as the [`Bytes`] they came in, so that a 1 MiB reply is never copied into a frame.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

/// Bodies of at least this many bytes are queued as pieces of their own instead of being
/// copied behind their frame's header (when the protocol can send them as they are; see
/// [`Protocol::encode_vectored`](crate::proto::Protocol::encode_vectored)). Below it a copy
/// costs less than the extra piece (and write) it saves.
pub const LARGE_BODY: usize = 64 * 1024;

/// The queued output, in order: `sealed` pieces, then `tail`.
#[derive(Debug, Default)]
pub(crate) struct Output {
    sealed: VecDeque<Bytes>,
    sealed_len: usize,
    tail: BytesMut,
}

impl Output {
    pub(crate) fn len(&self) -> usize {
        self.sealed_len + self.tail.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Where the next frame is encoded.
    pub(crate) fn tail(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Queues `body` right after what the tail holds now (its frame's header).
    pub(crate) fn push_body(&mut self, body: Bytes) {
        if !self.tail.is_empty() {
            let head = self.tail.split().freeze();
            self.sealed_len += head.len();
            self.sealed.push_back(head);
        }
        self.sealed_len += body.len();
        self.sealed.push_back(body);
    }

    /// The next piece: a sealed one, else all of the tail.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        if let Some(b) = self.sealed.pop_front() {
            self.sealed_len -= b.len();
            return Some(b);
        }
        (!self.tail.is_empty()).then(|| self.tail.split().freeze())
    }

    /// Appends everything to `dst` (copying the sealed pieces; the tail is swapped in when
    /// `dst` is empty). Returns how many bytes moved.
    pub(crate) fn copy_into(&mut self, dst: &mut BytesMut) -> usize {
        let n = self.len();
        for b in self.sealed.drain(..) {
            dst.extend_from_slice(&b);
        }
        self.sealed_len = 0;
        Self::move_tail(&mut self.tail, dst);
        n
    }

    /// Moves the sealed pieces to the back of `pieces` (after `tail`'s bytes, which are sealed
    /// there first when there are any), and the tail's bytes to `tail`. Nothing is copied
    /// but small frames joining a non-empty `tail`. Returns how many bytes moved.
    pub(crate) fn move_into(&mut self, pieces: &mut VecDeque<Bytes>, tail: &mut BytesMut) -> usize {
        let n = self.len();
        if !self.sealed.is_empty() {
            if !tail.is_empty() {
                pieces.push_back(tail.split().freeze());
            }
            pieces.append(&mut self.sealed);
            self.sealed_len = 0;
        }
        Self::move_tail(&mut self.tail, tail);
        n
    }

    fn move_tail(from: &mut BytesMut, to: &mut BytesMut) {
        if from.is_empty() {
            return;
        }
        if to.is_empty() {
            std::mem::swap(from, to);
        } else {
            to.extend_from_slice(from);
            from.clear();
        }
    }

    /// Bytes of memory the output holds (its gathering buffer's capacity).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.tail.capacity()
    }

    /// Gives the memory back when nothing is queued.
    pub(crate) fn release_idle(&mut self) {
        if self.is_empty() {
            // Even with no capacity left, an emptied buffer may still hold its share of
            // the allocation it was split from: let go of it.
            self.tail = BytesMut::new();
            if self.sealed.capacity() > 0 {
                self.sealed = VecDeque::new();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(o: &mut Output) -> Vec<u8> {
        let mut v = Vec::new();
        while let Some(b) = o.pop() {
            v.extend_from_slice(&b);
        }
        v
    }

    #[test]
    fn pieces_keep_their_order_and_bodies_are_not_copied() {
        let mut o = Output::default();
        o.tail().extend_from_slice(b"ab");
        let body = Bytes::from(vec![1u8; 10]);
        let ptr = body.as_ptr();
        o.push_body(body);
        o.tail().extend_from_slice(b"cd");
        assert_eq!(o.len(), 14);
        assert_eq!(&o.pop().unwrap()[..], b"ab");
        assert_eq!(o.pop().unwrap().as_ptr(), ptr, "the body as it came");
        assert_eq!(&o.pop().unwrap()[..], b"cd");
        assert!(o.pop().is_none() && o.is_empty());
    }

    #[test]
    fn moving_into_a_driver_buffer_seals_what_it_held_first() {
        let mut o = Output::default();
        o.tail().extend_from_slice(b"h");
        o.push_body(Bytes::from_static(b"BODY"));
        o.tail().extend_from_slice(b"t");
        let mut pieces = VecDeque::new();
        let mut tail = BytesMut::from(&b"old"[..]);
        assert_eq!(o.move_into(&mut pieces, &mut tail), 6);
        let flat: Vec<u8> = pieces.iter().flat_map(|b| b.to_vec()).collect();
        assert_eq!(flat, b"oldhBODY");
        assert_eq!(&tail[..], b"t");
        assert!(o.is_empty());
    }

    #[test]
    fn copying_flattens_everything() {
        let mut o = Output::default();
        o.tail().extend_from_slice(b"h");
        o.push_body(Bytes::from_static(b"BODY"));
        o.tail().extend_from_slice(b"t");
        let mut dst = BytesMut::from(&b">"[..]);
        assert_eq!(o.copy_into(&mut dst), 6);
        assert_eq!(&dst[..], b">hBODYt");
        assert!(o.is_empty());
        o.tail().extend_from_slice(b"x");
        assert_eq!(all(&mut o), b"x");
    }
}
