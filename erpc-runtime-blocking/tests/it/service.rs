//! `#[service(blocking)]`: plain methods become routes under the mapper's names, and the typed
//! client calls and pushes them.

use std::sync::mpsc;
use std::sync::Mutex;

use crate::common::{self, local, within};
use erpc_runtime_blocking::{builder, service, CallCtx, Mapper, PushCtx, Response, Status};

struct Counter {
    seen: Mutex<mpsc::Sender<String>>,
}

#[service(blocking)]
impl Counter {
    /// Doubles a number.
    fn double(&self, _ctx: CallCtx, n: i64) -> Result<Response<i64>, Status> {
        Ok(Response::new(n * 2).with_meta("by", "blocking"))
    }

    fn sub_items(&self, _ctx: CallCtx, (a, b): (i64, i64)) -> Result<i64, Status> {
        if b > a {
            return Err(Status::new(1002, "negative", None::<&str>));
        }
        Ok(a - b)
    }

    fn note(&self, _ctx: PushCtx, text: String) {
        let _ = self.seen.lock().unwrap().send(text);
    }

    /// Async: not a handler of a blocking service.
    #[allow(dead_code)]
    async fn ignored(&self) {}
}

#[test]
fn typed_client_over_a_blocking_service() {
    let (tx, rx) = mpsc::channel();
    for mapper in [Mapper::Http, Mapper::Rpc] {
        let mut b = builder(local());
        if mapper == Mapper::Rpc {
            b = b.rpc_mapper();
        }
        let server = b
            .service(Counter {
                seen: Mutex::new(tx.clone()),
            })
            .build()
            .unwrap();
        let addr = server.listen().unwrap();
        let client = builder(common::client()).build().unwrap();
        let sess = client.dial(&addr).unwrap();
        let c = CounterClient::with_mapper(sess.clone(), mapper);
        assert_eq!(c.double(&21).unwrap(), 42);
        assert_eq!(c.sub_items(&(5, 2)).unwrap(), 3);
        assert_eq!(c.sub_items(&(1, 2)).unwrap_err().code().0, 1002);
        c.note(&"hi".to_owned()).unwrap();
        assert_eq!(rx.recv_timeout(common::STEP).unwrap(), "hi", "{mapper:?}");
        let route = if mapper == Mapper::Http {
            "/counter/double"
        } else {
            "Counter.Double"
        };
        assert_eq!(sess.call::<_, i64>(route, &1).unwrap(), 2);
        within("close", move || {
            client.close();
            server.close();
        });
    }
}
