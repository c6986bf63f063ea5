use super::*;

#[allow(clippy::disallowed_methods)] // a base for virtual time; the core never reads a clock
fn t0() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn open(_: &&'static str) -> bool {
    false
}

/// Picks, dialing `name` when asked; returns the id used.
fn take(p: &mut PoolCore<&'static str>, name: &'static str, now: Instant) -> (u64, &'static str) {
    match p.pick(open) {
        Pick::Use(id, s) => (id, s),
        Pick::Dial => (p.dialed(name, now).unwrap(), name),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn dials_only_when_every_session_is_busy_and_under_quota() {
    let t = t0();
    let mut p = PoolCore::new(3, Duration::ZERO);
    let (a, _) = take(&mut p, "a", t);
    // The only session is free again: reused, no dial.
    p.release(a, t);
    assert_eq!(take(&mut p, "x", t), (a, "a"));
    // Busy: the next call dials, and so does the one after (quota 3).
    assert_eq!(take(&mut p, "b", t).1, "b");
    assert_eq!(take(&mut p, "c", t).1, "c");
    // At the quota: the least loaded, the first of equals.
    assert_eq!(take(&mut p, "-", t).1, "a");
    assert_eq!(take(&mut p, "-", t).1, "b");
    assert_eq!(take(&mut p, "-", t).1, "c");
    assert_eq!(take(&mut p, "-", t).1, "a");
    let st = p.stats();
    assert_eq!(st.loads, vec![3, 2, 2]);
    assert_eq!(
        (st.sessions, st.created, st.in_flight, st.max_load),
        (3, 3, 7, 3)
    );
}

#[test]
fn calls_go_to_the_least_loaded_session() {
    let t = t0();
    let mut p = PoolCore::new(2, Duration::ZERO);
    let (a, _) = take(&mut p, "a", t);
    let (b, _) = take(&mut p, "b", t);
    let (a2, _) = take(&mut p, "-", t);
    assert_eq!(a2, a);
    // a has 2, b has 1; b's call ends: the next two go to b.
    p.release(b, t);
    assert_eq!(take(&mut p, "-", t).0, b);
    assert_eq!(take(&mut p, "-", t).0, b);
    assert_eq!(p.stats().loads, vec![2, 2]);
    assert_eq!(p.stats().done, 1);
}

#[test]
fn waits_while_the_whole_quota_is_dialing_and_a_failed_dial_frees_it() {
    let t = t0();
    let mut p: PoolCore<&'static str> = PoolCore::new(1, Duration::ZERO);
    assert_eq!(p.pick(open), Pick::Dial);
    assert_eq!(p.pick(open), Pick::Wait);
    p.dial_failed();
    assert_eq!(p.pick(open), Pick::Dial);
    let id = p.dialed("a", t).unwrap();
    // At the quota with the session busy: it is shared.
    assert_eq!(p.pick(open), Pick::Use(id, "a"));
    assert_eq!(p.stats().dialing, 0);
}

#[test]
fn closed_sessions_are_dropped_and_replaced() {
    let t = t0();
    let mut p = PoolCore::new(2, Duration::ZERO);
    let (a, _) = take(&mut p, "a", t);
    let _ = take(&mut p, "b", t);
    p.release(a, t);
    // "a" closed under us: not picked; "b" is busy and there is room, so dial.
    assert_eq!(p.pick(|s| *s == "a"), Pick::Dial);
    assert_eq!(p.stats().sessions, 1);
    // A release of a session no longer in the pool only counts.
    p.release(a, t);
    assert_eq!(p.stats().done, 2);
}

#[test]
fn idle_sessions_close_after_the_timeout() {
    let t = t0();
    let mut p = PoolCore::new(3, ms(1000));
    let (a, _) = take(&mut p, "a", t);
    let (b, _) = take(&mut p, "b", t);
    assert_eq!(p.next_expiry(), None, "nothing idle");
    p.release(b, t + ms(100));
    assert_eq!(p.next_expiry(), Some(t + ms(1100)));
    assert!(p.expire(t + ms(1099)).is_empty());
    // A busy session never expires, however old.
    assert_eq!(p.expire(t + ms(1100)), vec!["b"]);
    assert_eq!(p.expire(t + ms(60_000)), Vec::<&str>::new());
    p.release(a, t + ms(60_000));
    // Used again before the timeout: the idle clock restarts.
    assert_eq!(take(&mut p, "-", t + ms(60_500)).0, a);
    p.release(a, t + ms(60_600));
    assert!(p.expire(t + ms(61_000)).is_empty());
    assert_eq!(p.expire(t + ms(61_600)), vec!["a"]);
    let st = p.stats();
    assert_eq!((st.sessions, st.closed_idle), (0, 2));
    // Zero: never.
    let mut p = PoolCore::new(1, Duration::ZERO);
    let (a, _) = take(&mut p, "a", t);
    p.release(a, t);
    assert!(p.expire(t + ms(10_000_000)).is_empty());
    assert_eq!(p.next_expiry(), None);
}

#[test]
fn close_returns_every_session_and_refuses_picks() {
    let t = t0();
    let mut p = PoolCore::new(2, Duration::ZERO);
    let _ = take(&mut p, "a", t);
    assert_eq!(p.pick(open), Pick::Dial);
    assert_eq!(p.close(), vec!["a"]);
    assert_eq!(p.pick(open), Pick::Closed);
    // A dial that finishes after the close is not kept.
    assert_eq!(p.dialed("b", t), None);
    assert_eq!(p.stats().dialing, 0);
    assert!(p.is_closed());
}

#[test]
fn a_quota_of_zero_is_one() {
    let t = t0();
    let mut p = PoolCore::new(0, Duration::ZERO);
    let _ = take(&mut p, "a", t);
    assert_eq!(take(&mut p, "-", t).1, "a");
}
