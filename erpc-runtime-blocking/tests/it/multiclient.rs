//! The multiclient pool with blocking calls, over real loopback sockets: callers on many
//! threads spread over the quota, idle sessions close.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common;
use common::{eventually, local, within};
use erpc_runtime_blocking::{builder, CallCtx, MultiClient, MultiClientConfig, Status};

#[test]
fn threads_share_a_pool_of_sessions() {
    let callers = Arc::new(Mutex::new(HashSet::new()));
    let c2 = callers.clone();
    let server = builder(local())
        .call("/slow", move |ctx: CallCtx, ms: u64| {
            c2.lock().unwrap().insert(ctx.remote_addr());
            std::thread::sleep(Duration::from_millis(ms));
            Ok::<_, Status>(ms)
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let pool = MultiClient::new(
        &client,
        addr,
        MultiClientConfig::default()
            .max_sessions(3)
            .max_idle(Duration::from_millis(300)),
    );
    let p = pool.clone();
    let out = within("30 threads", move || {
        std::thread::scope(|s| {
            let hs: Vec<_> = (0..30)
                .map(|_| s.spawn(|| p.call::<_, u64>("/slow", &40u64)))
                .collect();
            hs.into_iter()
                .map(|h| h.join().unwrap())
                .collect::<Vec<_>>()
        })
    });
    assert!(
        out.iter().all(|r| r.as_ref().is_ok_and(|&v| v == 40)),
        "{out:?}"
    );
    let st = pool.stats();
    assert_eq!((st.sessions, st.created, st.done), (3, 3, 30), "{st:?}");
    assert_eq!(callers.lock().unwrap().len(), 3);
    // A hired session is a blocking session.
    let hired = pool.hire().unwrap();
    assert_eq!(hired.call::<_, u64>("/slow", &0u64).unwrap(), 0);
    drop(hired);
    eventually("idle sessions closed", || pool.stats().sessions == 0);
    eventually("the server saw them close", || server.count_sessions() == 0);
    pool.close();
    assert!(pool.call::<_, u64>("/slow", &0u64).is_err());
}
