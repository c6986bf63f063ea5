//! The `opentelemetry` feature: a call made inside a span carries the W3C trace context in
//! meta, and the handler it reaches runs in a child span, across two hops: one trace.

#![cfg(feature = "opentelemetry")]

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

use crate::common::{local, within};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

fn method(s: &SpanData) -> Option<String> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == "rpc.method")
        .map(|kv| kv.value.to_string())
}

// A current-thread runtime: every peer's tasks run on this thread, under the subscriber
// installed for it.
#[tokio::test(flavor = "current_thread")]
async fn one_trace_across_two_hops() {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("erpc-test")));
    let _default = tracing::subscriber::set_default(subscriber);

    // The leaf answers with the traceparent it received.
    let leaf = builder(local())
        .call("/leaf", |ctx: CallCtx, _: ()| async move {
            Ok::<_, Status>(ctx.peek_meta("traceparent").unwrap_or_default().to_owned())
        })
        .build()
        .unwrap();
    let leaf_addr = leaf.listen().await.unwrap();
    let hop = builder(PeerConfig::default()).build().unwrap();
    let to_leaf = within("dial leaf", hop.dial(&leaf_addr)).await.unwrap();
    // The front calls the leaf from inside its handler (so inside its handler's span).
    let front = builder(local())
        .call("/front", move |_ctx: CallCtx, _: ()| {
            let to_leaf = to_leaf.clone();
            async move { to_leaf.call::<_, String>("/leaf", &()).await }
        })
        .build()
        .unwrap();
    let front_addr = front.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let sess = within("dial front", client.dial(&front_addr))
        .await
        .unwrap();

    let traceparent: String = within(
        "traced call",
        sess.call::<_, String>("/front", &())
            .instrument(tracing::info_span!("client.op")),
    )
    .await
    .unwrap();
    // A call outside any span carries no context: the front's handler starts a trace of
    // its own, which is what reaches the leaf.
    let untraced: String = within("untraced call", sess.call::<_, String>("/front", &()))
        .await
        .unwrap();

    for p in [&client, &front, &hop, &leaf] {
        within("close", p.close()).await;
    }
    provider.force_flush().unwrap();
    let spans = exporter.get_finished_spans().unwrap();
    let op = spans
        .iter()
        .find(|s| s.name == "client.op")
        .expect("client span");
    let traced: Vec<&SpanData> = spans
        .iter()
        .filter(|s| s.span_context.trace_id() == op.span_context.trace_id())
        .collect();
    let front_span = traced
        .iter()
        .find(|s| s.name == "erpc.call" && method(s).as_deref() == Some("/front"))
        .expect("the front's handler span is in the client's trace");
    let leaf_span = traced
        .iter()
        .find(|s| s.name == "erpc.call" && method(s).as_deref() == Some("/leaf"))
        .expect("the leaf's handler span is in the client's trace");
    assert_eq!(front_span.parent_span_id, op.span_context.span_id());
    assert!(front_span.parent_span_is_remote);
    assert_eq!(leaf_span.parent_span_id, front_span.span_context.span_id());
    // What the leaf saw on the wire: W3C traceparent of the trace, parent = the front's span.
    assert_eq!(
        traceparent,
        format!(
            "00-{}-{}-01",
            op.span_context.trace_id(),
            front_span.span_context.span_id()
        )
    );
    // The untraced call's trace is another, rooted at the front.
    let root = spans
        .iter()
        .find(|s| {
            s.name == "erpc.call"
                && method(s).as_deref() == Some("/front")
                && s.span_context.trace_id() != op.span_context.trace_id()
        })
        .expect("the untraced call's span at the front");
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);
    assert!(untraced.starts_with(&format!("00-{}-", root.span_context.trace_id())));
}
