//! Go's binder over a real session: `#[derive(Bind)]` through this crate's re-exports,
//! `call_bound` on the builder and on a sub-route, meta and session data (swap) bound.

use erpc_runtime_tokio::{builder, Bind, CallCtx, PeerConfig, Status};

#[derive(Debug, Default, serde::Deserialize, serde::Serialize, Bind)]
#[serde(default)]
struct Login {
    #[param(len(3, 8))]
    user: String,
    #[serde(skip)]
    #[param(meta = "X-Token", nonzero, stat(100401, "token is required"))]
    token: String,
    #[serde(skip)]
    #[param(swap = "tenant", nonzero)]
    tenant: String,
}

#[tokio::test]
async fn bound_handlers_over_a_session() {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .call("/tenant/set", |ctx: CallCtx, t: String| async move {
        ctx.session().set_data("tenant", t);
        Ok::<_, Status>(())
    })
    .call_bound("/login", |_ctx: CallCtx, a: Login| async move {
        Ok::<_, Status>(format!("{}@{}:{}", a.user, a.tenant, a.token))
    })
    .sub_route("auth", vec![])
    .call_bound("Login", |_ctx: CallCtx, a: Login| async move {
        Ok::<_, Status>(a.user)
    })
    .done()
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).await.unwrap();
    let login = |route: &'static str, user: &'static str, token: Option<&'static str>| {
        let s = s.clone();
        async move {
            let mut c = s.call_with(route);
            if let Some(t) = token {
                c = c.meta("X-Token", t);
            }
            c.send::<_, String>(&serde_json::json!({ "user": user }))
                .await
                .map(|r| r.body)
        }
    };
    // No tenant in the session yet: the swap field stays empty.
    let st = login("/login", "alice", Some("t")).await.unwrap_err();
    assert_eq!(
        st.cause(),
        Some(r#"{"handler": "/login", "param": "tenant", "reason": "zero value"}"#)
    );
    s.call::<_, ()>("/tenant/set", "acme").await.unwrap();
    assert_eq!(
        login("/login", "alice", Some("t")).await.unwrap(),
        "alice@acme:t"
    );
    let st = login("/login", "al", Some("t")).await.unwrap_err();
    assert_eq!((st.code().0, st.msg()), (400, "Invalid Parameter"));
    let st = login("/login", "alice", None).await.unwrap_err();
    assert_eq!((st.code().0, st.msg()), (100401, "token is required"));
    // The sub-route's mapped name is the handler in the cause.
    let st = login("/auth/login", "x", Some("t")).await.unwrap_err();
    assert_eq!(
        st.cause(),
        Some(r#"{"handler": "/auth/login", "param": "user", "reason": "shorter than 3: x"}"#)
    );
    assert_eq!(login("/auth/login", "bob", Some("t")).await.unwrap(), "bob");
}

/// `#[bind]` on a `#[service]` method registers it with `call_bound`.
struct Account;

#[erpc_runtime_tokio::service]
impl Account {
    #[bind]
    async fn login(&self, _ctx: CallCtx, a: Login) -> Result<String, Status> {
        Ok(a.user)
    }

    async fn echo(&self, _ctx: CallCtx, s: String) -> Result<String, Status> {
        Ok(s)
    }
}

#[tokio::test]
async fn bind_attribute_in_a_service() {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .service(Account)
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).await.unwrap();
    let st = s
        .call::<_, String>("/account/login", &serde_json::json!({ "user": "al" }))
        .await
        .unwrap_err();
    assert_eq!(st.code(), erpc_runtime_tokio::Code(400), "{st}");
    assert_eq!(
        st.cause(),
        Some(r#"{"handler": "/account/login", "param": "user", "reason": "shorter than 3: al"}"#),
        "{st}"
    );
    // The unbound method is not checked.
    let r: String = s.call("/account/echo", &"x").await.unwrap();
    assert_eq!(r, "x");
}
