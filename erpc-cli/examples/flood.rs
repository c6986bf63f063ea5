//! A hostile client for measuring a server's memory under flow control: it writes CALLs (or
//! PUSHes) with 16 KiB bodies to an eRPC server as fast as it can and never reads a byte.
//!
//! ```sh
//! cargo run --release -p erpc-cli -- serve --addr 127.0.0.1:9090 --push-interval 0 &
//! cargo run --release -p erpc-cli --example flood -- 127.0.0.1:9090 call 1G
//! grep VmRSS /proc/$(pgrep -f 'erpc serve')/status
//! ```
//!
//! It stops when the total is written or when the server has taken nothing for 3 s (it
//! stopped reading: its TCP window is closed), prints what it wrote, then holds the
//! connection open for `HOLD` seconds (default 5) so the server's memory can be read.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use erpc_proto::proto::{Protocol, RawProto};
use erpc_proto::{CodecId, Message, MessageType, WireConfig};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = args.first().map(String::as_str).unwrap_or("127.0.0.1:9090");
    let push = args.get(1).is_some_and(|k| k == "push");
    let total = args
        .get(2)
        .map(|t| parse_size(t))
        .transpose()?
        .unwrap_or(1 << 30);
    let hold: u64 = std::env::var("HOLD")
        .ok()
        .and_then(|h| h.parse().ok())
        .unwrap_or(5);

    let (mtype, route) = if push {
        (MessageType::PUSH, "/push/echo")
    } else {
        (MessageType::CALL, "/echo/bytes")
    };
    // A batch of frames with distinct seqs, written again and again.
    let mut batch = BytesMut::new();
    for seq in 1..=64 {
        let mut m = Message::new(mtype, seq, route);
        m.body_codec = CodecId::PLAIN;
        m.body = Bytes::from(vec![b'x'; 16 * 1024]);
        RawProto.encode(&m, &WireConfig::default(), &mut batch)?;
    }
    let mut s = TcpStream::connect(addr)?;
    s.set_write_timeout(Some(Duration::from_secs(3)))?;
    let start = Instant::now();
    let mut sent = 0usize;
    while sent < total {
        match s.write_all(&batch) {
            Ok(()) => sent += batch.len(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                println!("the server stopped reading (no progress for 3 s)");
                break;
            }
            Err(e) => {
                println!("write failed: {e}");
                break;
            }
        }
    }
    println!(
        "wrote {} MiB of {} frames in {:.1} s without reading",
        sent >> 20,
        if push { "PUSH" } else { "CALL" },
        start.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(hold));
    Ok(())
}

fn parse_size(t: &str) -> Result<usize, String> {
    let (num, scale) = match t.chars().last() {
        Some('K') => (&t[..t.len() - 1], 1 << 10),
        Some('M') => (&t[..t.len() - 1], 1 << 20),
        Some('G') => (&t[..t.len() - 1], 1 << 30),
        _ => (t, 1),
    };
    num.parse::<usize>()
        .map(|n| n * scale)
        .map_err(|_| format!("invalid size {t:?}"))
}
