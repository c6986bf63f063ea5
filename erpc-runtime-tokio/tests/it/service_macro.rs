//! `#[service]` registers every handler method of a type under the mapper's names.
#![cfg(feature = "macros")]

use std::time::Duration;

use erpc_runtime_tokio::{builder, service, CallCtx, PeerConfig, PushCtx, Status};

struct Math {
    offset: i64,
}

#[service]
impl Math {
    async fn add(&self, _ctx: CallCtx, args: Vec<i64>) -> Result<i64, Status> {
        Ok(args.iter().sum::<i64>() + self.offset)
    }

    async fn sub_items(&self, _ctx: CallCtx, args: (i64, i64)) -> Result<i64, Status> {
        Ok(args.0 - args.1)
    }

    async fn notify(&self, ctx: PushCtx, text: String) {
        let _ = ctx.session().push("/math/notify_back", &text).await;
    }

    /// Not async: not a handler.
    #[allow(dead_code)]
    fn helper(&self) -> i64 {
        self.offset
    }
}

#[tokio::test]
async fn methods_become_routes() {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .service(Math { offset: 100 })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(PeerConfig::default())
        .push("/math/notify_back", move |_ctx: PushCtx, s: String| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(s);
            }
        })
        .build()
        .unwrap();
    let s = client.dial(&addr).await.unwrap();
    assert_eq!(
        s.call::<_, i64>("/math/add", &[1, 2, 3]).await.unwrap(),
        106
    );
    assert_eq!(
        s.call::<_, i64>("/math/sub_items", &(10, 4)).await.unwrap(),
        6
    );
    s.push("/math/notify", "hello").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, "hello");
    assert_eq!(
        s.call::<_, i64>("/math/helper", &())
            .await
            .unwrap_err()
            .code()
            .0,
        404
    );
    server.close().await;
    client.close().await;
}

struct Hello;

#[service]
impl Hello {
    async fn say(&self, _ctx: CallCtx, name: String) -> Result<String, Status> {
        Ok(format!("hello {name}"))
    }
}

#[tokio::test]
async fn rpc_mapper_names_like_go() {
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .rpc_mapper()
    .service(Hello)
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).await.unwrap();
    assert_eq!(
        s.call::<_, String>("Hello.Say", "erpc").await.unwrap(),
        "hello erpc"
    );
    server.close().await;
    client.close().await;
}
