//! Flow control on the futures-io adapter: a client that never reads is held back by its own
//! TCP window (checked through the stats API), and host names are looked up without blocking
//! the executor.
#![cfg(feature = "smol")]

use erpc_runtime_async_std::Network;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{CodecId, Message, MessageType, WireConfig};
use erpc_runtime_async_std::{builder_on, AsyncIo, CallCtx, PeerConfig, Raw, Status};
use futures_util::future::{select, Either};
use futures_util::io::AsyncWriteExt;

use crate::common::{echo_ok, eventually, local, within};

const MARK: usize = 1 << 20;

on_every_executor!(
    a_client_that_never_reads_is_held_back,
    a_host_name_is_dialed
);

fn call_frame(body: Bytes) -> BytesMut {
    let mut m = Message::new(MessageType::CALL, 1, "/echo/bytes");
    m.body_codec = CodecId::PLAIN;
    m.body = body;
    let mut out = BytesMut::new();
    RawProto
        .encode(&m, &WireConfig::default(), &mut out)
        .expect("encodes");
    out
}

async fn a_client_that_never_reads_is_held_back(rt: AsyncIo) {
    let server = builder_on(
        rt.clone(),
        PeerConfig {
            max_queued_bytes: MARK,
            max_handlers: 64,
            ..local()
        },
    )
    .call("/echo/bytes", |_ctx: CallCtx, body: Raw| async move {
        Ok::<_, Status>(body)
    })
    .call("/echo", |_ctx: CallCtx, n: i64| async move {
        Ok::<_, Status>(n)
    })
    .build()
    .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let mut hog = async_net::TcpStream::connect(addr.as_str()).await.unwrap();
    let frame = call_frame(Bytes::from(vec![7u8; 16 * 1024]));
    let limit = 256usize << 20;
    let mut sent = 0usize;
    while sent < limit {
        let write = Box::pin(hog.write_all(&frame));
        match select(write, async_io::Timer::after(Duration::from_millis(500))).await {
            Either::Left((Ok(()), _)) => sent += frame.len(),
            _ => break,
        }
    }
    assert!(sent < limit, "the server never stopped reading");
    let st = server.stats();
    assert!(st.queued_bytes <= 2 * MARK + 64 * 17 * 1024, "{st:?}");
    assert!(st.bytes_in < 64 << 20, "{st:?}");
    let client = builder_on(rt, PeerConfig::default()).build().unwrap();
    let good = within("dial", client.dial(&addr)).await.unwrap();
    echo_ok(&good, 1).await;
    drop(hog);
    eventually("hog's session gone", || server.count_sessions() == 1).await;
    eventually("queue freed", || server.stats().queued_bytes == 0).await;
}

async fn a_host_name_is_dialed(rt: AsyncIo) {
    let server = builder_on(rt.clone(), local())
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .build()
        .unwrap();
    let addr = within("listen", server.listen()).await.unwrap();
    let port = addr.rsplit(':').next().unwrap();
    let client = builder_on(
        rt,
        PeerConfig {
            network: Network::Tcp4,
            dial_timeout: Duration::from_secs(5),
            ..PeerConfig::default()
        },
    )
    .build()
    .unwrap();
    let sess = within("dial localhost", client.dial(&format!("localhost:{port}")))
        .await
        .unwrap();
    echo_ok(&sess, 2).await;
}
