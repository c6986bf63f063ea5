//! Plain std sockets: TCP and unix streams and listeners behind one type each.

#[cfg(not(unix))]
use std::io::Read;
use std::io::{self, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
#[cfg(unix)]
use std::os::unix::net::{UnixListener, UnixStream};
#[cfg(unix)]
use std::path::PathBuf;
use std::time::Duration;

use erpc_peer::{Connected, Endpoint, SocketOptions};

/// A connected TCP or unix stream.
#[derive(Debug)]
pub(crate) enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
    /// Unix seqpacket, with the rest of the last packet read (only the connection's thread
    /// reads).
    #[cfg(all(
        feature = "unixpacket",
        any(target_os = "linux", target_os = "android")
    ))]
    Unixpacket(
        std::os::fd::OwnedFd,
        std::sync::Mutex<erpc_peer::unixpacket::PacketReader>,
    ),
}

impl Socket {
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.shutdown(how),
            #[cfg(unix)]
            Socket::Unix(s) => s.shutdown(how),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => {
                let how = match how {
                    Shutdown::Read => rustix::net::Shutdown::Read,
                    Shutdown::Write => rustix::net::Shutdown::Write,
                    Shutdown::Both => rustix::net::Shutdown::Both,
                };
                Ok(rustix::net::shutdown(fd, how)?)
            }
        }
    }

    /// Writes what the socket's send buffer takes without blocking: `WouldBlock` when it
    /// takes nothing.
    #[cfg(unix)]
    pub(crate) fn try_write(&self, buf: &[u8]) -> io::Result<usize> {
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        if let Socket::Unixpacket(fd, _) = self {
            return erpc_peer::unixpacket::send(fd, buf, true);
        }
        self.sock_ref().send_with_flags(buf, nonblocking_send())
    }

    /// [`try_write`](Socket::try_write) from several buffers.
    #[cfg(unix)]
    pub(crate) fn try_write_vectored(&self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        if let Socket::Unixpacket(fd, _) = self {
            return erpc_peer::unixpacket::send_vectored(fd, bufs, true);
        }
        self.sock_ref()
            .send_vectored_with_flags(bufs, nonblocking_send())
    }

    /// Reads what the socket holds without blocking: `WouldBlock` when it holds nothing.
    #[cfg(unix)]
    pub(crate) fn try_read(&self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        if let Socket::Unixpacket(fd, reader) = self {
            return reader
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .read(fd, buf, true);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let (n, _) = rustix::net::recv(self, buf, rustix::net::RecvFlags::DONTWAIT)?;
        Ok(n)
    }

    #[cfg(unix)]
    fn sock_ref(&self) -> socket2::SockRef<'_> {
        match self {
            Socket::Tcp(s) => socket2::SockRef::from(s),
            Socket::Unix(s) => socket2::SockRef::from(s),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => socket2::SockRef::from(fd),
        }
    }

    /// Bounds how long one write may block (`None`: without limit).
    pub(crate) fn set_write_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        match self {
            Socket::Tcp(s) => s.set_write_timeout(t),
            #[cfg(unix)]
            Socket::Unix(s) => s.set_write_timeout(t),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => Ok(rustix::net::sockopt::set_socket_timeout(
                fd,
                rustix::net::sockopt::Timeout::Send,
                t,
            )?),
        }
    }
}

/// `send` flags of a write that must not block (and must not raise SIGPIPE where the flag
/// exists: std's own socket writes do the same).
#[cfg(unix)]
fn nonblocking_send() -> std::ffi::c_int {
    use rustix::net::SendFlags;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let flags = SendFlags::DONTWAIT;
    flags.bits() as std::ffi::c_int
}

#[cfg(unix)]
impl std::os::fd::AsFd for Socket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        match self {
            Socket::Tcp(s) => s.as_fd(),
            Socket::Unix(s) => s.as_fd(),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => fd.as_fd(),
        }
    }
}

// Shared by reference: the reader thread reads while the connection's thread writes.
#[cfg(not(unix))]
impl Read for &Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).read(buf),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).read(buf),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, reader) => reader
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .read(fd, buf, false),
        }
    }
}

impl Write for &Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write(buf),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).write(buf),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => erpc_peer::unixpacket::send(fd, buf, false),
        }
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => (&*s).write_vectored(bufs),
            #[cfg(unix)]
            Socket::Unix(s) => (&*s).write_vectored(bufs),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Socket::Unixpacket(fd, _) => erpc_peer::unixpacket::send_vectored(fd, bufs, false),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A bound listener.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// Unix domain, with its path (removed when the listener is dropped).
    #[cfg(unix)]
    Unix(UnixListener, PathBuf),
    /// Unix seqpacket, with its path (removed when the listener is dropped).
    #[cfg(all(
        feature = "unixpacket",
        any(target_os = "linux", target_os = "android")
    ))]
    Unixpacket(std::os::fd::OwnedFd, PathBuf),
}

