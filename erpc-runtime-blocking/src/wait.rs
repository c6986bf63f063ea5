//! Waiting on sockets inside a `block_on` (unix): a stream whose read or write would block
//! names its socket to the innermost `block_on` of the thread polling it ([`wait_for`]), and
//! that `block_on` waits in `poll(2)` on those sockets and on its wake descriptor instead of
//! parking. A connection's thread thus reads its socket itself, the moment bytes arrive (no
//! reader thread in between, no thread hop per read), and hears its wakers (a caller's
//! command, a handler's result, a timer) through the wake descriptor.
//!
//! The waker protocol (see [`Poller`]): a waker sets the thread's `notified` flag and, if
//! the thread said it is in `poll`, writes to the wake descriptor, else unparks it. The thread
//! says so before it looks at `notified` a last time; both sides use sequentially consistent
//! operations, so a wake is never lost between the look and the `poll`.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::socket::Socket;

/// How long one `poll` waits when the thread has no wake descriptor (it could not make one:
/// out of descriptors): it looks at its flag that often instead.
const NO_WAKE_FD_SLICE: Duration = Duration::from_millis(1);

/// What a stream waits for on its socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ready {
    /// Bytes to read, the end of the stream or an error.
    Read,
    /// Room to write, a hang-up or an error.
    Write,
}

impl Ready {
    fn flags(self) -> PollFlags {
        match self {
            Ready::Read => PollFlags::IN,
            Ready::Write => PollFlags::OUT,
        }
    }
}

/// One socket the current `block_on` waits on, until `poll` reports it (or the `block_on`
/// ends).
struct Interest {
    socket: Arc<Socket>,
    events: PollFlags,
}

thread_local! {
    /// The sockets the innermost `block_on` of this thread waits on (`None`: no `block_on`
    /// is polling on this thread).
    static INTERESTS: RefCell<Option<Vec<Interest>>> = const { RefCell::new(None) };
}

/// Asks the `block_on` polling the current future to wake when `socket` is ready for `what`
/// (level-triggered: ready at once if it already is). `false` when the caller is not polled
/// by this crate's `block_on`; the caller must then wait some other way.
pub(crate) fn wait_for(socket: &Arc<Socket>, what: Ready) -> bool {
    INTERESTS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let Some(list) = cell.as_mut() else {
            return false;
        };
        match list.iter_mut().find(|i| Arc::ptr_eq(&i.socket, socket)) {
            Some(i) => i.events |= what.flags(),
            None => list.push(Interest {
                socket: Arc::clone(socket),
                events: what.flags(),
            }),
        }
        true
    })
}

/// Waits (outside any `block_on`) at most `slice` for `socket` to be ready for `what`.
pub(crate) fn wait_slice(socket: &Socket, what: Ready, slice: Duration) {
    let mut fds = [PollFd::new(socket, what.flags())];
    let _ = poll(&mut fds, Some(&timespec(slice)));
}

fn timespec(d: Duration) -> Timespec {
    Timespec {
        tv_sec: d.as_secs().try_into().unwrap_or(i64::MAX as _),
        tv_nsec: d.subsec_nanos() as _,
    }
}

/// The sockets of one `block_on`: set up on entry, the outer one's restored on exit.
pub(crate) struct Frame {
    outer: Option<Vec<Interest>>,
}

impl Frame {
    /// Starts the socket list of a `block_on` on this thread.
    pub(crate) fn enter() -> Frame {
        let outer = INTERESTS.with(|cell| cell.borrow_mut().replace(Vec::new()));
        Frame { outer }
    }
}

impl Drop for Frame {
    fn drop(&mut self) {
        let outer = self.outer.take();
        INTERESTS.with(|cell| *cell.borrow_mut() = outer);
    }
}

/// The half of a thread's signal that lets it wait in `poll(2)`.
#[derive(Debug, Default)]
pub(crate) struct Poller {
    /// The thread waits in `poll` (wakers write to `wake_fd` instead of unparking it).
    polling: AtomicBool,
    /// Made at the first wait on a socket.
    wake_fd: OnceLock<WakeFd>,
}

impl Poller {
    /// Wakes the thread if it waits in `poll`; `false` if it does not (unpark it instead).
    /// Call only after setting the thread's `notified` flag (sequentially consistent).
    pub(crate) fn wake(&self) -> bool {
        if !self.polling.load(Ordering::SeqCst) {
            return false;
        }
        if let Some(fd) = self.wake_fd.get() {
            fd.signal();
        }
        // Without a wake descriptor the thread polls in short slices and sees its flag.
        true
    }

    /// Waits until `notified` is set or a socket of the current `block_on` is ready; `false`
    /// (without waiting) when there is no socket to wait on (park instead). Clears
    /// `notified` when it returns `true`.
    pub(crate) fn wait(&self, notified: &AtomicBool) -> bool {
        INTERESTS.with(|cell| {
            let mut cell = cell.borrow_mut();
            let Some(list) = cell.as_mut().filter(|l| !l.is_empty()) else {
                return false;
            };
            let wake = self.wake_fd.get().or_else(|| match WakeFd::new() {
                Ok(fd) => Some(self.wake_fd.get_or_init(|| fd)),
                Err(e) => {
                    tracing::debug!(error = %e, "no wake descriptor: polling in slices");
                    None
                }
            });
            self.polling.store(true, Ordering::SeqCst);
            if notified.swap(false, Ordering::SeqCst) {
                self.polling.store(false, Ordering::SeqCst);
                return true;
            }
            let fired = poll_interests(list, wake);
            self.polling.store(false, Ordering::SeqCst);
            if let (Some(w), true) = (wake, fired.woken) {
                w.drain();
            }
            let mut i = 0;
            list.retain(|_| {
                let keep = !fired.ready(i);
                i += 1;
                keep
            });
            notified.store(false, Ordering::SeqCst);
            true
        })
    }
}

