//! `#[service]` (re-exported from erpc-peer) resolves its paths through this crate.
#![cfg(all(feature = "macros", feature = "smol"))]

use crate::common;
use common::{local, within};
use erpc_runtime_async_std::{builder_on, service, AsyncIo, CallCtx, PeerConfig, Status};

struct Math {
    offset: i64,
}

#[service]
impl Math {
    async fn add(&self, _ctx: CallCtx, args: Vec<i64>) -> Result<i64, Status> {
        Ok(args.iter().sum::<i64>() + self.offset)
    }
}

on_every_executor!(methods_become_routes);

async fn methods_become_routes(rt: AsyncIo) {
    let server = builder_on(rt.clone(), local())
        .service(Math { offset: 100 })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let client = builder_on(rt, PeerConfig::default()).build().unwrap();
    let s = within("dial", client.dial(&addr)).await.unwrap();
    let sum: i64 = within("call", s.call("/math/add", &[1, 2, 3]))
        .await
        .unwrap();
    assert_eq!(sum, 106);
    within("client close", client.close()).await;
    within("server close", server.close()).await;
}
