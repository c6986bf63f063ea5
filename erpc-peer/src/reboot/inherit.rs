//! The listeners this process inherited from the process that started it on a graceful
//! reboot (`LISTEN_FDS`, descriptors from 3, as Go eRPC hands them over), and the
//! listeners it would hand over itself. Process-wide, as sockets and the environment are.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use super::parent_addrs::ParentAddrs;
use crate::runtime::{split_host_port, InheritedListener};

/// The number of inherited listeners, at descriptors 3, 4, …
pub const LISTEN_FDS: &str = "LISTEN_FDS";
/// erpc-rs: the unix socket on which the process that started this one waits to hear that
/// this one serves (see [`notify_ready`]). Go eRPC does not set it.
pub const READY_ENV: &str = "ERPC_REBOOT_READY";

/// A listener this process serves, as it would hand it to a successor.
#[derive(Debug)]
pub(super) struct Active {
    id: u64,
    /// The network and the host its listen asked for (Go's `LISTEN_PARENT_ADDRS` keys).
    pub(super) network: String,
    pub(super) host: String,
    /// The address it got.
    pub(super) addr: String,
    pub(super) fd: OwnedFd,
}

#[derive(Debug)]
pub(super) struct State {
    inherited: Vec<Option<InheritedListener>>,
    parent: ParentAddrs,
    pub(super) active: Vec<Active>,
    next_id: u64,
    /// Where to say "ready" once every inherited listener is taken; `None` once said.
    ready_path: Option<PathBuf>,
}

