//! Graceful reboot on `SIGUSR2` (unix, feature `reboot`), as Go eRPC's `GraceSignal`.

use std::task::Poll;

use erpc_peer::reboot::{start_successor, RebootOptions, Successor};
use tokio::signal::unix::{signal, SignalKind};

use crate::Peer;

/// Serves signals as Go eRPC's `GraceSignal` does: on SIGUSR2 a new process of this program
/// takes over every listener ([`erpc_peer::reboot`]) and, once it serves, `peer` drains
/// gracefully (the listeners close here, calls in flight finish within the shutdown
/// timeout); on SIGINT or SIGTERM `peer` drains without a successor. Returns the
/// successor after a reboot, `None` after a shutdown; the caller then exits.
///
/// A reboot that fails (the program cannot start, exits, or does not serve within
/// [`RebootOptions::ready_timeout`]) is logged and this process goes on serving, waiting
/// for the next signal.
pub async fn graceful_reboot_on_signal(
    peer: &Peer,
    opts: RebootOptions,
) -> std::io::Result<Option<Successor>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut usr2 = signal(SignalKind::user_defined2())?;
    loop {
        // Which signal came first (without `tokio::select!`, so users need no `macros`).
        let reboot = std::future::poll_fn(|cx| {
            if usr2.poll_recv(cx).is_ready() {
                return Poll::Ready(true);
            }
            if term.poll_recv(cx).is_ready() || int.poll_recv(cx).is_ready() {
                return Poll::Ready(false);
            }
            Poll::Pending
        })
        .await;
        if !reboot {
            tracing::info!("signal received: shutting down");
            peer.close().await;
            return Ok(None);
        }
        tracing::info!("SIGUSR2 received: graceful reboot");
        let o = opts.clone();
        let started = tokio::task::spawn_blocking(move || start_successor(&o))
            .await
            .map_err(std::io::Error::other)?;
        match started {
            Ok(s) => {
                tracing::info!(pid = s.pid, "the new process serves: draining this one");
                peer.close().await;
                return Ok(Some(s));
            }
            Err(e) => tracing::error!(error = %e, "graceful reboot failed; serving on"),
        }
    }
}
