//! Where a connection runs each handler: in a task of its own, or its first step inside the
//! connection's task ([`HandlerTasks`]). With [`HandlerTasks::Adaptive`] the choice is made
//! per route from what the route's handlers did before on this connection: a route whose
//! handlers keep finishing in their first step, quickly, runs that step inline (saving a task
//! and a cross-thread wake-up per call, most of the cost of a small handler); one that waits,
//! or computes for longer than [`SLOW_STEP`], gets its own tasks again, and must then prove
//! itself for twice as many calls before it runs inline again. First steps between the two
//! marks (a preempted thread, a page fault, an occasional bigger message) take some of the
//! proof back instead of all of it, so that noise neither promotes nor demotes a route.
//!
//! Pure bookkeeping: the driver measures each first step (with the runtime's clock) and
//! reports it through [`FirstStep`]; nothing here reads a clock.

use std::time::Duration;

use crate::config::HandlerTasks;

/// The longest first step that counts as fast (proves the route).
pub(crate) const FAST_STEP: Duration = Duration::from_micros(50);
/// A first step longer than this (or one that waits) sends the route back to its own tasks:
/// holding up the connection for less than this once is noise, not harm.
pub(crate) const SLOW_STEP: Duration = Duration::from_millis(1);
/// How much of its proof a route loses for a first step between the two marks.
pub(crate) const NOISE_COST: u32 = 8;
/// Fast first steps (net of [`NOISE_COST`]) before a route first runs inline.
pub(crate) const FIRST_PROOF: u32 = 32;
/// The most fast first steps in a row a route that was sent back to its own tasks must show
/// before it runs inline again (the proof doubles at each relapse up to this).
pub(crate) const MAX_PROOF: u32 = 1 << 16;

/// What a handler's first poll did, as the driver saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FirstStep {
    /// It finished within its first poll, which took this long.
    Ready(Duration),
    /// It had to wait.
    Pending,
    /// Not measured (the placement is not adaptive).
    Unmeasured,
}

#[derive(Clone, Copy, Debug)]
struct Route {
    /// Fast first steps, less [`NOISE_COST`] for each between the marks, since the last slow
    /// one.
    streak: u32,
    /// How many in a row run it inline.
    proof: u32,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            streak: 0,
            proof: FIRST_PROOF,
        }
    }
}

/// Per connection: where each route's next handler runs.
#[derive(Debug)]
pub(crate) struct Placement {
    mode: HandlerTasks,
    /// By route index; grown on first use (idle connections hold nothing).
    routes: Vec<Route>,
}

impl Placement {
    /// `inline_allowed`: whether the runtime lets handlers run in the connection's task at
    /// all (the blocking adapter's handlers block: never).
    pub(crate) fn new(mode: HandlerTasks, inline_allowed: bool) -> Self {
        let mode = if inline_allowed {
            mode
        } else {
            HandlerTasks::Always
        };
        Placement {
            mode,
            routes: Vec::new(),
        }
    }

    /// Whether the driver should measure first steps (only the adaptive mode uses them).
    pub(crate) fn measures(&self) -> bool {
        self.mode == HandlerTasks::Adaptive
    }

    /// Whether the next handler of `route` runs its first step in the connection's task.
    pub(crate) fn inline(&self, route: usize) -> bool {
        match self.mode {
            HandlerTasks::Always => false,
            HandlerTasks::Never => true,
            HandlerTasks::Adaptive => self.routes.get(route).is_some_and(|r| r.streak >= r.proof),
        }
    }

