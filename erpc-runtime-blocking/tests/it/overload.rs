//! Go's plugin/overloader on the blocking adapter: the connection limit (erpc-peer runs the
//! connection hooks for it too) and a route's QPS limit.

use crate::common;
use common::{echo_ok, eventually, local};
use erpc_runtime_blocking::plugins::{LimitConfig, Overloader};
use erpc_runtime_blocking::{builder, CallCtx, Code, Status};

#[test]
fn connection_and_qps_limits() {
    let overloader =
        Overloader::new(LimitConfig::default().max_conn(1).handler("/echo", 3)).unwrap();
    let handle = overloader.clone();
    let server = builder(local())
        .call("/echo", |_ctx: CallCtx, n: i64| Ok::<_, Status>(n))
        .plugin(overloader)
        .build()
        .unwrap();
    let addr = server.listen().unwrap();
    let cli = builder(common::client()).build().unwrap();
    let first = cli.dial(&addr).unwrap();
    echo_ok(&first, 1);
    assert_eq!(handle.connections(), 1);
    // The second connection is accepted and closed with nothing sent.
    for _ in 0..3 {
        let refused = match cli.dial(&addr) {
            Err(_) => true,
            Ok(extra) => extra
                .call::<_, i64>("/echo", &2)
                .is_err_and(|st| st.code() == Code::CONN_CLOSED),
        };
        assert!(refused);
        assert_eq!(handle.connections(), 1, "a refusal holds no slot");
    }
    // Two more calls fit in the route's bucket of 3, then Go's status.
    echo_ok(&first, 2);
    echo_ok(&first, 3);
    let st = first.call::<_, i64>("/echo", &4).unwrap_err();
    assert_eq!(
        st.to_query_string(),
        "code=500&msg=qps%20overload%2C%20handler_limit%3D3"
    );
    // Closing the first frees its slot.
    first.close();
    eventually("the slot was given back", || handle.connections() == 0);
    let again = cli.dial(&addr).unwrap();
    handle.update(LimitConfig::default().max_conn(1)).unwrap();
    echo_ok(&again, 5);
}
