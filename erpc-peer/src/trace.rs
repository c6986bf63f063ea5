//! W3C trace context across peers (feature `opentelemetry`): an outgoing call or push carries
//! the current `tracing` span's OpenTelemetry context in meta (`traceparent`, and
//! `tracestate` when there is one), and each incoming call or push runs its handler in an
//! `erpc.call` / `erpc.push` span whose parent is the context the caller sent. With
//! `tracing-opentelemetry`'s layer installed, a call across any number of peers is one trace.
//!
//! Go eRPC peers pass the meta through untouched (Go eRPC has no tracing of its own), so a
//! Go hop in the middle does not break the trace when its handlers copy the meta on.
//!
//! Without the feature (or without an OpenTelemetry layer) nothing is added to messages and
//! no span is made.

use erpc_proto::{Message, Meta};

/// Meta key of the W3C trace parent.
#[cfg_attr(not(feature = "opentelemetry"), allow(dead_code))]
pub(crate) const TRACEPARENT: &str = "traceparent";

#[cfg(feature = "opentelemetry")]
mod imp {
    use super::*;
    use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator};
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    struct MetaInjector<'a>(&'a mut Meta);

    impl Injector for MetaInjector<'_> {
        fn set(&mut self, key: &str, value: String) {
            self.0.set(key, value);
        }
    }

    struct MetaExtractor<'a>(&'a Meta);

    impl Extractor for MetaExtractor<'_> {
        fn get(&self, key: &str) -> Option<&str> {
            self.0.peek_str(key)
        }

        fn keys(&self) -> Vec<&str> {
            self.0
                .iter()
                .filter_map(|(k, _)| std::str::from_utf8(k).ok())
                .collect()
        }
    }

    /// Adds the current span's trace context to `meta` (nothing when the current span has
    /// no valid OpenTelemetry context).
    pub(crate) fn inject(meta: &mut Meta) {
        let span = tracing::Span::current();
        if span.is_disabled() {
            return;
        }
        let cx = span.context();
        if !cx.span().span_context().is_valid() {
            return;
        }
        TraceContextPropagator::new().inject_context(&cx, &mut MetaInjector(meta));
    }

    /// The span a handler of `msg` runs in, child of the context `msg` carries.
    pub(crate) fn handler_span(msg: &Message, push: bool) -> tracing::Span {
        let span = if push {
            // A root unless the caller sent its context: not a child of whatever span the
            // connection's task happens to be in.
            tracing::info_span!(
                parent: None,
                "erpc.push",
                otel.kind = "server",
                rpc.system = "erpc",
                rpc.method = %msg.service_method,
            )
        } else {
            tracing::info_span!(
                parent: None,
                "erpc.call",
                otel.kind = "server",
                rpc.system = "erpc",
                rpc.method = %msg.service_method,
                seq = msg.seq,
            )
        };
        if !span.is_disabled() && msg.meta.contains(TRACEPARENT) {
            let parent = TraceContextPropagator::new().extract(&MetaExtractor(&msg.meta));
            if parent.span().span_context().is_valid() {
                let _ = span.set_parent(parent);
            }
        }
        span
    }

    /// `fut`, polled inside `span`.
    pub(crate) fn instrumented<F: std::future::Future>(
        fut: F,
        span: tracing::Span,
    ) -> impl std::future::Future<Output = F::Output> {
        tracing::Instrument::instrument(fut, span)
    }
}

#[cfg(not(feature = "opentelemetry"))]
mod imp {
    use super::*;

    #[inline]
    pub(crate) fn inject(_: &mut Meta) {}

    #[inline]
    pub(crate) fn handler_span(_: &Message, _push: bool) -> tracing::Span {
        tracing::Span::none()
    }

    #[inline]
    pub(crate) fn instrumented<F: std::future::Future>(fut: F, _: tracing::Span) -> F {
        fut
    }
}

pub(crate) use imp::{handler_span, inject, instrumented};
