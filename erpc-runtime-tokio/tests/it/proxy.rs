//! Go's plugin/proxy over real loopback sockets: client → front (a `Proxy`) → upstream.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use erpc_runtime_tokio::plugins::{Forwarder, Label, Proxy, Upstream, REAL_IP_META_KEY};
use erpc_runtime_tokio::{builder, CallCtx, Code, CodecId, PushCtx, Raw, Response, Status};

use crate::common::{eventually, local, within};

type Seen = Arc<Mutex<Vec<(String, Vec<(String, String)>, CodecId, Vec<u8>)>>>;

/// An upstream that answers `/up/echo` with the body and the meta it saw (meta `seen-*` on
/// the reply), records pushes to `/up/push`, and refuses `/up/err`.
async fn upstream(seen: Seen) -> (erpc_runtime_tokio::Peer, String) {
    let s2 = seen.clone();
    let peer = builder(local())
        .call("/up/echo", |ctx: CallCtx, body: Raw| async move {
            let mut r = Response::new(body).with_codec(ctx.body_codec());
            for (k, v) in ctx.meta().iter() {
                r = r.with_meta(format!("seen-{}", String::from_utf8_lossy(k)), v);
            }
            Ok::<_, Status>(r.with_meta("dup", "1").with_meta("dup", "2"))
        })
        .call("/up/err", |_: CallCtx, _: Raw| async {
            Err::<(), _>(Status::new(1001, "custom error", Some("custom cause")))
        })
        .call("/up/slow", |_: CallCtx, ms: u64| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok::<_, Status>(ms)
        })
        .push("/up/push", move |ctx: PushCtx, body: Raw| {
            let meta = ctx
                .meta()
                .iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(k).into_owned(),
                        String::from_utf8_lossy(v).into_owned(),
                    )
                })
                .collect();
            s2.lock().unwrap().push((
                ctx.service_method().to_owned(),
                meta,
                ctx.body_codec(),
                body.0.to_vec(),
            ));
            async {}
        })
        .build()
        .unwrap();
    let addr = peer.listen().await.unwrap();
    (peer, addr)
}

/// A front proxying to `addr`, with one route of its own.
async fn front(proxy: Proxy) -> (erpc_runtime_tokio::Peer, String) {
    let peer = builder(local())
        .call("/own", |_: CallCtx, _: Raw| async {
            Ok::<_, Status>("front")
        })
        .service(proxy)
        .build()
        .unwrap();
    let addr = peer.listen().await.unwrap();
    (peer, addr)
}

#[tokio::test]
async fn calls_and_pushes_pass_with_meta_codec_and_real_ip() {
    let seen = Seen::default();
    let (_up, up_addr) = upstream(seen.clone()).await;
    let dialer = builder(local()).build().unwrap();
    let (_front, front_addr) = front(Proxy::new(Upstream::new(dialer, up_addr))).await;
    let client = builder(local()).build().unwrap();
    let s = client.dial(&front_addr).await.unwrap();

    // The front's own route is not forwarded.
    let own: String = within("own", s.call("/own", &())).await.unwrap();
    assert_eq!(own, "front");

    let reply = within(
        "echo",
        s.call_with("/up/echo")
            .meta("X-Check", "n0nce")
            .codec(CodecId::PLAIN)
            .send::<_, Raw>(&Raw(bytes::Bytes::from_static(b"\x00bin\xff"))),
    )
    .await
    .unwrap();
    assert_eq!(&reply.body.0[..], b"\x00bin\xff");
    assert_eq!(reply.codec, CodecId::PLAIN, "the caller's codec, both ways");
    assert_eq!(reply.meta.peek_str("seen-X-Check"), Some("n0nce"));
    let real_ip = reply.meta.peek_str(format!("seen-{REAL_IP_META_KEY}"));
    assert_eq!(
        real_ip,
        Some(s.local_addr().as_str()),
        "X-Real-IP = the caller"
    );
    // Reply meta is set key by key: the last value wins (Go's SetMeta).
    assert_eq!(
        reply.meta.peek_all("dup").collect::<Vec<_>>(),
        vec![&b"2"[..]]
    );

    // A caller's own X-Real-IP passes unchanged.
    let reply = within(
        "echo",
        s.call_with("/up/echo")
            .meta(REAL_IP_META_KEY, "10.9.8.7:6")
            .send::<_, Raw>(&Raw::default()),
    )
    .await
    .unwrap();
    let key = format!("seen-{REAL_IP_META_KEY}");
    let ips: Vec<_> = reply.meta.peek_all(&key).collect();
    assert_eq!(ips, vec![&b"10.9.8.7:6"[..]]);

    // Application statuses pass unchanged; the upstream's 404 too.
    let st = within("err", s.call::<_, ()>("/up/err", &()))
        .await
        .unwrap_err();
    assert_eq!(
        st.to_query_string(),
        "code=1001&msg=custom%20error&cause=custom%20cause"
    );
    let st = within("nf", s.call::<_, ()>("/no/such", &()))
        .await
        .unwrap_err();
    assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");

    // Pushes.
    s.push("/up/push", &"hi").await.unwrap();
    eventually("the push reached the upstream", || {
        !seen.lock().unwrap().is_empty()
    })
    .await;
    let (sm, meta, codec, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(sm, "/up/push");
    assert_eq!(codec, CodecId::JSON);
    assert_eq!(body, b"\"hi\"");
    assert!(meta
        .iter()
        .any(|(k, v)| k == REAL_IP_META_KEY && *v == s.local_addr()));
}

#[tokio::test]
async fn a_dead_upstream_is_bad_gateway_and_a_new_one_is_dialed() {
    let seen = Seen::default();
    let (up, up_addr) = upstream(seen.clone()).await;
    let dialer = builder(local()).build().unwrap();
    let (_front, front_addr) = front(Proxy::new(Upstream::new(dialer, up_addr.clone()))).await;
    let client = builder(local()).build().unwrap();
    let s = client.dial(&front_addr).await.unwrap();
    let _: Raw = within("first", s.call("/up/echo", &())).await.unwrap();
    up.close().await;
    let st = within("down", s.call::<_, Raw>("/up/echo", &()))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::BAD_GATEWAY, "{st}");
    assert_eq!(st.raw_msg(), "Bad Gateway");
    assert!(
        st.cause().is_some_and(|c| !c.is_empty()),
        "the cause is kept: {st}"
    );
}

