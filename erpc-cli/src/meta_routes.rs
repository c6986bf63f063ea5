//! The `/meta/*` routes of `erpc serve` (the Go peer's too), what a proxy's checks read on
//! the upstream: `/meta/echo` answers the call's meta, `/meta/push` records a push and
//! `/meta/last_push` answers the last one.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use erpc_runtime_tokio::{CallCtx, PeerBuilder, PushCtx, Raw, Status};

/// The last push to `/meta/push`, as `/meta/last_push` answers it.
#[derive(Default, serde::Serialize, Clone)]
struct LastPush {
    count: u64,
    meta: BTreeMap<String, String>,
    body: String,
    body_codec: String,
}

/// The meta of a message as one JSON object, the last value of each key.
fn meta_object(meta: &erpc_runtime_tokio::Meta) -> BTreeMap<String, String> {
    meta.iter()
        .map(|(k, v)| {
            (
                String::from_utf8_lossy(k).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            )
        })
        .collect()
}

/// Registers `/meta/echo`, `/meta/push` and `/meta/last_push` on `b`.
pub(crate) fn register(b: PeerBuilder) -> PeerBuilder {
    let last = Arc::new(Mutex::new(LastPush::default()));
    let l = last.clone();
    b.call("/meta/echo", |ctx: CallCtx, _: Raw| {
        std::future::ready(Ok::<_, Status>(meta_object(ctx.meta())))
    })
    .push("/meta/push", move |ctx: PushCtx, body: Raw| {
        let mut last = l.lock().unwrap_or_else(|e| e.into_inner());
        last.count += 1;
        last.meta = meta_object(ctx.meta());
        last.body = String::from_utf8_lossy(&body.0).into_owned();
        last.body_codec = match ctx.body_codec().0 {
            0 => String::new(),
            id => char::from(id).to_string(),
        };
        std::future::ready(())
    })
    .call("/meta/last_push", move |_: CallCtx, _: Raw| {
        let snapshot = last.lock().unwrap_or_else(|e| e.into_inner()).clone();
        std::future::ready(Ok::<_, Status>(snapshot))
    })
}
