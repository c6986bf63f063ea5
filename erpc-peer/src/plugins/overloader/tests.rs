use super::*;

#[allow(clippy::disallowed_methods)] // a base for virtual time; the overloader never reads a clock
fn t0() -> Instant {
    Instant::now()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn session(addr: &str) -> SessionInfo {
    SessionInfo::new(addr, Some(addr.to_owned()), false)
}

fn parts(st: &Status) -> (i32, &str, Option<&str>) {
    (st.code().0, st.msg(), st.cause())
}

/// How many of `n` messages to `path` at `now` pass.
fn passes(o: &Overloader, path: &str, n: usize, now: Instant) -> usize {
    (0..n).filter(|_| o.take_qps(path, now).is_ok()).count()
}

#[test]
fn bucket_refills_each_interval_up_to_the_limit() {
    let t = t0();
    let mut b = Bucket::new(20, Duration::from_secs(1));
    assert_eq!((0..25).filter(|_| b.take(t)).count(), 20, "starts full");
    assert!(!b.take(t + ms(999)), "no refill before the interval");
    assert_eq!((0..25).filter(|_| b.take(t + ms(1000))).count(), 20);
    // Idle for long: capped at the limit.
    assert_eq!((0..50).filter(|_| b.take(t + ms(60_000))).count(), 20);

    // 5 per second refilled every 100 ms: 5 / 10 = 0, so 1 per interval (Go's minimum).
    let mut b = Bucket::new(5, ms(100));
    assert_eq!((0..9).filter(|_| b.take(t)).count(), 5);
    assert!(b.take(t + ms(100)));
    assert!(!b.take(t + ms(150)));
    // The phase is kept: refills at 200, 300 … whatever the time of the asks.
    assert!(b.take(t + ms(210)));
    assert!(b.take(t + ms(300)));
    assert!(!b.take(t + ms(399)));
    // 100 per second every 250 ms: 25 a refill.
    let mut b = Bucket::new(100, ms(250));
    assert_eq!((0..200).filter(|_| b.take(t)).count(), 100);
    assert_eq!((0..200).filter(|_| b.take(t + ms(250))).count(), 25);
    assert_eq!((0..200).filter(|_| b.take(t + ms(760))).count(), 50);
    // Time going backwards (a stale `now`) adds nothing and breaks nothing.
    assert!(!b.take(t));
}

#[test]
fn qps_statuses_are_gos() {
    let t = t0();
    let o = Overloader::new(
        LimitConfig::default()
            .max_total_qps(20)
            .handler("/math/add", 5),
    )
    .unwrap();
    // The route's bucket: 5 pass, then Go's status.
    assert_eq!(passes(&o, "/math/add", 5, t), 5);
    let st = o.take_qps("/math/add", t).unwrap_err();
    assert_eq!(parts(&st), (500, "qps overload, handler_limit=5", None));
    assert_eq!(
        st.to_query_string(),
        "code=500&msg=qps%20overload%2C%20handler_limit%3D5"
    );
    // The refused one took a total token (Go's order: total first); other routes use the
    // rest of the total.
    assert_eq!(passes(&o, "/echo/string", 100, t), 20 - 6);
    let st = o.take_qps("/echo/string", t).unwrap_err();
    assert_eq!(parts(&st), (500, "qps overload, total_limit=20", None));
    assert_eq!(
        st.to_query_string(),
        "code=500&msg=qps%20overload%2C%20total_limit%3D20"
    );
    // Refilled a second later.
    assert_eq!(passes(&o, "/math/add", 100, t + ms(1000)), 5);
}

#[test]
fn route_limits_match_the_path() {
    let t = t0();
    let o = Overloader::new(LimitConfig::default().handler("/math/add", 2)).unwrap();
    assert_eq!(passes(&o, "/math/add", 1, t), 1);
    // On the wire the query is part of the service method; `on_message` passes the path.
    let sm = erpc_proto::ServiceMethod::from("/math/add?x=1");
    assert_eq!(passes(&o, sm.path(), 5, t), 1);
    assert_eq!(passes(&o, "/math/sub", 50, t), 50, "other routes: no limit");
}

#[test]
fn connection_limit_is_exact_and_refusals_hold_no_slot() {
    let o = Overloader::new(LimitConfig::default().max_conn(3)).unwrap();
    let a: Vec<SessionInfo> = (0..3)
        .map(|i| session(&format!("127.0.0.1:{}", 4000 + i)))
        .collect();
    for s in &a {
        o.take_conn(s).unwrap();
    }
    assert_eq!(o.connections(), 3);
    let extra = session("127.0.0.1:5000");
    // However often it retries, the extra connection is refused; the count stays 3.
    for _ in 0..10 {
        let st = o.take_conn(&extra).unwrap_err();
        assert_eq!(
            parts(&st),
            (500, "connection overload, limit=3, now=3", None)
        );
        // A refused connection never disconnects (the peer does not run post_disconnect
        // for it); even if it did, it holds nothing to give back.
        o.release_conn(&extra);
        assert_eq!(o.connections(), 3);
    }
    // Once one closes, one new connection fits, and only one.
    o.release_conn(&a[1]);
    assert_eq!(o.connections(), 2);
    o.take_conn(&extra).unwrap();
    assert!(o.take_conn(&session("127.0.0.1:5001")).is_err());
    // Releasing twice gives back one slot only.
    o.release_conn(&a[0]);
    o.release_conn(&a[0]);
    assert_eq!(o.connections(), 2);
}

#[test]
fn shared_addresses_are_counted_each() {
    // Unix sockets (and dialed sessions to one server) share an address.
    let o = Overloader::new(LimitConfig::default().max_conn(2)).unwrap();
    let s = session("");
    o.take_conn(&s).unwrap();
    o.take_conn(&s).unwrap();
    assert!(o.take_conn(&s).is_err());
    o.release_conn(&s);
    o.take_conn(&s).unwrap();
    o.release_conn(&s);
    o.release_conn(&s);
    o.release_conn(&s);
    assert_eq!(o.connections(), 0);
}

#[test]
fn limits_change_at_run_time() {
    let t = t0();
    let o = Overloader::new(LimitConfig::default()).unwrap();
    let handle = o.clone();
    // No limits: everything passes, connections are still counted.
    assert_eq!(passes(&o, "/a", 1000, t), 1000);
    let s1 = session("127.0.0.1:1");
    let s2 = session("127.0.0.1:2");
    o.take_conn(&s1).unwrap();
    o.take_conn(&s2).unwrap();
    // A limit set later knows the sessions opened before it.
    handle
        .update(LimitConfig::default().max_conn(2).max_total_qps(10))
        .unwrap();
    assert!(o.take_conn(&session("127.0.0.1:3")).is_err());
    o.release_conn(&s1);
    o.take_conn(&session("127.0.0.1:3")).unwrap();
    assert_eq!(passes(&o, "/a", 100, t), 10);
    // Raising the limit keeps the tokens left (none) until the next refill.
    handle.update(handle.limits().max_total_qps(30)).unwrap();
    assert_eq!(passes(&o, "/a", 100, t), 0);
    assert_eq!(passes(&o, "/a", 100, t + ms(1000)), 30);
    // Lowering it drops the tokens above it.
    handle.update(handle.limits().max_total_qps(4)).unwrap();
    assert_eq!(passes(&o, "/a", 100, t + ms(2000)), 4);
    // Route limits come and go.
    handle
        .update(handle.limits().max_total_qps(0).handler("/b", 1))
        .unwrap();
    assert_eq!(passes(&o, "/b", 10, t), 1);
    handle.update(LimitConfig::default()).unwrap();
    assert_eq!(passes(&o, "/b", 10, t), 10);
    assert_eq!(o.limits(), LimitConfig::default());
    // Bad intervals are refused and change nothing.
    for d in [Duration::ZERO, ms(1001)] {
        assert_eq!(
            handle.update(LimitConfig::default().max_total_qps(1).qps_interval(d)),
            Err(LimitConfigError::Interval(d))
        );
    }
    assert_eq!(o.limits(), LimitConfig::default());
    assert!(Overloader::new(LimitConfig::default().qps_interval(Duration::ZERO)).is_err());
}
