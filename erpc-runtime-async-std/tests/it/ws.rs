//! The `ws` network (feature `ws`) on async-io: calls with every sub-protocol, a large body,
//! pushes both ways, the path and token checks, on loopback.

use crate::common;
use erpc_runtime_async_std::Network;

use common::{echo_ok, within};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, PushCtx, Raw, Status};
use futures_util::StreamExt;

fn ws_config(subproto: &str, path: &str, token: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Ws,
        local_ip: "127.0.0.1".into(),
        ws_subproto: subproto.parse().expect("a ws sub-protocol"),
        ws_path: path.into(),
        ws_token: token.into(),
        ..PeerConfig::default()
    }
}

on_every_executor!(call_and_push_over_ws, path_and_token_are_checked);

async fn call_and_push_over_ws(rt: AsyncIo) {
    for subproto in ["json", "pb", "proto"] {
        let server = builder_on(rt.clone(), ws_config(subproto, "/ws", ""))
            .call("/echo", |ctx: CallCtx, n: i64| async move {
                let _ = ctx.session().push("/note", &n).await;
                Ok::<_, Status>(n)
            })
            .call("/len", |_: CallCtx, body: Raw| async move {
                Ok::<_, Status>(body.0.len())
            })
            .build()
            .unwrap();
        let addr = within("listen", server.listen()).await.unwrap();

        let (tx, mut notes) = futures_channel::mpsc::unbounded();
        let client = builder_on(rt.clone(), ws_config(subproto, "/ws", ""))
            .push("/note", move |_: PushCtx, n: i64| {
                let tx = tx.clone();
                async move {
                    let _ = tx.unbounded_send(n);
                }
            })
            .build()
            .unwrap();
        let s = within("dial", client.dial(&addr)).await.unwrap();
        echo_ok(&s, 7).await;
        assert_eq!(
            within("push back", notes.next()).await,
            Some(7),
            "{subproto}"
        );
        let big = Raw(vec![5u8; 1 << 20].into());
        let n: usize = within("1 MiB call", s.call_with("/len").send(&big))
            .await
            .unwrap()
            .body;
        assert_eq!(n, 1 << 20, "{subproto}");

        within("client close", client.close()).await;
        within("server close", server.close()).await;
    }
}

async fn path_and_token_are_checked(rt: AsyncIo) {
    let server = builder_on(rt.clone(), ws_config("json", "/ws", "secret"))
        .call(
            "/echo",
            |_: CallCtx, n: i64| async move { Ok::<_, Status>(n) },
        )
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let dial = |path: &'static str, token: &'static str| {
        let rt = rt.clone();
        let addr = addr.clone();
        async move {
            let c = builder_on(rt, ws_config("json", path, token))
                .build()
                .unwrap();
            let r = within("dial", c.dial(&addr)).await.map(|_| ());
            within("close", c.close()).await;
            r
        }
    };
    assert!(dial("/ws", "secret").await.is_ok(), "right path and token");
    let e = dial("/ws", "wrong").await.expect_err("wrong token");
    assert!(e.to_string().contains("403"), "{e}");
    let e = dial("/other", "secret").await.expect_err("wrong path");
    assert!(e.to_string().contains("404"), "{e}");
    within("server close", server.close()).await;
}