#[cfg(unix)]
impl Drop for Listener {
    fn drop(&mut self) {
        match self {
            Listener::Unix(_, path) => {
                let _ = std::fs::remove_file(path);
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Listener::Unixpacket(_, path) => {
                let _ = std::fs::remove_file(path);
            }
            Listener::Tcp(_) => {}
        }
    }
}

/// An accepted socket blocks, whatever the platform copies from the non-blocking listener
/// (Linux copies nothing; the BSDs and macOS copy `O_NONBLOCK`).
#[cfg(unix)]
fn blocking<S: std::os::fd::AsFd>(s: &S) -> io::Result<()> {
    #[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
    socket2::SockRef::from(s).set_nonblocking(false)?;
    let _ = s;
    Ok(())
}

fn apply(s: &TcpStream, opts: SocketOptions) -> io::Result<()> {
    #[cfg(unix)]
    return opts.apply(s);
    #[cfg(not(unix))]
    return s.set_nodelay(opts.nodelay);
}

fn tcp_connected(s: TcpStream, opts: SocketOptions) -> io::Result<Connected<Socket>> {
    apply(&s, opts)?;
    let (local, remote) = (s.local_addr()?.to_string(), s.peer_addr()?.to_string());
    Ok(Connected::new(Socket::Tcp(s), local, remote))
}

/// A process-wide number for unix socket ends, which have no address of their own.
#[cfg(unix)]
fn next_unix_id() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

fn unsupported(endpoint: &Endpoint) -> io::Error {
    if let Endpoint::Quic(_) = endpoint {
        return io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{endpoint}: the blocking adapter does not support the quic network (erpc-runtime-tokio does, with feature `quic`)"),
        );
    }
    let why = match endpoint {
        Endpoint::Kcp(_) => "build erpc-runtime-blocking with its feature `kcp`",
        Endpoint::Unixpacket(_) => {
            "build erpc-runtime-blocking with its feature `unixpacket` (Linux and Android)"
        }
        Endpoint::Ws(_) => "build erpc-runtime-blocking with its feature `ws`",
        _ => "not served by this adapter",
    };
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("network of {endpoint}: {why}"),
    )
}

/// Connects, trying every resolved address; `timeout` bounds each attempt.
pub(crate) fn connect(
    endpoint: &Endpoint,
    opts: SocketOptions,
    timeout: Option<Duration>,
) -> io::Result<Connected<Socket>> {
    match endpoint {
        Endpoint::Tcp { .. } => {
            let mut last = None;
            for addr in endpoint.resolve(false)? {
                let r = match timeout {
                    Some(t) => TcpStream::connect_timeout(&addr, t),
                    None => TcpStream::connect(addr),
                };
                match r {
                    Ok(s) => return tcp_connected(s, opts),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable)))
        }
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let s = UnixStream::connect(path)?;
            // The dialing end of a unix socket is unnamed; number it, since the session id
            // of a dialed session is its local address and must be unique.
            Ok(Connected::new(
                Socket::Unix(s),
                format!("unix:{}#{}", path.display(), next_unix_id()),
                format!("unix:{}", path.display()),
            ))
        }
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        Endpoint::Unixpacket(path) => {
            let fd = erpc_peer::unixpacket::connect(path, false)?;
            Ok(Connected::new(
                Socket::Unixpacket(fd, Default::default()),
                format!("unixpacket:{}#{}", path.display(), next_unix_id()),
                format!("unixpacket:{}", path.display()),
            ))
        }
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// A bound TCP listener as this adapter serves it (non-blocking on unix, where the accept
/// thread waits in `poll`), with its address.
pub(crate) fn tcp_listener(l: TcpListener) -> io::Result<(Listener, String)> {
    #[cfg(unix)]
    l.set_nonblocking(true)?;
    let addr = l.local_addr()?.to_string();
    Ok((Listener::Tcp(l), addr))
}

/// A connected TCP stream accepted or dialed elsewhere, with its addresses.
pub(crate) fn tcp_stream(s: TcpStream) -> io::Result<Connected<Socket>> {
    s.set_nonblocking(false)?;
    let (local, remote) = (s.local_addr()?.to_string(), s.peer_addr()?.to_string());
    Ok(Connected::new(Socket::Tcp(s), local, remote))
}

