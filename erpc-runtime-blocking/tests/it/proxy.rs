//! Go's plugin/proxy on the blocking adapter: a blocking front forwards what it does not
//! serve to a blocking upstream, over real loopback sockets.

use crate::common;
use common::{local, within};
use erpc_runtime_blocking::plugins::{Proxy, Upstream, REAL_IP_META_KEY};
use erpc_runtime_blocking::{builder, CallCtx, Code, Raw, Status};

#[test]
fn a_blocking_front_forwards_calls_and_answers_bad_gateway() {
    let up = builder(local())
        .call("/up/ip", |ctx: CallCtx, _: Raw| {
            Ok::<_, Status>(ctx.peek_meta(REAL_IP_META_KEY).unwrap_or("").to_owned())
        })
        .build()
        .unwrap();
    let up_addr = up.listen().unwrap();
    let dialer = builder(common::client()).build().unwrap();
    let front = builder(local())
        .call("/own", |_: CallCtx, _: Raw| Ok::<_, Status>("front"))
        .proxy(Proxy::new(Upstream::new(
            dialer.as_async().clone(),
            up_addr,
        )))
        .build()
        .unwrap();
    let front_addr = front.listen().unwrap();
    let client = builder(common::client()).build().unwrap();
    let s = client.dial(&front_addr).unwrap();
    let s2 = s.clone();
    let (own, ip, nf) = within("calls", move || {
        (
            s2.call::<_, String>("/own", &()),
            s2.call::<_, String>("/up/ip", &()),
            s2.call::<_, Raw>("/nope", &()),
        )
    });
    assert_eq!(own.unwrap(), "front");
    assert_eq!(ip.unwrap(), s.local_addr());
    assert_eq!(
        nf.unwrap_err().to_query_string(),
        "code=404&msg=Not%20Found&cause="
    );
    up.close();
    let st = s.call::<_, Raw>("/up/ip", &()).unwrap_err();
    assert_eq!(st.code(), Code::BAD_GATEWAY, "{st}");
}
