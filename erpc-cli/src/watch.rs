//! `erpc watch`: dial a peer and print every push it sends, one line each.

use std::io::Write;

use erpc_runtime_tokio::{PushCtx, Raw};
use tokio::sync::mpsc;

use crate::body;
use crate::call::{build_message, describe};
use crate::client::{parse_addr, Addr, BoxError, ConnectArgs};

/// `erpc watch ADDR [SERVICE_METHOD [BODY]]`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct WatchArgs {
    /// The server: `host:port`, or `unix:/path/to.sock`.
    #[arg(value_name = "ADDR", value_parser = parse_addr)]
    addr: Addr,
    /// Once connected, push BODY to this route first (e.g. `/push/echo`, whose answer then
    /// shows up here).
    #[arg(value_name = "SERVICE_METHOD")]
    service_method: Option<String>,
    /// The body of that push (JSON text with the json codec, `@file`, `-` for stdin).
    #[arg(
        value_name = "BODY",
        allow_hyphen_values = true,
        requires = "service_method"
    )]
    body: Option<String>,
    /// Exit after this many pushes (0: run until Ctrl-C or until the server closes).
    #[arg(long, short = 'n', default_value_t = 0)]
    count: u64,
    #[command(flatten)]
    conn: ConnectArgs,
}

/// Pushes received and not yet printed, at most.
const PRINT_QUEUE: usize = 256;

/// One push received.
struct Received {
    service_method: String,
    line: String,
    header: Option<String>,
}

/// `erpc watch`.
pub(crate) fn run(a: WatchArgs) -> Result<(), BoxError> {
    let c = &a.conn;
    let first = match &a.service_method {
        Some(sm) => {
            if c.proto == erpc_runtime_tokio::WireProtocol::Http {
                return Err("httproto cannot carry a PUSH (Go eRPC refuses it too)".into());
            }
            Some(build_message(
                erpc_proto::MessageType::PUSH,
                sm,
                a.body.as_deref(),
                c,
            )?)
        }
        None => None,
    };
    let rt = crate::client::runtime()?;
    rt.block_on(async {
        // Bounded: pushes that arrive faster than they are printed wait in their handlers, so
        // the session's handler limit pauses reading and TCP holds the sender back.
        let (tx, mut rx) = mpsc::channel::<Received>(PRINT_QUEUE);
        let verbose = c.verbose;
        let peer = c.peer(&a.addr, move |b| {
            b.unknown_push(move |ctx: PushCtx, b: Raw| {
                let header = verbose.then(|| {
                    format!(
                        "<- PUSH seq={} codec={} meta={:?} body={} bytes",
                        ctx.seq(),
                        crate::client::codec_name(ctx.body_codec()),
                        ctx.meta().to_query_string(),
                        b.0.len()
                    )
                });
                let r = Received {
                    service_method: ctx.service_method().to_owned(),
                    line: body::one_line(&b.0),
                    header,
                };
                let tx = tx.clone();
                async move {
                    let _ = tx.send(r).await;
                }
            })
        })?;
        let session = match c.dial(&peer, &a.addr).await {
            Ok(s) => s,
            Err(e) => {
                peer.close().await;
                return Err(e);
            }
        };
        if c.verbose {
            eprintln!(
                "watching {} ({}, proto {}); Ctrl-C to stop",
                a.addr,
                session.remote_addr(),
                c.proto.as_str()
            );
        }
        if let Some(msg) = first {
            if c.verbose {
                eprintln!("{}", describe("->", &msg));
            }
            if let Err(st) = session.push_message(msg).await {
                peer.close().await;
                return Err(format!("push to {} failed: {st}", a.addr).into());
            }
        }
        let mut seen = 0u64;
        let result: Result<(), BoxError> = loop {
            tokio::select! {
                got = rx.recv() => {
                    let Some(r) = got else { break Ok(()) };
                    if let Some(h) = r.header {
                        eprintln!("{h}");
                    }
                    let mut out = std::io::stdout().lock();
                    if writeln!(out, "{} {}", r.service_method, r.line).and_then(|()| out.flush()).is_err() {
                        // stdout closed (e.g. `| head`): stop quietly.
                        break Ok(());
                    }
                    seen += 1;
                    if a.count > 0 && seen >= a.count {
                        break Ok(());
                    }
                }
                _ = session.closed() => {
                    // Print what arrived before the close, then report it.
                    while let Ok(r) = rx.try_recv() {
                        println!("{} {}", r.service_method, r.line);
                    }
                    let hint = if seen == 0 { crate::call::closed_hint(c) } else { String::new() };
                    break Err(format!("connection to {} closed by the server{hint}", a.addr).into());
                }
                r = tokio::signal::ctrl_c() => {
                    break r.map_err(Into::into);
                }
            }
        };
        peer.close().await;
        result
    })
}
