//! The byte layer between the session and the socket: plain, or TLS (rustls).
//!
//! TLS handshakes use rustls's blocking helper (`complete_io`) on the socket, bounded by a
//! timeout. After the handshake the connection's owner thread keeps the rustls state: the
//! reader thread hands it ciphertext, it decrypts into the session's read buffer and encrypts
//! what the session queued. (`rustls::StreamOwned` wants one thread doing both blocking reads
//! and writes, which would stop the owner from serving commands while it waits for bytes.)

#[cfg(feature = "tls")]
use std::io::Read;
use std::io::{self, Write};
#[cfg(feature = "tls")]
use std::time::Duration;

use bytes::{Buf, BytesMut};

use crate::socket::Socket;

#[cfg(feature = "tls")]
use erpc_peer::rustls;

/// Plain bytes or a TLS connection's state.
pub(crate) enum Transport {
    Plain,
    #[cfg(feature = "tls")]
    Tls(Box<rustls::Connection>),
}

/// What feeding input produced.
pub(crate) enum Fed {
    /// Plaintext was appended (possibly none).
    Data,
    /// The peer closed the TLS session (close_notify).
    #[cfg_attr(not(feature = "tls"), allow(dead_code))]
    Closed,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transport::Plain => f.write_str("Plain"),
            #[cfg(feature = "tls")]
            Transport::Tls(_) => f.write_str("Tls"),
        }
    }
}

impl Transport {
    /// Runs a TLS handshake as client on `sock`, bounded by `timeout`.
    #[cfg(feature = "tls")]
    pub(crate) fn client_handshake(
        sock: &mut Socket,
        cfg: std::sync::Arc<rustls::ClientConfig>,
        name: rustls::pki_types::ServerName<'static>,
        timeout: Duration,
    ) -> io::Result<Transport> {
        let conn = rustls::ClientConnection::new(cfg, name).map_err(io::Error::other)?;
        handshake(sock, rustls::Connection::Client(conn), timeout)
    }

    /// Runs a TLS handshake as server on `sock`, bounded by `timeout`.
    #[cfg(feature = "tls")]
    pub(crate) fn server_handshake(
        sock: &mut Socket,
        cfg: std::sync::Arc<rustls::ServerConfig>,
        timeout: Duration,
    ) -> io::Result<Transport> {
        let conn = rustls::ServerConnection::new(cfg).map_err(io::Error::other)?;
        handshake(sock, rustls::Connection::Server(conn), timeout)
    }

    /// Takes bytes read from the socket; appends the plaintext to `rbuf`. Without TLS the
    /// chunk itself becomes the buffer when the buffer is empty (no copy).
    pub(crate) fn feed(&mut self, chunk: BytesMut, rbuf: &mut BytesMut) -> io::Result<Fed> {
        match self {
            Transport::Plain => {
                if rbuf.is_empty() {
                    *rbuf = chunk;
                } else {
                    rbuf.extend_from_slice(&chunk);
                }
                Ok(Fed::Data)
            }
            #[cfg(feature = "tls")]
            Transport::Tls(conn) => {
                let mut src = &chunk[..];
                let mut closed = false;
                while !src.is_empty() {
                    if conn.read_tls(&mut src)? == 0 {
                        break;
                    }
                    let state = conn.process_new_packets().map_err(io::Error::other)?;
                    let n = state.plaintext_bytes_to_read();
                    if n > 0 {
                        let start = rbuf.len();
                        rbuf.resize(start + n, 0);
                        conn.reader().read_exact(&mut rbuf[start..])?;
                    }
                    closed |= state.peer_has_closed();
                }
                Ok(if closed { Fed::Closed } else { Fed::Data })
            }
        }
    }

    /// Moves plaintext the TLS layer already holds (application data that came with the last
    /// handshake flight) into `rbuf`.
    pub(crate) fn drain(&mut self, rbuf: &mut BytesMut) -> io::Result<Fed> {
        match self {
            Transport::Plain => {
                let _ = rbuf;
                Ok(Fed::Data)
            }
            #[cfg(feature = "tls")]
            Transport::Tls(conn) => {
                let state = conn.process_new_packets().map_err(io::Error::other)?;
                let n = state.plaintext_bytes_to_read();
                if n > 0 {
                    let start = rbuf.len();
                    rbuf.resize(start + n, 0);
                    conn.reader().read_exact(&mut rbuf[start..])?;
                }
                Ok(if state.peer_has_closed() {
                    Fed::Closed
                } else {
                    Fed::Data
                })
            }
        }
    }

    /// Writes `wbuf` (plaintext) to `sock` and empties it, blocking until the kernel took it.
    pub(crate) fn write(&mut self, sock: &mut Socket, wbuf: &mut BytesMut) -> io::Result<()> {
        match self {
            Transport::Plain => {
                while !wbuf.is_empty() {
                    match sock.write(wbuf) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(n) => wbuf.advance(n),
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(())
            }
            #[cfg(feature = "tls")]
            Transport::Tls(conn) => {
                while !wbuf.is_empty() {
                    let n = conn.writer().write(wbuf)?;
                    wbuf.advance(n);
                    if n == 0 && !conn.wants_write() {
                        return Err(io::ErrorKind::WriteZero.into());
                    }
                    flush_tls(conn, sock)?;
                }
                flush_tls(conn, sock)
            }
        }
    }

    /// Sends whatever the TLS layer has to say by itself (alerts, key updates).
    pub(crate) fn flush(&mut self, sock: &mut Socket) -> io::Result<()> {
        match self {
            Transport::Plain => {
                let _ = sock;
                Ok(())
            }
            #[cfg(feature = "tls")]
            Transport::Tls(conn) => flush_tls(conn, sock),
        }
    }

    /// Announces the end of the stream (TLS close_notify); plain streams need nothing.
    pub(crate) fn close(&mut self, sock: &mut Socket) {
        #[cfg(feature = "tls")]
        if let Transport::Tls(conn) = self {
            conn.send_close_notify();
            let _ = flush_tls(conn, sock);
        }
        let _ = sock;
    }
}

#[cfg(feature = "tls")]
fn flush_tls(conn: &mut rustls::Connection, sock: &mut Socket) -> io::Result<()> {
    while conn.wants_write() {
        match conn.write_tls(sock) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(feature = "tls")]
fn handshake(
    sock: &mut Socket,
    mut conn: rustls::Connection,
    timeout: Duration,
) -> io::Result<Transport> {
    sock.set_timeouts(Some(timeout))?;
    let r = (|| {
        while conn.is_handshaking() {
            conn.complete_io(sock)?;
        }
        flush_tls(&mut conn, sock)
    })();
    sock.set_timeouts(None)?;
    match r {
        Ok(()) => Ok(Transport::Tls(Box::new(conn))),
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
            ) =>
        {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "TLS handshake timeout",
            ))
        }
        Err(e) => Err(e),
    }
}
