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

/// The bar's layout.
const BAR_TEMPLATE: &str =
    "{elapsed_precise} [{bar:40.cyan/blue}] {human_pos}/{human_len} {per_sec} eta {eta}";

/// A bar counting to `total` on stderr, or `None` when stderr is not a terminal.
pub(crate) fn bar(total: u64) -> Option<ProgressBar> {
    bar_for(total, std::io::stderr().is_terminal())
}

fn bar_for(total: u64, terminal: bool) -> Option<ProgressBar> {
    if !terminal {
        return None;
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(BAR_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    Some(pb)
}

/// A spinner with a message on stderr (for waits of unknown length), or `None` when stderr is
/// not a terminal.
pub(crate) fn spinner(message: &str) -> Option<ProgressBar> {
    spinner_for(message, std::io::stderr().is_terminal())
}

fn spinner_for(message: &str, terminal: bool) -> Option<ProgressBar> {
    if !terminal {
        return None;
    }
    let pb = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    pb.set_message(message.to_owned());
    pb.enable_steady_tick(Duration::from_millis(120));
    Some(pb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_bar_without_a_terminal() {
        assert!(bar_for(3, false).is_none());
        assert!(spinner_for("waiting", false).is_none());
    }

    #[test]
    fn a_terminal_gets_a_bar_that_counts() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        let pb = bar_for(3, true).expect("a bar on a terminal");
        assert_eq!(pb.length(), Some(3));
        pb.inc(2);
        assert_eq!(pb.position(), 2);
        pb.finish_and_clear();
        assert!(pb.is_finished());
        let sp = spinner_for("waiting", true).expect("a spinner on a terminal");
        assert_eq!(sp.message(), "waiting");
        sp.finish_and_clear();
    }
}
