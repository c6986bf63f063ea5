//! The Go README example end to end on real loopback sockets, with ordinary functions as
//! handlers: a call with meta, a push from the server to every session (`range_sessions`),
//! an unknown route.

use crate::common;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use common::{local, within, STEP};
use erpc_runtime_blocking::{builder, CallCtx, Code, PushCtx, Response, Status};

#[test]
fn call_and_push() {
    let authors = Arc::new(Mutex::new(Vec::new()));
    let seen = authors.clone();
    let server = builder(local())
        .call("/math/add", move |ctx: CallCtx, args: Vec<i64>| {
            seen.lock()
                .unwrap()
                .push(ctx.peek_meta("author").map(str::to_owned));
            Ok::<_, Status>(args.iter().sum::<i64>())
        })
        .call("/math/sub", |_ctx: CallCtx, (a, b): (i64, i64)| {
            Ok::<_, Status>(Response::new(a - b).with_meta("served-by", "blocking"))
        })
        .build()
        .unwrap();
    let addr = server.listen().unwrap();

    let (push_tx, push_rx) = mpsc::channel();
    let push_tx = Mutex::new(push_tx);
    let client = builder(common::client())
        .push("/push/status", move |_ctx: PushCtx, msg: String| {
            let _ = push_tx.lock().unwrap().send(msg);
        })
        .build()
        .unwrap();
    let sess = client.dial(&addr).unwrap();
    let reply = sess
        .call_with("/math/add")
        .meta("author", "henrylee2cn")
        .send::<_, i64>(&[1, 2, 3, 4, 5])
        .unwrap();
    assert_eq!(reply.body, 15);
    assert_eq!(
        authors.lock().unwrap().as_slice(),
        &[Some("henrylee2cn".to_owned())]
    );
    let reply = sess
        .call_with("/math/sub")
        .send::<_, i64>(&(10, 4))
        .unwrap();
    assert_eq!(reply.body, 6);
    assert_eq!(reply.meta.peek_str("served-by"), Some("blocking"));

    // Broadcast from the server.
    let mut n = 0;
    server.range_sessions(|s| {
        s.push("/push/status", "this is a broadcast").unwrap();
        n += 1;
        true
    });
    assert_eq!(n, 1);
    assert_eq!(push_rx.recv_timeout(STEP).unwrap(), "this is a broadcast");

    // Unknown route.
    let err = sess.call::<_, i64>("/no/such", &1).unwrap_err();
    assert_eq!(err.code(), Code::NOT_FOUND);

    // Bad arguments are a 400, a panicking handler a 500; the session survives both.
    let err = sess.call::<_, i64>("/math/add", "not numbers").unwrap_err();
    assert_eq!(err.code(), Code::BAD_MESSAGE, "{err}");

    let (s, c) = (server.clone(), client.clone());
    within("closing both peers", move || {
        s.close();
        c.close();
    });
    assert!(sess.is_closed());
}

#[test]
fn panicking_handler_answers_500() {
    let server = builder(local())
        .call("/boom", |_ctx: CallCtx, _: i64| -> Result<i64, Status> {
            panic!("kaboom")
        })
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let sess = client.dial(&addr).unwrap();
    let err = sess.call::<_, i64>("/boom", &1).unwrap_err();
    assert_eq!(err.code(), Code::INTERNAL_SERVER_ERROR);
    assert!(err.cause().unwrap_or("").contains("kaboom"), "{err}");
    common::echo_ok(&sess, 7);
    within("close", move || {
        client.close();
        server.close();
    });
}
