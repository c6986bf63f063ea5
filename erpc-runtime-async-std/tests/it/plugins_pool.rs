//! The proxy plugin and the multiclient pool on the futures-io adapter (the same code as on
//! tokio, driven by smol and async-std): client → proxy front → upstream, and a pool of
//! sessions that spreads concurrent calls.
#![cfg(feature = "smol")]

use crate::common;
use std::time::Duration;

use common::{eventually, local, sleep, within};
use erpc_runtime_async_std::plugins::{Proxy, Upstream, REAL_IP_META_KEY};
use erpc_runtime_async_std::{
    builder_on, AsyncIo, CallCtx, Code, MultiClient, MultiClientConfig, PeerConfig, Raw, Status,
};

on_every_executor!(
    proxy_forwards_and_answers_bad_gateway,
    pool_spreads_and_closes_idle
);

async fn proxy_forwards_and_answers_bad_gateway(rt: AsyncIo) {
    let up = builder_on(rt.clone(), local())
        .call("/up/ip", |ctx: CallCtx, _: Raw| async move {
            Ok::<_, Status>(ctx.peek_meta(REAL_IP_META_KEY).unwrap_or("").to_owned())
        })
        .build()
        .unwrap();
    let up_addr = within("listen", up.listen()).await.unwrap();
    let dialer = builder_on(rt.clone(), local()).build().unwrap();
    let front = builder_on(rt.clone(), local())
        .service(Proxy::new(Upstream::new(dialer, up_addr)))
        .build()
        .unwrap();
    let front_addr = within("listen", front.listen()).await.unwrap();
    let client = builder_on(rt, PeerConfig::default()).build().unwrap();
    let s = within("dial", client.dial(&front_addr)).await.unwrap();
    let ip: String = within("call", s.call("/up/ip", &())).await.unwrap();
    assert_eq!(ip, s.local_addr());
    let st = within("nf", s.call::<_, Raw>("/nope", &()))
        .await
        .unwrap_err();
    assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");
    up.close().await;
    let st = within("down", s.call::<_, Raw>("/up/ip", &()))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::BAD_GATEWAY, "{st}");
}

async fn pool_spreads_and_closes_idle(rt: AsyncIo) {
    let server = builder_on(rt.clone(), local())
        .call("/slow", |_: CallCtx, ms: u64| async move {
            sleep(Duration::from_millis(ms)).await;
            Ok::<_, Status>(ms)
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt, PeerConfig::default()).build().unwrap();
    let pool = MultiClient::new(
        client,
        addr,
        MultiClientConfig::default()
            .max_sessions(3)
            .max_idle(Duration::from_millis(200)),
    );
    let calls = (0..30).map(|_| pool.call::<_, u64>("/slow", &20u64));
    let out = within("30 calls", futures_util::future::join_all(calls)).await;
    assert!(out.iter().all(Result::is_ok), "{out:?}");
    let st = pool.stats();
    assert_eq!((st.sessions, st.created, st.done), (3, 3, 30), "{st:?}");
    eventually("idle sessions closed", || pool.stats().sessions == 0).await;
    eventually("the server saw them go", || server.count_sessions() == 0).await;
}
