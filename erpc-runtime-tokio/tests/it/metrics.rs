//! The `metrics` feature: a server and a client peer record what they served and made, per
//! route, into the process's recorder (metrics-util's in-memory one here).

#![cfg(feature = "metrics")]

use std::sync::OnceLock;

use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};

use crate::common::{local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, PeerConfig, PushCtx, Status};

/// The process's recorder (installed once, before any peer of this test is built).
fn snapshotter() -> &'static Snapshotter {
    static S: OnceLock<Snapshotter> = OnceLock::new();
    S.get_or_init(|| {
        let r = DebuggingRecorder::new();
        let s = r.snapshotter();
        r.install().expect("no other recorder in this test binary");
        s
    })
}

/// One snapshot of the recorder (which hands out counter increments since the last one).
struct Snapshot(Vec<(CompositeKey, DebugValue)>);

impl Snapshot {
    fn take() -> Snapshot {
        Snapshot(
            snapshotter()
                .snapshot()
                .into_vec()
                .into_iter()
                .map(|(k, _, _, v)| (k, v))
                .collect(),
        )
    }

    /// The value of `name` with exactly `labels` among the metrics of peer `peer`.
    fn value(
        &self,
        kind: MetricKind,
        name: &str,
        peer: &str,
        labels: &[(&str, &str)],
    ) -> Option<&DebugValue> {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        want.push(("peer".into(), peer.into()));
        want.sort();
        self.0.iter().find_map(|(k, v)| {
            let key = k.key();
            let mut got: Vec<(String, String)> = key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect();
            got.sort();
            (k.kind() == kind && key.name() == name && got == want).then_some(v)
        })
    }

    fn counter(&self, name: &str, peer: &str, labels: &[(&str, &str)]) -> u64 {
        match self.value(MetricKind::Counter, name, peer, labels) {
            Some(DebugValue::Counter(n)) => *n,
            None => 0,
            other => panic!("{name}: {other:?}"),
        }
    }

    fn samples(&self, name: &str, peer: &str, labels: &[(&str, &str)]) -> usize {
        match self.value(MetricKind::Histogram, name, peer, labels) {
            Some(DebugValue::Histogram(v)) => v.len(),
            None => 0,
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn both_sides_count_calls_pushes_and_bytes_per_route() {
    snapshotter();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let server = builder(local())
        .metrics_name("metrics-server")
        .call("/math/add", |_ctx: CallCtx, v: Vec<i64>| async move {
            Ok::<_, Status>(v.iter().sum::<i64>())
        })
        .call("/fail", |_ctx: CallCtx, _: ()| async move {
            Err::<(), _>(Status::new(1001, "no", None::<&str>))
        })
        .push("/note", move |_ctx: PushCtx, n: i64| {
            let _ = tx.send(n);
            async {}
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default())
        .metrics_name("metrics-client")
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    for i in 0..5i64 {
        let sum: i64 = within("call", sess.call("/math/add", &[i, 1]))
            .await
            .unwrap();
        assert_eq!(sum, i + 1);
    }
    let st = within("failing call", sess.call::<_, ()>("/fail", &()))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code(1001));
    let st = within("unknown route", sess.call::<_, ()>("/nowhere", &()))
        .await
        .unwrap_err();
    assert_eq!(st.code(), Code::NOT_FOUND);
    sess.push("/note", &7i64).await.unwrap();
    assert_eq!(within("push", rx.recv()).await, Some(7));
    // More service methods than a connection keeps handles for at hand (8): the rest count
    // through the peer's shared handles, twice each.
    for round in 0..2 {
        for i in 0..12 {
            let route = format!("/spread/{i}");
            within("push", sess.push(&route, &round)).await.unwrap();
        }
    }

    // A single snapshot: the recorder's counters count from the previous one.
    let snap = Snapshot::take();
    let (s, c) = ("metrics-server", "metrics-client");
    let ok = [("route", "/math/add"), ("code", "0")];
    assert_eq!(snap.counter("erpc_calls_served_total", s, &ok), 5);
    assert_eq!(
        snap.counter(
            "erpc_calls_served_total",
            s,
            &[("route", "/fail"), ("code", "1001")]
        ),
        1
    );
    assert_eq!(
        snap.samples("erpc_call_served_seconds", s, &[("route", "/math/add")]),
        5
    );
    assert_eq!(
        snap.counter("erpc_pushes_served_total", s, &[("route", "/note")]),
        1
    );
    assert_eq!(snap.counter("erpc_calls_made_total", c, &ok), 5);
    assert_eq!(
        snap.counter(
            "erpc_calls_made_total",
            c,
            &[("route", "/fail"), ("code", "1001")]
        ),
        1
    );
    assert_eq!(
        snap.counter(
            "erpc_calls_made_total",
            c,
            &[("route", "/nowhere"), ("code", "404")]
        ),
        1
    );
    assert_eq!(
        snap.samples("erpc_call_made_seconds", c, &[("route", "/math/add")]),
        5
    );
    assert_eq!(
        snap.counter(
            "erpc_pushes_made_total",
            c,
            &[("route", "/note"), ("code", "0")]
        ),
        1
    );
    for i in 0..12 {
        let route = format!("/spread/{i}");
        assert_eq!(
            snap.counter(
                "erpc_pushes_made_total",
                c,
                &[("route", route.as_str()), ("code", "0")]
            ),
            2,
            "{route}"
        );
    }
    for peer in [s, c] {
        assert!(
            snap.counter("erpc_bytes_sent_total", peer, &[]) > 0,
            "{peer}"
        );
        assert!(
            snap.counter("erpc_bytes_received_total", peer, &[]) > 0,
            "{peer}"
        );
    }
    for p in [&client, &server] {
        within("close", p.close()).await;
    }
}
