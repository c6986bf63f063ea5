//! Progress bars for long runs: drawn on stderr when it is a terminal, absent otherwise (so
//! pipes, CI logs and tests see nothing).
//!
//! ```ignore
//! let pb = crate::progress::bar(total as u64);      // Option<ProgressBar>
//! // in each worker (ProgressBar is a cheap, thread-safe clone):
//! if let Some(pb) = &pb { pb.inc(1); }
//! // at the end:
//! if let Some(pb) = pb { pb.finish_and_clear(); }
//! ```
// Called from `bench.rs` (the benchmark); kept even while nothing else uses it.
#![allow(dead_code)]

use std::io::IsTerminal;
use std::time::Duration;

pub(crate) use indicatif::ProgressBar;
use indicatif::{ProgressDrawTarget, ProgressStyle};

/// A bar counting to `total` on stderr, or `None` when stderr is not a terminal.
pub(crate) fn bar(total: u64) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40.cyan/blue}] {human_pos}/{human_len} {per_sec} eta {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar())
    .progress_chars("=> ");
    pb.set_style(style);
    Some(pb)
}

/// A spinner with a message on stderr (for waits of unknown length), or `None` when stderr is
/// not a terminal.
pub(crate) fn spinner(message: &str) -> Option<ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_message(message.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

#[cfg(test)]
mod tests {
    #[test]
    fn bar_is_usable_or_absent() {
        if let Some(pb) = super::bar(3) {
            pb.inc(3);
            pb.finish_and_clear();
        }
        if let Some(pb) = super::spinner("waiting") {
            pb.finish_and_clear();
        }
    }
}
