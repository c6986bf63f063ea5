//! `#[service]` registers every handler method of a type under the mapper's names.
#![cfg(feature = "macros")]

use std::time::Duration;

use erpc_runtime_tokio::erpc_proto::codec::{CodecId, CodecRegistry};
use erpc_runtime_tokio::erpc_proto::session::Reply;
use erpc_runtime_tokio::{
    builder, service, CallCtx, IntoReply, Mapper, PeerConfig, PushCtx, Raw, Response, Status,
};

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

struct Shop;

#[service]
impl Shop {
    /// The price of an item.
    async fn price(&self, _ctx: CallCtx, item: String) -> Result<Response<u32>, Status> {
        match item.as_str() {
            "tea" => Ok(Response::new(3).with_meta("currency", "EUR")),
            _ => Err(Status::new(404, "no such item", Some(item))),
        }
    }

    /// Another reply shape: the client's method is generic over the reply type.
    async fn echo(&self, _ctx: CallCtx, body: Raw) -> Echoed {
        Echoed(body)
    }
}

/// A reply type of the application's own.
struct Echoed(Raw);

impl IntoReply for Echoed {
    fn into_reply(self, codec: CodecId, codecs: &CodecRegistry) -> Reply {
        Ok::<_, Status>(self.0).into_reply(codec, codecs)
    }
}

#[tokio::test]
async fn typed_clients_call_the_same_routes() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let server = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .service(Math { offset: 100 })
    .service(Shop)
    .push("/math/notify_back", move |_ctx: PushCtx, s: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(s);
        }
    })
    .build()
    .unwrap();
    let addr = server.listen().await.unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    let s = client.dial(&addr).await.unwrap();

    let math = MathClient::new(s.clone());
    assert_eq!(math.add(&vec![1, 2, 3]).await.unwrap(), 106);
    assert_eq!(math.sub_items(&(10, 4)).await.unwrap(), 6);
    // The push handler pushes the text back to /math/notify_back of the session it came
    // from; this client has no such route, so only that the push was queued is seen here.
    math.notify(&"hi".to_owned()).await.unwrap();

    let shop = ShopClient::new(s.clone());
    assert_eq!(shop.price(&"tea".to_owned()).await.unwrap(), 3);
    let st = shop.price(&"coffee".to_owned()).await.unwrap_err();
    assert_eq!((st.code().0, st.cause()), (404, Some("coffee")));
    let back: Raw = shop.echo(&Raw(b"bytes".to_vec().into())).await.unwrap();
    assert_eq!(&back.0[..], b"bytes");
    assert!(
        rx.try_recv().is_err(),
        "the server's own route was not called"
    );

    // The RPC mapper's names, for a server built with it.
    let rpc = builder(PeerConfig {
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    })
    .rpc_mapper()
    .service(Hello)
    .build()
    .unwrap();
    let rpc_addr = rpc.listen().await.unwrap();
    let hello = HelloClient::with_mapper(client.dial(&rpc_addr).await.unwrap(), Mapper::Rpc);
    assert_eq!(hello.say(&"erpc".to_owned()).await.unwrap(), "hello erpc");
    // The default mapper's route does not exist there.
    let wrong = HelloClient::new(hello.session().clone());
    assert_eq!(wrong.say(&"x".to_owned()).await.unwrap_err().code().0, 404);

    for p in [&server, &rpc, &client] {
        p.close().await;
    }
}
