//! eRPC is peer-to-peer: the accepting side calls and pushes back to the dialer over the same
//! session, here from inside a handler while the dialer's call is still waiting.

use crate::common;
use common::{local, within};
use erpc_runtime_tokio::{builder, CallCtx, Code, PeerConfig, PushCtx, Status};

#[tokio::test]
async fn handler_calls_and_pushes_back_to_the_caller() {
    let server = builder(local())
        .call("/ask", |ctx: CallCtx, question: String| async move {
            let sess = ctx.session();
            assert!(!sess.dialed(), "the server's handle is the accepting side");
            // Push to the caller, then call it, while the caller's own call is in flight.
            sess.push("/client/note", &format!("working on {question:?}"))
                .await
                .map_err(|st| Status::with_cause(Code::INTERNAL_SERVER_ERROR, st.to_string()))?;
            let name: String = sess.call("/client/name", &question).await?;
            Ok::<_, Status>(format!("hello {name}"))
        })
        .call("/server/suffix", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(format!("{s}-san"))
        })
        .build()
        .unwrap();
    let addr = server.listen().await.unwrap();

    let (note_tx, mut note_rx) = tokio::sync::mpsc::unbounded_channel();
    let client = builder(PeerConfig::default())
        .call(
            "/client/name",
            |ctx: CallCtx, question: String| async move {
                assert_eq!(question, "who?");
                // Two levels deep: the client calls the server back while the server's callback
                // (and the client's first call) are still waiting.
                let full: String = ctx.session().call("/server/suffix", &"rusty").await?;
                Ok::<_, Status>(full)
            },
        )
        .push("/client/note", move |ctx: PushCtx, note: String| {
            let tx = note_tx.clone();
            async move {
                let _ = tx.send((ctx.service_method().to_owned(), note));
            }
        })
        .build()
        .unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();

    let answer: String = within("call with a callback", sess.call("/ask", &"who?"))
        .await
        .unwrap();
    assert_eq!(answer, "hello rusty-san");
    let (sm, note) = within("push from the handler", note_rx.recv())
        .await
        .unwrap();
    assert_eq!(sm, "/client/note");
    assert_eq!(note, "working on \"who?\"");

    // Several at once, so the callbacks of different calls interleave on the one session.
    let many = (0..20).map(|_| sess.call::<_, String>("/ask", &"who?"));
    for r in within(
        "20 calls with callbacks",
        futures_util::future::join_all(many),
    )
    .await
    {
        assert_eq!(r.unwrap(), "hello rusty-san");
    }
    for _ in 0..20 {
        within("pushes", note_rx.recv()).await.unwrap();
    }
    assert_eq!(server.count_sessions(), 1);

    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
