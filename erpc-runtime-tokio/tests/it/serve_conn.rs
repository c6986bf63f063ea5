//! `Peer::serve_conn` and `Peer::serve_listener`: serving a connection or a listener the
//! application already has (Go's `ServeConn`, `ServeListener`).

use std::sync::Arc;

use erpc_runtime_tokio::{builder, CallCtx, Code, Connected, PeerConfig, PushCtx, Status};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_util::compat::TokioAsyncReadCompatExt;

use crate::common::{local, within};

fn echo_server() -> erpc_runtime_tokio::Peer {
    builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_socket_accepted_by_the_application_is_served_like_any_other() {
    let server = echo_server();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let client = builder(PeerConfig::default()).build().unwrap();
    let dial = tokio::spawn({
        let addr = addr.clone();
        async move { client.dial(&addr).await.map(|s| (client, s)) }
    });
    let (stream, remote) = within("accept", listener.accept()).await.unwrap();
    let served = within(
        "serve_conn",
        server.serve_conn(Connected::new(
            stream.compat(),
            addr.clone(),
            remote.to_string(),
        )),
    )
    .await
    .unwrap();
    assert_eq!(served.id(), remote.to_string());
    assert_eq!(server.count_sessions(), 1);
    let (client, sess) = within("dial", dial).await.unwrap().unwrap();
    let n: i64 = within("call", sess.call("/echo", &41)).await.unwrap();
    assert_eq!(n, 41);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
    assert_eq!(server.count_sessions(), 0);
}

#[tokio::test]
async fn two_peers_over_an_in_memory_pipe_call_and_push_both_ways() {
    let (a, b) = tokio::io::duplex(64 * 1024);
    let got = Arc::new(Notify::new());
    let server = echo_server();
    let g = got.clone();
    let other = builder(local())
        .push("/note", move |_ctx: PushCtx, text: String| {
            let g = g.clone();
            async move {
                assert_eq!(text, "hello over a pipe");
                g.notify_one();
            }
        })
        .build()
        .unwrap();
    let on_server = within(
        "serve a",
        server.serve_conn(Connected::new(a.compat(), "pipe-a", "pipe-b")),
    )
    .await
    .unwrap();
    let on_other = within(
        "serve b",
        other.serve_conn(Connected::new(b.compat(), "pipe-b", "pipe-a")),
    )
    .await
    .unwrap();
    let n: i64 = within("call over the pipe", on_other.call("/echo", &7))
        .await
        .unwrap();
    assert_eq!(n, 7);
    within("push", on_server.push("/note", &"hello over a pipe"))
        .await
        .unwrap();
    within("push arrives", got.notified()).await;
    within("server close", server.close()).await;
    within("other close", other.close()).await;
}

#[tokio::test]
async fn a_closing_peer_refuses_new_connections() {
    let server = echo_server();
    within("close", server.close()).await;
    let (a, _b) = tokio::io::duplex(1024);
    let st = server
        .serve_conn(Connected::new(a.compat(), "x", "y"))
        .await
        .expect_err("a closed peer serves nothing");
    assert_eq!(st.code(), Code::CONN_CLOSED);
    assert_eq!(server.count_sessions(), 0);
}

#[tokio::test]
async fn a_listener_bound_by_the_application_is_served_until_close() {
    use erpc_runtime_tokio::TokioListener;
    let server = echo_server();
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    std_listener.set_nonblocking(true).unwrap();
    let addr = std_listener.local_addr().unwrap().to_string();
    let listener = TokioListener::Tcp(TcpListener::from_std(std_listener).unwrap());
    server.serve_listener(listener, addr.clone()).unwrap();
    let client = builder(PeerConfig::default()).build().unwrap();
    for n in 0..3 {
        let sess = within("dial", client.dial(&addr)).await.unwrap();
        let got: i64 = within("call", sess.call("/echo", &n)).await.unwrap();
        assert_eq!(got, n);
    }
    assert_eq!(server.count_sessions(), 3);
    within("server close", server.close()).await;
    // The listener went with the peer: the port refuses connections now.
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "still listening after close"
    );
    within("client close", client.close()).await;
}
