//! The `quic` network across adapters: a tokio client with a smol server and a smol client
//! with a tokio server, on loopback — calls, a large body and pushes both ways.

use erpc_peer::Network;
use std::future::Future;
use std::time::Duration;

use erpc_peer::tls::{client_config_trusting, self_signed_server};
use erpc_peer::{CallCtx, PeerConfig, PushCtx, Raw, Session, Status};
use futures_util::future::{select, Either};

fn quic() -> PeerConfig {
    PeerConfig {
        network: Network::Quic,
        local_ip: "127.0.0.1".into(),
        ..PeerConfig::default()
    }
}

/// Fails the test when `fut` hangs (async-io's timer works under any executor).
async fn within<F: Future>(what: &str, fut: F) -> F::Output {
    let limit = Duration::from_secs(30);
    match select(Box::pin(fut), async_io_timer(limit)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out after {limit:?}: {what}"),
    }
}

fn async_io_timer(d: Duration) -> impl Future<Output = ()> + Unpin {
    let mut t = smol::Timer::after(d);
    std::future::poll_fn(move |cx| std::pin::Pin::new(&mut t).poll(cx).map(|_| ()))
}

type Notes = futures_channel::mpsc::UnboundedReceiver<String>;

/// The server side's builder steps, the same on either runtime.
macro_rules! serve {
    ($b:expr, $tls:expr, $tx:expr) => {{
        let tx = $tx;
        $b.tls_server($tls)
            .call("/echo", |_ctx: CallCtx, n: i64| async move {
                Ok::<_, Status>(n)
            })
            .call("/echo/raw", |_ctx: CallCtx, b: Raw| async move {
                Ok::<_, Status>(b)
            })
            .call("/push/back", |ctx: CallCtx, s: String| async move {
                ctx.session().push("/client/note", &s).await?;
                Ok::<_, Status>(())
            })
            .push("/server/note", move |_ctx: PushCtx, s: String| {
                let tx = futures_channel::mpsc::UnboundedSender::clone(&tx);
                async move {
                    let _ = tx.unbounded_send(s);
                }
            })
            .build()
            .unwrap()
    }};
}

macro_rules! client {
    ($b:expr, $cert:expr, $tx:expr) => {{
        let tx = $tx;
        $b.tls_client(client_config_trusting(&[$cert]).unwrap(), "localhost")
            .push("/client/note", move |_ctx: PushCtx, s: String| {
                let tx = futures_channel::mpsc::UnboundedSender::clone(&tx);
                async move {
                    let _ = tx.unbounded_send(s);
                }
            })
            .build()
            .unwrap()
    }};
}

async fn exercise(sess: &Session, server_notes: &mut Notes, client_notes: &mut Notes) {
    use futures_util::StreamExt;
    let n: i64 = within("call", sess.call("/echo", &7i64)).await.unwrap();
    assert_eq!(n, 7);
    let calls = (0..100).map(|n| {
        let sess = sess.clone();
        async move { sess.call::<_, i64>("/echo", &n).await }
    });
    let got = within("100 calls", futures_util::future::join_all(calls)).await;
    assert!(got
        .iter()
        .enumerate()
        .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))));
    let big: Vec<u8> = (0..4 << 20).map(|i| (i % 253) as u8).collect();
    let back: Raw = within(
        "4 MiB echo",
        sess.call("/echo/raw", &Raw::from(big.clone())),
    )
    .await
    .unwrap();
    assert_eq!(back.as_ref(), &big[..]);
    within("push", sess.push("/server/note", &"up"))
        .await
        .unwrap();
    assert_eq!(
        within("server note", server_notes.next()).await.unwrap(),
        "up"
    );
    within("push back", sess.call::<_, ()>("/push/back", &"down"))
        .await
        .unwrap();
    assert_eq!(
        within("client note", client_notes.next()).await.unwrap(),
        "down"
    );
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn tokio_client_with_a_smol_server() {
    let (tls, cert) = self_signed_server(&["localhost"]).unwrap();
    let (stx, mut srx) = futures_channel::mpsc::unbounded();
    let server = serve!(
        erpc_runtime_async_std::builder_on(erpc_runtime_async_std::AsyncIo::smol(), quic()),
        tls,
        stx
    );
    let addr = smol::block_on(within("listen", server.listen())).unwrap();
    let rt = tokio_rt();
    rt.block_on(async {
        let (ctx, mut crx) = futures_channel::mpsc::unbounded();
        let client = client!(erpc_runtime_tokio::builder(quic()), cert, ctx);
        let sess = within("dial", client.dial(&addr)).await.unwrap();
        exercise(&sess, &mut srx, &mut crx).await;
        within("close client", client.close()).await;
    });
    smol::block_on(within("close server", server.close()));
}

#[test]
fn smol_client_with_a_tokio_server() {
    let (tls, cert) = self_signed_server(&["localhost"]).unwrap();
    let rt = tokio_rt();
    let (stx, mut srx) = futures_channel::mpsc::unbounded();
    let (server, addr) = rt.block_on(async {
        let server = serve!(erpc_runtime_tokio::builder(quic()), tls, stx);
        let addr = within("listen", server.listen()).await.unwrap();
        (server, addr)
    });
    smol::block_on(async {
        let (ctx, mut crx) = futures_channel::mpsc::unbounded();
        let client = client!(
            erpc_runtime_async_std::builder_on(erpc_runtime_async_std::AsyncIo::smol(), quic()),
            cert,
            ctx
        );
        let sess = within("dial", client.dial(&addr)).await.unwrap();
        exercise(&sess, &mut srx, &mut crx).await;
        within("close client", client.close()).await;
    });
    rt.block_on(within("close server", server.close()));
}
