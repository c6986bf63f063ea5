//! `/bind/check` of `erpc serve --binder` (the Go peer's too): Go's plugin/binder on an
//! argument with every kind of rule, its values bound from the body and the meta.

use erpc_peer::Bind;
use erpc_runtime_tokio::{CallCtx, PeerBuilder, Status};

/// The Go peer's `BindArgs`, field for field and rule for rule (validated in this order).
#[derive(Debug, Default, serde::Deserialize, Bind)]
#[serde(default)]
struct BindArgs {
    #[param(len(3, 8), desc = "user name, 3 to 8 bytes")]
    name: String,
    // isize: Go's `int` (its kind name appears in meta conversion errors).
    #[param(range(1, 120), desc = "age in years")]
    age: isize,
    #[param(
        regexp = "^[a-z0-9._-]+@[a-z0-9.-]+$",
        desc = "lower-case e-mail address"
    )]
    email: String,
    #[param(nonzero, desc = "a score other than zero")]
    score: f64,
    #[serde(skip)]
    #[param(
        meta = "token",
        nonzero,
        stat(100401, "token is required"),
        desc = "the caller's token"
    )]
    token: String,
    #[serde(skip)]
    #[param(meta = "level", range(0, 9), desc = "a level from 0 to 9 (absent: 0)")]
    level: isize,
}

/// The Go peer's `BindReply`: the values as bound.
#[derive(serde::Serialize)]
struct BindReply {
    name: String,
    age: isize,
    email: String,
    score: f64,
    token: String,
    level: isize,
}

/// Registers `/bind/check`.
pub(crate) fn register(b: PeerBuilder) -> PeerBuilder {
    b.call_bound("/bind/check", |_ctx: CallCtx, a: BindArgs| {
        std::future::ready(Ok::<_, Status>(BindReply {
            name: a.name,
            age: a.age,
            email: a.email,
            score: a.score,
            token: a.token,
            level: a.level,
        }))
    })
}