    /// Records what a handler of `route` did in its first step.
    pub(crate) fn observe(&mut self, route: usize, step: FirstStep) {
        if self.mode != HandlerTasks::Adaptive {
            return;
        }
        if route >= self.routes.len() {
            self.routes.resize(route + 1, Route::default());
        }
        let r = &mut self.routes[route];
        match step {
            FirstStep::Ready(took) if took <= FAST_STEP => r.streak = r.streak.saturating_add(1),
            FirstStep::Ready(took) if took <= SLOW_STEP => {
                r.streak = r.streak.saturating_sub(NOISE_COST);
            }
            FirstStep::Unmeasured => {}
            FirstStep::Ready(_) | FirstStep::Pending => {
                if r.streak >= r.proof {
                    // It ran inline and should not have: prove more before the next time.
                    r.proof = r.proof.saturating_mul(2).min(MAX_PROOF);
                }
                r.streak = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: FirstStep = FirstStep::Ready(Duration::from_micros(2));
    const SLOW: FirstStep = FirstStep::Ready(Duration::from_millis(5));
    const NOISY: FirstStep = FirstStep::Ready(Duration::from_micros(300));

    fn proven(p: &mut Placement, route: usize, n: u32) {
        for _ in 0..n {
            p.observe(route, FAST);
        }
    }

    #[test]
    fn adaptive_routes_start_in_their_own_tasks_and_move_inline_once_proven() {
        let mut p = Placement::new(HandlerTasks::Adaptive, true);
        assert!(!p.inline(0));
        assert!(!p.inline(7), "an unknown route is never inline");
        proven(&mut p, 3, FIRST_PROOF - 1);
        assert!(!p.inline(3));
        p.observe(3, FAST);
        assert!(p.inline(3));
        assert!(!p.inline(2), "routes are independent");
    }

    #[test]
    fn a_slow_or_waiting_step_sends_the_route_back_and_doubles_the_proof() {
        for bad in [SLOW, FirstStep::Pending] {
            let mut p = Placement::new(HandlerTasks::Adaptive, true);
            proven(&mut p, 0, FIRST_PROOF);
            assert!(p.inline(0));
            p.observe(0, bad);
            assert!(!p.inline(0));
            proven(&mut p, 0, 2 * FIRST_PROOF - 1);
            assert!(!p.inline(0));
            p.observe(0, FAST);
            assert!(p.inline(0));
        }
    }

    #[test]
    fn a_slow_step_before_the_route_was_proven_restarts_the_count_only() {
        let mut p = Placement::new(HandlerTasks::Adaptive, true);
        proven(&mut p, 0, FIRST_PROOF - 1);
        p.observe(0, SLOW);
        proven(&mut p, 0, FIRST_PROOF);
        assert!(p.inline(0), "the proof did not grow");
    }

    #[test]
    fn noise_takes_some_proof_back_and_never_doubles_it() {
        let mut p = Placement::new(HandlerTasks::Adaptive, true);
        // One noisy step in ten: still proven, later.
        for _ in 0..FIRST_PROOF {
            proven(&mut p, 0, 9);
            p.observe(0, NOISY);
        }
        assert!(p.inline(0));
        // A noisy step on a proven route may send it back, without a longer proof.
        p.observe(0, NOISY);
        p.observe(0, NOISY);
        let mut q = Placement::new(HandlerTasks::Adaptive, true);
        proven(&mut q, 0, FIRST_PROOF);
        for _ in 0..4 {
            q.observe(0, NOISY);
        }
        assert!(!q.inline(0));
        proven(&mut q, 0, FIRST_PROOF);
        assert!(q.inline(0), "the proof did not grow");
        // A route that is mostly between the marks is never proven.
        let mut r = Placement::new(HandlerTasks::Adaptive, true);
        for _ in 0..1000 {
            r.observe(0, FAST);
            r.observe(0, NOISY);
        }
        assert!(!r.inline(0));
    }

    #[test]
    fn the_proof_is_capped() {
        let mut p = Placement::new(HandlerTasks::Adaptive, true);
        for _ in 0..40 {
            proven(&mut p, 0, MAX_PROOF);
            assert!(p.inline(0));
            p.observe(0, SLOW);
        }
        proven(&mut p, 0, MAX_PROOF);
        assert!(p.inline(0));
    }

    #[test]
    fn fixed_modes_ignore_observations() {
        let mut always = Placement::new(HandlerTasks::Always, true);
        proven(&mut always, 0, MAX_PROOF);
        assert!(!always.inline(0));
        let mut never = Placement::new(HandlerTasks::Never, true);
        never.observe(0, FirstStep::Pending);
        assert!(never.inline(0));
        assert!(!never.measures() && !always.measures());
    }

    #[test]
    fn a_runtime_that_forbids_inline_handlers_always_spawns() {
        let mut p = Placement::new(HandlerTasks::Never, false);
        assert!(!p.inline(0));
        let mut p2 = Placement::new(HandlerTasks::Adaptive, false);
        proven(&mut p2, 0, MAX_PROOF);
        assert!(!p2.inline(0));
        p.observe(0, FAST);
    }
}
