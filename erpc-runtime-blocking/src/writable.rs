//! Waiting, off the connection's thread, for a socket to take bytes again.
//!
//! A connection's thread writes without blocking (`MSG_DONTWAIT`): when the socket's send
//! buffer is full it must go on reading, or two peers that both write more than their
//! buffers hold at the same moment would each wait for the other to read. [`Writable`] is
//! the other half: a thread, started at the first write that would block, that waits in
//! `poll(POLLOUT)` whenever the connection asks and wakes the connection's future when the
//! socket can take more (or failed: the next write reports why).

use std::io;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Waker};
use std::time::Duration;

use crate::rt::lock;
use crate::socket::Socket;

/// How long one `poll` waits before the thread checks whether its stream is gone. The
/// stream's drop shuts the socket down, which ends a waiting `poll` at once; this bounds the
/// wait even where a shutdown does not.
const POLL_SLICE: Duration = Duration::from_secs(1);

#[derive(Default)]
struct State {
    /// Whom to wake once the socket is writable.
    waker: Option<Waker>,
    /// The connection waits for room.
    wanted: bool,
    /// The stream is gone: the thread ends.
    closed: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    asked: Condvar,
}

/// The waiting thread of one socket; dropping this ends it.
pub(crate) struct Writable {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Writable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writable").finish_non_exhaustive()
    }
}

impl Writable {
    /// Starts the waiting thread of `socket`.
    pub(crate) fn start(socket: Arc<Socket>) -> io::Result<Writable> {
        let shared = Arc::new(Shared::default());
        let sh = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("erpc-writable".into())
            .spawn(move || wait_loop(&socket, &sh))?;
        Ok(Writable { shared })
    }

    /// Wakes the task of `cx` once the socket can take bytes (or has failed).
    pub(crate) fn wake_when_writable(&self, cx: &Context<'_>) {
        let mut st = lock(&self.shared.state);
        match &st.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => st.waker = Some(cx.waker().clone()),
        }
        if !st.wanted {
            st.wanted = true;
            self.shared.asked.notify_one();
        }
    }
}

impl Drop for Writable {
    fn drop(&mut self) {
        lock(&self.shared.state).closed = true;
        self.shared.asked.notify_one();
    }
}

fn wait_loop(socket: &Socket, sh: &Shared) {
    loop {
        {
            let mut st = lock(&sh.state);
            while !st.wanted && !st.closed {
                st = sh.asked.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            if st.closed {
                return;
            }
        }
        match socket.wait_writable(POLL_SLICE) {
            // Not yet: look again (unless the stream went away meanwhile).
            Ok(false) => continue,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Writable, hung up or failed: the connection's next write finds out which.
            Ok(true) | Err(_) => {
                let waker = {
                    let mut st = lock(&sh.state);
                    st.wanted = false;
                    st.waker.take()
                };
                if let Some(w) = waker {
                    w.wake();
                }
            }
        }
    }
}
