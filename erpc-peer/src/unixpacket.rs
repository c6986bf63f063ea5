//! The `unixpacket` network (Go's `unixpacket`: unix-domain `SOCK_SEQPACKET` sockets, Linux
//! and Android) as a byte stream, the rules every adapter shares (feature `unixpacket`).
//!
//! A seqpacket socket keeps message boundaries, and a read takes at most one packet: what
//! does not fit the read buffer is **discarded** by the kernel. Go eRPC uses the socket as a
//! stream, reading through a 1024-byte `bufio.Reader` ([`GO_READ_BUFFER`]), and writes each
//! frame with one `Write`, that is one packet. So:
//!
//! * **Writes**: erpc-rs sends packets of at most [`WRITE_PACKET`] bytes (Go's read buffer),
//!   which Go's reader always takes whole; a frame of any size goes out as several packets,
//!   and several small frames share one packet. No write ever meets the kernel's
//!   per-packet limit.
//! * **Reads**: a packet (Go sends one per frame) may be up to [`MAX_PACKET`] bytes; a longer
//!   one is never truncated silently: the read fails with `InvalidData` naming the limit, and
//!   the connection closes. The kernel itself refuses to send a packet larger than the
//!   sender's `SO_SNDBUF` (Linux default `net.core.wmem_default`, 212992 bytes, less some
//!   overhead) with `EMSGSIZE`, so a Go peer's frames of more than about 200 KiB fail on its
//!   side first, and a Go peer reading a packet of more than 1024 bytes (another sender's)
//!   cuts it: both are limits of Go's use of the socket, not of erpc-rs.
//! * A zero-length read is the end of the stream (erpc-rs never sends an empty packet).
//!
//! The adapters wrap the descriptors these functions make in their reactor (tokio's
//! `AsyncFd`, async-io's `Async`) or use them blocking.

use std::io::{self, IoSlice};
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use rustix::net::{
    AddressFamily, RecvFlags, SendFlags, Shutdown, SocketAddrUnix, SocketFlags, SocketType,
};

/// The size of Go eRPC's socket read buffer (`socket.readerSize`): a packet longer than
/// this may be cut by a Go reader.
pub const GO_READ_BUFFER: usize = 1024;

/// The most bytes erpc-rs puts in one packet ([`GO_READ_BUFFER`], so Go reads every packet
/// whole).
pub const WRITE_PACKET: usize = GO_READ_BUFFER;

/// The longest packet a read accepts (a longer one fails the connection with
/// `InvalidData`); the read buffer of a connection is this large once it reads a packet
/// that does not fit the caller's buffer.
pub const MAX_PACKET: usize = 256 * 1024;

/// The listen backlog of a unixpacket listener.
const BACKLOG: i32 = 1024;

fn flags(nonblocking: bool) -> SocketFlags {
    if nonblocking {
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK
    } else {
        SocketFlags::CLOEXEC
    }
}

fn new_socket(nonblocking: bool) -> io::Result<OwnedFd> {
    Ok(rustix::net::socket_with(
        AddressFamily::UNIX,
        SocketType::SEQPACKET,
        flags(nonblocking),
        None,
    )?)
}

/// A listening seqpacket socket at `path`.
pub fn listen(path: &Path, nonblocking: bool) -> io::Result<OwnedFd> {
    let fd = new_socket(nonblocking)?;
    rustix::net::bind(&fd, &SocketAddrUnix::new(path)?)?;
    rustix::net::listen(&fd, BACKLOG)?;
    Ok(fd)
}

/// A seqpacket socket connected to the listener at `path`. A non-blocking connect to a
/// listener whose backlog is full fails with `WouldBlock` (unix sockets connect at once or
/// not at all): it is reported as such, with the path.
pub fn connect(path: &Path, nonblocking: bool) -> io::Result<OwnedFd> {
    let fd = new_socket(nonblocking)?;
    match rustix::net::connect(&fd, &SocketAddrUnix::new(path)?) {
        Ok(()) => Ok(fd),
        Err(e) if e == rustix::io::Errno::AGAIN => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "unixpacket {}: the listener's backlog is full",
                path.display()
            ),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The next connection of a listener (`WouldBlock` on a non-blocking listener with none).
pub fn accept(listener: impl AsFd, nonblocking: bool) -> io::Result<OwnedFd> {
    Ok(rustix::net::accept_with(listener, flags(nonblocking))?)
}

/// Shuts the sending side down (the peer reads the end of the stream).
pub fn shutdown_write(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::net::shutdown(fd, Shutdown::Write)?)
}

/// Shuts both sides down (wakes a thread blocked in `accept` or a read).
pub fn shutdown_both(fd: impl AsFd) -> io::Result<()> {
    Ok(rustix::net::shutdown(fd, Shutdown::Both)?)
}

fn send_flags(nonblocking: bool) -> SendFlags {
    if nonblocking {
        SendFlags::NOSIGNAL | SendFlags::DONTWAIT
    } else {
        SendFlags::NOSIGNAL
    }
}