/// Which descriptors one `poll` reported.
struct Fired {
    /// The wake descriptor.
    woken: bool,
    /// Bit `i`: interest `i` (first 64); beyond that every interest counts as ready.
    ready: u64,
    many: bool,
}

impl Fired {
    fn ready(&self, i: usize) -> bool {
        self.many || (i < 64 && self.ready & (1 << i) != 0)
    }
}

/// One `poll` on the interests and the wake descriptor (without one: a short slice).
fn poll_interests(list: &[Interest], wake: Option<&WakeFd>) -> Fired {
    let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(list.len() + 1);
    if let Some(w) = wake {
        fds.push(PollFd::new(w, PollFlags::IN));
    }
    let first = fds.len();
    fds.extend(list.iter().map(|i| PollFd::new(&*i.socket, i.events)));
    let slice = timespec(NO_WAKE_FD_SLICE);
    let r = poll(&mut fds, wake.is_none().then_some(&slice));
    let mut fired = Fired {
        woken: false,
        ready: 0,
        many: false,
    };
    if r.is_err() {
        // EINTR (or a failure poll would repeat): every interest is polled again.
        fired.many = true;
        return fired;
    }
    fired.woken = wake.is_some() && !fds[0].revents().is_empty();
    for (i, fd) in fds[first..].iter().enumerate() {
        if !fd.revents().is_empty() {
            if i < 64 {
                fired.ready |= 1 << i;
            } else {
                fired.many = true;
            }
        }
    }
    fired
}

/// What wakes a thread out of `poll`: an eventfd on Linux, a socket pair elsewhere.
#[derive(Debug)]
struct WakeFd {
    read: OwnedFd,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    write: OwnedFd,
}

impl AsFd for WakeFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }
}

impl WakeFd {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn new() -> io::Result<WakeFd> {
        use rustix::event::{eventfd, EventfdFlags};
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(WakeFd { read: fd })
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn new() -> io::Result<WakeFd> {
        let (a, b) = std::os::unix::net::UnixStream::pair()?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        Ok(WakeFd {
            read: a.into(),
            write: b.into(),
        })
    }

    fn signal(&self) {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let _ = rustix::io::write(&self.read, &1u64.to_ne_bytes());
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = rustix::io::write(&self.write, &[1u8]);
    }

    /// Empties the descriptor (after `poll` reported it).
    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!(rustix::io::read(&self.read, &mut buf), Ok(n) if n > 0) {}
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;
    use std::sync::Mutex;
    use std::task::{Poll, Waker};

    use super::*;
    use crate::rt::block_on;

    /// A future that reads `socket` the way a stream of this crate does: without blocking,
    /// and pending with the socket named to the polling `block_on`.
    fn read_some(socket: &Arc<Socket>) -> impl std::future::Future<Output = Vec<u8>> + '_ {
        std::future::poll_fn(move |_cx| {
            let mut buf = [0u8; 64];
            match socket.try_read(&mut buf) {
                Ok(n) => Poll::Ready(buf[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    assert!(wait_for(socket, Ready::Read), "polled by block_on");
                    Poll::Pending
                }
                Err(e) => panic!("read: {e}"),
            }
        })
    }

    #[test]
    fn a_block_on_waiting_on_its_socket_wakes_when_bytes_arrive() {
        let (a, mut b) = UnixStream::pair().expect("pair");
        let socket = Arc::new(Socket::Unix(a));
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            b.write_all(b"hello").expect("write");
            b
        });
        assert_eq!(block_on(read_some(&socket)), b"hello");
        drop(writer.join());
    }

    #[test]
    fn a_block_on_waiting_on_a_socket_still_hears_its_waker() {
        let (a, _b) = UnixStream::pair().expect("pair");
        let socket = Arc::new(Socket::Unix(a));
        let waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        let w = Arc::clone(&waker);
        let waking = std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_millis(20));
            if let Some(w) = w.lock().expect("lock").take() {
                w.wake();
                return;
            }
        });
        let mut first = true;
        block_on(std::future::poll_fn(|cx| {
            if !first {
                // Woken by the other thread, not by the socket (it never has bytes).
                return Poll::Ready(());
            }
            first = false;
            let mut buf = [0u8; 8];
            let r = socket.try_read(&mut buf);
            assert!(matches!(r, Err(ref e) if e.kind() == io::ErrorKind::WouldBlock));
            assert!(wait_for(&socket, Ready::Read));
            *waker.lock().expect("lock") = Some(cx.waker().clone());
            Poll::Pending
        }));
        waking.join().expect("waker thread");
    }

    #[test]
    fn outside_a_block_on_there_is_no_one_to_tell() {
        let (a, _b) = UnixStream::pair().expect("pair");
        let socket = Arc::new(Socket::Unix(a));
        assert!(!wait_for(&socket, Ready::Read));
    }
}
