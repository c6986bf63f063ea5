//! Go's binder on the blocking adapter: `call_bound` and `#[bind]` in
//! `#[service(blocking)]`, meta and session data (swap) bound before the handler runs.

use erpc_runtime_blocking::{builder, Bind, CallCtx, Code, PeerConfig, Status};

#[derive(Debug, Default, serde::Deserialize, serde::Serialize, Bind)]
#[serde(default)]
struct Login {
    #[param(len(3, 8))]
    user: String,
    #[serde(skip)]
    #[param(meta = "X-Token", nonzero, stat(100401, "token is required"))]
    token: String,
    #[serde(skip)]
    #[param(swap = "tenant")]
    tenant: String,
}

struct Account;

#[erpc_runtime_blocking::service(blocking)]
impl Account {
    #[bind]
    fn login(&self, _ctx: CallCtx, a: Login) -> Result<String, Status> {
        Ok(format!("{}@{}", a.user, a.tenant))
    }
}

#[test]
fn bound_handlers_on_the_blocking_adapter() {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/tenant/set", |ctx: CallCtx, t: String| {
        ctx.session().set_data("tenant", t);
        Ok::<_, Status>(())
    })
    .call_bound("/login", |_ctx: CallCtx, a: Login| {
        Ok::<_, Status>(format!("{}:{}@{}", a.user, a.token, a.tenant))
    })
    .service(Account)
    .build()
    .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).unwrap();
    s.call::<_, ()>("/tenant/set", "acme").unwrap();
    let body = serde_json::json!({ "user": "alice" });
    // The meta rule with its own status.
    let st = s.call::<_, String>("/login", &body).unwrap_err();
    assert_eq!(st.code(), Code(100401), "{st}");
    assert_eq!(st.msg(), "token is required");
    let ok: String = s
        .call_with("/login")
        .meta("X-Token", "t0k")
        .send(&body)
        .unwrap()
        .body;
    assert_eq!(ok, "alice:t0k@acme");
    // Through #[service(blocking)] with #[bind].
    let st = s
        .call::<_, String>("/account/login", &serde_json::json!({ "user": "al" }))
        .unwrap_err();
    assert_eq!(st.code(), Code(400), "{st}");
    let ok: String = s
        .call_with("/account/login")
        .meta("X-Token", "t")
        .send(&serde_json::json!({ "user": "bob" }))
        .unwrap()
        .body;
    assert_eq!(ok, "bob@acme");
}