/// Binds a listener; returns it with its actual address.
pub(crate) fn bind(endpoint: &Endpoint) -> io::Result<(Listener, String)> {
    match endpoint {
        Endpoint::Tcp { .. } => {
            let addrs = endpoint.resolve(true)?;
            tcp_listener(TcpListener::bind(&addrs[..])?)
        }
        #[cfg(unix)]
        Endpoint::Unix(path) => {
            let l = UnixListener::bind(path)?;
            l.set_nonblocking(true)?;
            Ok((Listener::Unix(l, path.clone()), path.display().to_string()))
        }
        #[cfg(all(
            feature = "unixpacket",
            any(target_os = "linux", target_os = "android")
        ))]
        Endpoint::Unixpacket(path) => {
            let fd = erpc_peer::unixpacket::listen(path, true)?;
            Ok((
                Listener::Unixpacket(fd, path.clone()),
                path.display().to_string(),
            ))
        }
        #[allow(unreachable_patterns)]
        other => Err(unsupported(other)),
    }
}

/// Serves a listener inherited on a graceful reboot. The socket stays non-blocking, as every
/// listener of this adapter on unix (its accept thread waits in `poll`); the flag belongs to
/// the open socket, which the previous process may still be accepting on.
#[cfg(unix)]
pub(crate) fn adopt(
    endpoint: &Endpoint,
    listener: erpc_peer::InheritedListener,
) -> io::Result<(Listener, String)> {
    use erpc_peer::InheritedListener as L;
    match (endpoint, listener) {
        (Endpoint::Tcp { .. }, L::Tcp(l)) => {
            l.set_nonblocking(true)?;
            let addr = l.local_addr()?.to_string();
            Ok((Listener::Tcp(l), addr))
        }
        (Endpoint::Unix(path), L::Unix(l)) => {
            l.set_nonblocking(true)?;
            Ok((Listener::Unix(l, path.clone()), path.display().to_string()))
        }
        (other, _) => Err(unsupported(other)),
    }
}

impl Listener {
    /// The next connection: blocks until one comes (elsewhere than unix), or answers
    /// `WouldBlock` when none waits (unix, where listeners are non-blocking and the accept
    /// thread waits in [`wait_acceptable`](Listener::wait_acceptable) first).
    pub(crate) fn accept(&self, opts: SocketOptions) -> io::Result<Connected<Socket>> {
        match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept()?;
                #[cfg(unix)]
                blocking(&s)?;
                tcp_connected(s, opts)
            }
            #[cfg(unix)]
            Listener::Unix(l, path) => {
                let (s, _) = l.accept()?;
                blocking(&s)?;
                // Unix peers have no address of their own; number them for session ids.
                Ok(Connected::new(
                    Socket::Unix(s),
                    path.display().to_string(),
                    format!("unix:{}#{}", path.display(), next_unix_id()),
                ))
            }
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Listener::Unixpacket(fd, path) => {
                let s = erpc_peer::unixpacket::accept(fd, false)?;
                Ok(Connected::new(
                    Socket::Unixpacket(s, Default::default()),
                    path.display().to_string(),
                    format!("unixpacket:{}#{}", path.display(), next_unix_id()),
                ))
            }
        }
    }

    /// The listening socket (handed to the next process on a graceful reboot).
    #[cfg(unix)]
    pub(crate) fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        match self {
            Listener::Tcp(l) => l.as_fd(),
            Listener::Unix(l, _) => l.as_fd(),
            #[cfg(all(
                feature = "unixpacket",
                any(target_os = "linux", target_os = "android")
            ))]
            Listener::Unixpacket(fd, _) => fd.as_fd(),
        }
    }

    /// Waits until a connection can be accepted (`Ok(true)`) or `wake` is readable or hung
    /// up (`Ok(false)`: the listener is being dropped). The socket itself is left alone, so
    /// a copy of it in another process (a graceful reboot's successor) keeps serving.
    #[cfg(unix)]
    pub(crate) fn wait_acceptable(&self, wake: &UnixStream) -> io::Result<bool> {
        use rustix::event::{poll, PollFd, PollFlags};
        let listener = self.as_fd();
        let mut fds = [
            PollFd::new(&listener, PollFlags::IN),
            PollFd::new(wake, PollFlags::IN),
        ];
        poll(&mut fds, None)?;
        if !fds[1].revents().is_empty() {
            return Ok(false);
        }
        Ok(!fds[0].revents().is_empty())
    }

    /// Makes a thread blocked in [`accept`](Listener::accept) return: shuts the socket down
    /// and connects to it. Only where listeners block (not unix: there the accept thread
    /// waits in `poll` with a wake socket beside the listener).
    #[cfg(not(unix))]
    pub(crate) fn wake(&self) {
        let Listener::Tcp(l) = self;
        let _ = socket2::SockRef::from(l).shutdown(Shutdown::Both);
        if let Ok(mut addr) = l.local_addr() {
            if addr.ip().is_unspecified() {
                let ip: std::net::IpAddr = if addr.is_ipv4() {
                    std::net::Ipv4Addr::LOCALHOST.into()
                } else {
                    std::net::Ipv6Addr::LOCALHOST.into()
                };
                addr.set_ip(ip);
            }
            let _ = TcpStream::connect_timeout(&addr, Duration::from_millis(200));
        }
    }
}