/// Sends the first at most [`WRITE_PACKET`] bytes of `bufs` as one packet; returns how
/// many (0 only when `bufs` hold none). `nonblocking`: `WouldBlock` rather than waiting
/// when the socket's buffer is full.
pub fn send_vectored(fd: impl AsFd, bufs: &[IoSlice<'_>], nonblocking: bool) -> io::Result<usize> {
    let mut packet = [0u8; WRITE_PACKET];
    let mut n = 0;
    for b in bufs {
        let take = b.len().min(WRITE_PACKET - n);
        packet[n..n + take].copy_from_slice(&b[..take]);
        n += take;
        if n == WRITE_PACKET {
            break;
        }
    }
    send(fd, &packet[..n], nonblocking)
}

/// Sends the first at most [`WRITE_PACKET`] bytes of `data` as one packet; returns how many
/// (0 only for empty `data`, which sends nothing).
pub fn send(fd: impl AsFd, data: &[u8], nonblocking: bool) -> io::Result<usize> {
    if data.is_empty() {
        return Ok(0);
    }
    let n = data.len().min(WRITE_PACKET);
    Ok(rustix::net::send(fd, &data[..n], send_flags(nonblocking))?)
}

/// The reading half of a connection: the rest of the last packet that did not fit the
/// caller's buffer, served before the next packet is read.
#[derive(Debug, Default)]
pub struct PacketReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
}

impl PacketReader {
    /// A reader with nothing buffered (its buffer is allocated on the first packet that
    /// does not fit the caller's).
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether bytes of an earlier packet wait (then [`read`](PacketReader::read) answers
    /// without a system call: do not wait for readiness first).
    pub fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// Reads into `out`: buffered bytes first; otherwise one packet (`WouldBlock` from a
    /// non-blocking socket with none; `Ok(0)`: the end of the stream). A packet longer than
    /// [`MAX_PACKET`] fails with `InvalidData`.
    pub fn read(&mut self, fd: impl AsFd, out: &mut [u8], nonblocking: bool) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.has_buffered() {
            let n = (self.end - self.start).min(out.len());
            out[..n].copy_from_slice(&self.buf[self.start..self.start + n]);
            self.start += n;
            return Ok(n);
        }
        let flags = if nonblocking {
            RecvFlags::TRUNC | RecvFlags::DONTWAIT
        } else {
            RecvFlags::TRUNC
        };
        if out.len() >= MAX_PACKET {
            let (n, real) = rustix::net::recv(&fd, &mut *out, flags)?;
            check_length(real)?;
            return Ok(n);
        }
        if self.buf.len() < MAX_PACKET {
            self.buf.resize(MAX_PACKET, 0);
        }
        let (n, real) = rustix::net::recv(&fd, &mut self.buf[..], flags)?;
        check_length(real)?;
        let give = n.min(out.len());
        out[..give].copy_from_slice(&self.buf[..give]);
        self.start = give;
        self.end = n;
        Ok(give)
    }
}

fn check_length(real: usize) -> io::Result<()> {
    if real > MAX_PACKET {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "unixpacket: a packet of {real} bytes is longer than the {MAX_PACKET}-byte \
                 limit and was cut by the kernel; the connection cannot go on"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::IoSlice;

    fn pair() -> (OwnedFd, OwnedFd) {
        rustix::net::socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )
        .expect("socketpair")
    }

    #[test]
    fn writes_are_packets_of_at_most_1024_bytes() {
        let (a, b) = pair();
        let data = vec![7u8; 3000];
        assert_eq!(send(&a, &data, false).expect("send"), WRITE_PACKET);
        let parts = [IoSlice::new(&[1, 2]), IoSlice::new(&data)];
        assert_eq!(
            send_vectored(&a, &parts, false).expect("send"),
            WRITE_PACKET
        );
        let mut buf = [0u8; 4096];
        let (n, real) = rustix::net::recv(&b, &mut buf[..], RecvFlags::TRUNC).expect("recv");
        assert_eq!((n, real), (1024, 1024));
        let (n, _) = rustix::net::recv(&b, &mut buf[..], RecvFlags::TRUNC).expect("recv");
        assert_eq!(n, 1024);
        assert_eq!(&buf[..3], &[1, 2, 7]);
    }

    #[test]
    fn reads_keep_the_rest_of_a_packet_and_refuse_a_cut_one() {
        let (a, b) = pair();
        let big = vec![9u8; 5000];
        rustix::net::send(&a, &big, SendFlags::NOSIGNAL).expect("send");
        let mut r = PacketReader::new();
        let mut out = [0u8; 3000];
        assert_eq!(r.read(&b, &mut out, false).expect("read"), 3000);
        assert!(r.has_buffered());
        assert_eq!(r.read(&b, &mut out, false).expect("read"), 2000);
        assert!(!r.has_buffered());

        // Longer than MAX_PACKET: an error, not a cut stream.
        rustix::net::sockopt::set_socket_send_buffer_size(&a, 2 * MAX_PACKET + 65536)
            .expect("sndbuf");
        rustix::net::sockopt::set_socket_recv_buffer_size(&b, 2 * MAX_PACKET + 65536)
            .expect("rcvbuf");
        let huge = vec![1u8; MAX_PACKET + 1];
        match rustix::net::send(&a, &huge, SendFlags::NOSIGNAL) {
            Ok(_) => {
                let e = r.read(&b, &mut out, false).expect_err("too long");
                assert_eq!(e.kind(), io::ErrorKind::InvalidData);
            }
            // wmem_max too small here to send it at all: nothing to check.
            Err(e) => assert_eq!(e, rustix::io::Errno::MSGSIZE),
        }
        drop(a);
        assert_eq!(r.read(&b, &mut out, false).expect("eof"), 0);
    }
}