#[tokio::test]
async fn the_forwarder_is_chosen_from_the_label() {
    let seen = Seen::default();
    let (_up, up_addr) = upstream(seen).await;
    let dialer = builder(local()).build().unwrap();
    let up: Arc<dyn Forwarder> = Arc::new(Upstream::new(dialer, up_addr));
    let labels = Arc::new(Mutex::new(Vec::<Label>::new()));
    let l2 = labels.clone();
    let proxy = Proxy::route(move |label: &Label| {
        l2.lock().unwrap().push(label.clone());
        label.service_method.starts_with("/up/").then(|| up.clone())
    });
    let (_front, front_addr) = front(proxy).await;
    let client = builder(local()).build().unwrap();
    let s = client.dial(&front_addr).await.unwrap();
    let _: Raw = within("routed", s.call("/up/echo", &())).await.unwrap();
    let st = within("unrouted", s.call::<_, Raw>("/elsewhere", &()))
        .await
        .unwrap_err();
    assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");
    let labels = labels.lock().unwrap();
    assert_eq!(labels.len(), 2);
    assert_eq!(labels[0].service_method, "/up/echo");
    assert_eq!(labels[0].real_ip, s.local_addr());
    assert_eq!(labels[1].service_method, "/elsewhere");
    assert!(!labels[0].session_id.is_empty());
}

#[tokio::test]
async fn forwarded_calls_are_bounded_by_the_fronts_handler_limit() {
    // The front runs at most 2 handlers per session: with 6 slow calls forwarded at once,
    // the upstream never sees more than 2 in flight (the front stops reading instead of
    // queueing).
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (r2, m2) = (running.clone(), most.clone());
    let up = builder(local())
        .call("/up/slow", move |_: CallCtx, ms: u64| {
            let (r, m) = (r2.clone(), m2.clone());
            async move {
                let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                m.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                r.fetch_sub(1, Ordering::SeqCst);
                Ok::<_, Status>(ms)
            }
        })
        .build()
        .unwrap();
    let up_addr = up.listen().await.unwrap();
    let dialer = builder(local()).build().unwrap();
    let peer = builder(erpc_runtime_tokio::PeerConfig {
        max_handlers: 2,
        ..local()
    })
    .service(Proxy::new(Upstream::new(dialer, up_addr)))
    .build()
    .unwrap();
    let front_addr = peer.listen().await.unwrap();
    let client = builder(local()).build().unwrap();
    let s = client.dial(&front_addr).await.unwrap();
    let calls = (0..6).map(|_| s.call::<_, u64>("/up/slow", &50u64));
    let out = within("6 slow calls", futures_util::future::join_all(calls)).await;
    assert!(
        out.iter().all(|r| r.as_ref().is_ok_and(|&v| v == 50)),
        "{out:?}"
    );
    assert_eq!(most.load(Ordering::SeqCst), 2);
}