pub(super) fn state() -> MutexGuard<'static, State> {
    static STATE: OnceLock<Mutex<State>> = OnceLock::new();
    STATE
        .get_or_init(|| Mutex::new(State::from_env()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

impl State {
    fn from_env() -> State {
        let mut fds = listenfd::ListenFd::from_env();
        let mut inherited = Vec::with_capacity(fds.len());
        for i in 0..fds.len() {
            let taken = match fds.take_tcp_listener(i) {
                Ok(Some(l)) => Some(InheritedListener::Tcp(l)),
                _ => match fds.take_unix_listener(i) {
                    Ok(Some(l)) => Some(InheritedListener::Unix(l)),
                    _ => {
                        tracing::warn!(
                            fd = 3 + i,
                            "inherited descriptor is not a tcp or unix listener; ignored"
                        );
                        None
                    }
                },
            };
            inherited.push(taken);
        }
        if !inherited.is_empty() {
            tracing::info!(
                count = inherited.len(),
                "inherited listeners (graceful reboot)"
            );
        }
        let parent =
            ParentAddrs::parse(&std::env::var(super::parent_addrs::ENV).unwrap_or_default());
        let ready_path = std::env::var_os(READY_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        State {
            inherited,
            parent,
            active: Vec::new(),
            next_id: 0,
            ready_path,
        }
    }

    fn after_take(&mut self) {
        if self.inherited.iter().all(Option::is_none) {
            self.say_ready();
        }
    }

    fn say_ready(&mut self) {
        let Some(path) = self.ready_path.take() else {
            return;
        };
        if let Err(e) = say_ready(&path) {
            tracing::warn!(path = %path.display(), error = %e, "could not tell the previous process that this one serves");
        }
    }
}

fn say_ready(path: &Path) -> io::Result<()> {
    use std::io::Write;
    let mut s = UnixStream::connect(path)?;
    writeln!(s, "ready {}", std::process::id())
}

/// Whether `a` (an inherited listener's address) is the address `b` a listen asks for: the
/// same, or both unspecified (`0.0.0.0`, `::`) on the same port, as Go's `isSameAddr`.
fn same_addr(a: SocketAddr, b: SocketAddr) -> bool {
    a == b || (a.ip().is_unspecified() && b.ip().is_unspecified() && a.port() == b.port())
}

/// The inherited TCP listener a listen on `requested` (`host:port` as configured) over
/// `network` takes: on port 0 the port the parent's listen on the same host got (Go's
/// `LISTEN_PARENT_ADDRS`), otherwise the port asked for. `resolved` is what `requested`
/// resolves to. `None`: bind a new one.
pub(crate) fn take_tcp(
    network: &str,
    requested: &str,
    resolved: &[SocketAddr],
) -> Option<InheritedListener> {
    let mut st = state();
    if st.inherited.is_empty() {
        return None;
    }
    let (host, port) = split_host_port(requested);
    let wanted: Vec<SocketAddr> = if port == "0" {
        match st.parent.pop(network, host) {
            Some(a) => a.parse().ok().into_iter().collect(),
            None => resolved.to_vec(),
        }
    } else {
        resolved.to_vec()
    };
    let i = st.inherited.iter().position(|l| match l {
        Some(InheritedListener::Tcp(l)) => l
            .local_addr()
            .is_ok_and(|a| wanted.iter().any(|w| same_addr(a, *w))),
        _ => false,
    })?;
    let l = st.inherited[i].take();
    st.after_take();
    l
}

/// The inherited unix listener at `path`, if there is one.
pub(crate) fn take_unix(path: &Path) -> Option<InheritedListener> {
    let mut st = state();
    if st.inherited.is_empty() {
        return None;
    }
    let i = st.inherited.iter().position(|l| match l {
        Some(InheritedListener::Unix(l)) => l
            .local_addr()
            .ok()
            .and_then(|a| a.as_pathname().map(|p| p == path))
            .unwrap_or(false),
        _ => false,
    })?;
    let l = st.inherited[i].take();
    st.after_take();
    l
}

/// Tells the process that started this one on a graceful reboot that this one serves, so
/// that it stops accepting and drains. Said by itself once every inherited listener is
/// served again; call it when this process serves fewer listeners than it inherited (the
/// ones it did not take are closed). Does nothing in a process not started by a reboot.
pub fn notify_ready() {
    let mut st = state();
    for l in st.inherited.iter_mut() {
        if l.take().is_some() {
            tracing::info!("closing an inherited listener this process does not serve");
        }
    }
    st.say_ready();
}

/// Records a listener the peer serves, to be handed over by a reboot while `Registration`
/// lives.
pub(crate) fn register(
    network: &str,
    requested_host: &str,
    addr: &str,
    fd: BorrowedFd<'_>,
) -> Option<Registration> {
    let fd = match fd.try_clone_to_owned() {
        Ok(fd) => fd,
        Err(e) => {
            tracing::warn!(%addr, error = %e, "cannot keep the listener for a graceful reboot");
            return None;
        }
    };
    let mut st = state();
    let id = st.next_id;
    st.next_id += 1;
    st.active.push(Active {
        id,
        network: network.to_owned(),
        host: requested_host.to_owned(),
        addr: addr.to_owned(),
        fd,
    });
    Some(Registration { id })
}

/// A served listener's place in the hand-over list; removed (and its descriptor copy
/// closed) when the listener stops.
#[derive(Debug)]
pub(crate) struct Registration {
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        state().active.retain(|a| a.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_match_as_in_go() {
        let a: SocketAddr = "0.0.0.0:80".parse().unwrap();
        let b: SocketAddr = "[::]:80".parse().unwrap();
        let c: SocketAddr = "127.0.0.1:80".parse().unwrap();
        assert!(same_addr(a, b));
        assert!(same_addr(c, c));
        assert!(!same_addr(a, c));
        assert!(!same_addr(a, "0.0.0.0:81".parse().unwrap()));
    }

    #[test]
    fn a_process_not_started_by_a_reboot_inherits_nothing() {
        // The test runner sets no LISTEN_FDS.
        assert!(take_tcp("tcp", "127.0.0.1:0", &["127.0.0.1:0".parse().unwrap()]).is_none());
        assert!(take_unix(Path::new("/tmp/x.sock")).is_none());
    }
}
