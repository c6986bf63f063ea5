//! Sub-routes (Go's `SubRoute`): a prefix mapped like Go and plugins that run only for the
//! group's routes, after the global ones.

use std::sync::{Arc, Mutex};

use erpc_runtime_tokio::erpc_proto::plugin::{MessageCtx, Plugin};
use erpc_runtime_tokio::{builder, CallCtx, PeerConfig, Status};

#[derive(Debug)]
struct Gate {
    name: &'static str,
    log: Arc<Mutex<Vec<String>>>,
    refuse: Option<&'static str>,
}

impl Plugin for Gate {
    fn name(&self) -> &str {
        self.name
    }

    fn post_read_call_body(&self, cx: &mut MessageCtx<'_>) -> Result<(), Status> {
        let sm = cx.message.service_method.to_string();
        self.log.lock().unwrap().push(format!("{}:{sm}", self.name));
        if self.refuse == Some(sm.as_str()) {
            return Err(Status::new(1403, "refused by the group", None::<&str>));
        }
        Ok(())
    }
}

#[tokio::test]
async fn group_plugins_run_for_the_group_only() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let gate = |name, refuse| Gate {
        name,
        log: log.clone(),
        refuse,
    };
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .plugin(gate("global", None))
    .call("/ping", |_ctx: CallCtx, _: ()| async {
        Ok::<_, Status>("pong")
    })
    .sub_route("math", vec![Arc::new(gate("math", Some("/math/div")))])
    .call("Add", |_ctx: CallCtx, args: Vec<i64>| async move {
        Ok::<_, Status>(args.iter().sum::<i64>())
    })
    .call("Div", |_ctx: CallCtx, _: Vec<i64>| async {
        Ok::<_, Status>(0i64)
    })
    .done()
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).await.unwrap();

    assert_eq!(s.call::<_, i64>("/math/add", &[1, 2]).await.unwrap(), 3);
    assert_eq!(s.call::<_, String>("/ping", &()).await.unwrap(), "pong");
    let err = s.call::<_, i64>("/math/div", &[1, 0]).await.unwrap_err();
    assert_eq!(err.code().0, 1403);

    let seen = log.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            "global:/math/add",
            "math:/math/add",
            "global:/ping",
            "global:/math/div",
            "math:/math/div",
        ]
    );
    server.close().await;
    client.close().await;
}
