//! Starting the next process of a graceful reboot: the same program, arguments, working
//! directory and environment, with every listener this process serves handed over at
//! descriptors 3, 4, … (`LISTEN_FDS`, `LISTEN_PARENT_ADDRS`, as Go eRPC does).

use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use command_fds::{CommandFdExt, FdMapping};

use super::inherit::{self, LISTEN_FDS, READY_ENV};
use super::parent_addrs::{self, ParentAddrs};

/// How a reboot starts the next process.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RebootOptions {
    /// How long the new process has to serve the inherited listeners (and so say it is
    /// ready) before the reboot is given up: the new process is killed and this one goes on
    /// serving. Default 10 s.
    pub ready_timeout: Duration,
    /// The program to run; default this process's `argv[0]` as Go resolves it (through
    /// `PATH` when it has no `/`), falling back to `/proc/self/exe`'s target.
    pub program: Option<PathBuf>,
    /// The arguments to give it (without `argv[0]`); default this process's.
    pub args: Option<Vec<OsString>>,
}

impl Default for RebootOptions {
    fn default() -> Self {
        RebootOptions {
            ready_timeout: Duration::from_secs(10),
            program: None,
            args: None,
        }
    }
}

impl RebootOptions {
    /// The same with this [`ready_timeout`](RebootOptions::ready_timeout).
    pub fn with_ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// The same running `program` (with this process's arguments unless
    /// [`with_args`](RebootOptions::with_args) says otherwise).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// The same giving the new process these arguments (without `argv[0]`) instead of this
    /// process's: for a successor that is another program, or the same one started with
    /// other flags.
    pub fn with_args<I, A>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = A>,
        A: Into<OsString>,
    {
        self.args = Some(args.into_iter().map(Into::into).collect());
        self
    }
}

/// The process a reboot started, once it serves.
#[derive(Debug)]
#[non_exhaustive]
pub struct Successor {
    /// Its process id.
    pub pid: u32,
}

/// Starts the next process of a graceful reboot and waits (blocking, at most
/// `ready_timeout`) until it serves every listener handed over. Then this process should
/// stop accepting and drain: [`Peer::close`](crate::Peer::close) does both; the listening
/// sockets stay open in the new process, so no connection attempt is refused meanwhile.
///
/// Errors (this process then goes on serving as before): no listener to hand over, the
/// program cannot be started, it exits or does not say it serves in time (it is killed).
/// Linux and other unix systems; only tcp and unix listeners are handed over.
pub fn start_successor(opts: &RebootOptions) -> io::Result<Successor> {
    let (fds, parent) = {
        let st = inherit::state();
        let mut parent = ParentAddrs::default();
        let mut fds = Vec::with_capacity(st.active.len());
        for a in &st.active {
            parent.push(&a.network, &a.host, &a.addr);
            fds.push(a.fd.try_clone()?);
        }
        (fds, parent)
    };
    if fds.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "graceful reboot: this process serves no tcp or unix listener to hand over",
        ));
    }
    let notify = NotifySocket::bind()?;
    let count = fds.len();
    let mappings = fds
        .into_iter()
        .enumerate()
        .map(|(i, fd)| FdMapping {
            parent_fd: fd,
            child_fd: 3 + i as i32,
        })
        .collect();
    let program = match &opts.program {
        Some(p) => p.clone(),
        None => program()?,
    };
    let mut cmd = Command::new(&program);
    match &opts.args {
        Some(args) => cmd.args(args),
        None => cmd.args(std::env::args_os().skip(1)),
    };
    cmd.env_remove("LISTEN_PID")
        .env_remove("LISTEN_FDNAMES")
        .env(LISTEN_FDS, count.to_string())
        .env(parent_addrs::ENV, parent.to_value())
        // Go writes it too (its QUIC listeners); erpc-rs hands none over.
        .env("LISTEN_QUIC_FDS", "0")
        .env(READY_ENV, &notify.path);
    if let Ok(dir) = std::env::current_dir() {
        cmd.current_dir(dir);
    }
    cmd.fd_mappings(mappings)
        .map_err(|e| io::Error::other(format!("graceful reboot: {e}")))?;
    let mut child = cmd.spawn().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("graceful reboot: start {}: {e}", program.display()),
        )
    })?;
    tracing::info!(
        pid = child.id(),
        listeners = count,
        "graceful reboot: new process started"
    );
    match notify.wait(&mut child, opts.ready_timeout) {
        Ok(()) => {
            crate::runtime::keep_unix_socket_files();
            Ok(Successor { pid: child.id() })
        }
        Err(e) => {
            if child.try_wait().ok().flatten().is_none() {
                let _ = child.kill();
                let _ = child.wait();
            }
            Err(e)
        }
    }
}

/// `argv[0]` resolved as Go's `exec.LookPath` does; `/proc/self/exe` when that fails.
fn program() -> io::Result<PathBuf> {
    let argv0: OsString = std::env::args_os().next().unwrap_or_default();
    let p = PathBuf::from(&argv0);
    if p.components().count() > 1 {
        return Ok(p);
    }
    if !argv0.is_empty() {
        if let Some(path) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&path) {
                let c = dir.join(&p);
                if c.is_file() {
                    return Ok(c);
                }
            }
        }
    }
    std::env::current_exe()
}

/// The unix socket the new process connects to once it serves (`ERPC_REBOOT_READY`).
struct NotifySocket {
    listener: UnixListener,
    path: PathBuf,
}

impl NotifySocket {
    fn bind() -> io::Result<Self> {
        static N: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "erpc-reboot-{}-{}.sock",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&path);
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(NotifySocket { listener, path })
    }

    /// Waits for the child's `ready PID` line, its exit or the timeout.
    fn wait(&self, child: &mut Child, timeout: Duration) -> io::Result<()> {
        let step = Duration::from_millis(10);
        let mut waited = Duration::ZERO;
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false)?;
                    s.set_read_timeout(Some(Duration::from_secs(1)))?;
                    let mut line = String::new();
                    BufReader::new(s).take_line(&mut line)?;
                    if line.trim() == format!("ready {}", child.id()) {
                        return Ok(());
                    }
                    tracing::warn!(
                        line = line.trim(),
                        "graceful reboot: unexpected notice ignored"
                    );
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if let Some(status) = child.try_wait()? {
                return Err(io::Error::other(format!(
                    "graceful reboot: the new process exited ({status}) before it served"
                )));
            }
            if waited >= timeout {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("graceful reboot: the new process did not serve within {timeout:?}"),
                ));
            }
            // The one blocking wait of the peer layer: `start_successor` is documented as
            // blocking (the tokio helper runs it on a blocking thread).
            #[allow(clippy::disallowed_methods)]
            std::thread::sleep(step);
            waited += step;
        }
    }
}

impl Drop for NotifySocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// One bounded line (a notice is `ready PID`).
trait TakeLine {
    fn take_line(self, line: &mut String) -> io::Result<()>;
}

impl<R: io::Read> TakeLine for BufReader<R> {
    fn take_line(self, line: &mut String) -> io::Result<()> {
        use io::Read;
        self.take(64).read_line(line).map(drop)
    }
}
