//! `erpc call` and `erpc push`: one message to a peer.

use std::io::Write;
use std::time::{Duration, Instant};

use bytes::Bytes;
use erpc_proto::session::CallOptions;
use erpc_runtime_tokio::{Code, CodecId, Message, PushCtx, Raw, Status};

use crate::body;
use crate::client::{codec_name, parse_addr, Addr, BoxError, ConnectArgs};

/// `erpc call ADDR SERVICE_METHOD [BODY]` and `erpc push ADDR SERVICE_METHOD [BODY]`.
#[derive(clap::Args, Debug, Clone)]
pub(crate) struct CallArgs {
    /// The server: `host:port`, `unix:/path/to.sock`, or a registry
    /// (`etcd://host:port[/namespace]`) to pick a node serving SERVICE_METHOD from.
    #[arg(value_name = "ADDR", value_parser = parse_addr)]
    pub(crate) addr: Addr,
    /// The route, e.g. `/math/add` (may carry a `?query`).
    #[arg(value_name = "SERVICE_METHOD")]
    pub(crate) service_method: String,
    /// The body: JSON text with the default json codec (raw bytes with other codecs),
    /// `@file` to read a file, `-` to read stdin; none: an empty body.
    #[arg(value_name = "BODY", allow_hyphen_values = true)]
    pub(crate) body: Option<String>,
    #[command(flatten)]
    pub(crate) conn: ConnectArgs,
}

/// The body and header of the outgoing message, checked before anything is dialed.
pub(crate) fn build_message(
    mtype: erpc_proto::MessageType,
    service_method: &str,
    body_arg: Option<&str>,
    conn: &ConnectArgs,
) -> Result<Message, BoxError> {
    if service_method.is_empty() {
        return Err("empty SERVICE_METHOD".into());
    }
    if service_method.len() > 255 && matches!(conn.proto, erpc_runtime_tokio::WireProtocol::Raw) {
        return Err(format!(
            "SERVICE_METHOD is {} bytes long; rawproto allows 255",
            service_method.len()
        )
        .into());
    }
    let body: Bytes = body::load(body_arg)?;
    if conn.codec == CodecId::JSON {
        body::check_json(&body)?;
    }
    let mut msg = Message::new(mtype, 0, service_method);
    msg.meta = conn.meta();
    msg.body_codec = conn.codec;
    msg.body = body;
    msg.xfer_pipe = erpc_proto::XferPipe::from_ids(&conn.xfer);
    Ok(msg)
}

/// `5ms`, `1.234s`: a duration for humans.
fn ms(d: Duration) -> String {
    format!("{:.3}ms", d.as_secs_f64() * 1e3)
}

fn xfer_names(ids: &[u8]) -> String {
    let reg = erpc_proto::xfer::XferRegistry::default();
    let names: Vec<String> = ids
        .iter()
        .map(|&id| {
            reg.filter(id)
                .map_or_else(|| format!("{id:#04x}"), |f| f.name().to_owned())
        })
        .collect();
    format!("[{}]", names.join(","))
}

/// One line describing a message header, for `-v`.
/// Outgoing messages (`->`) get their seq when sent, so it is shown for incoming ones only.
pub(crate) fn describe(dir: &str, m: &Message) -> String {
    let seq = if dir == "->" {
        String::new()
    } else {
        format!(" seq={}", m.seq)
    };
    format!(
        "{dir} {}{seq} service_method={:?} codec={} xfer={} meta={:?} body={} bytes",
        m.mtype.name(),
        m.service_method.as_str(),
        codec_name(m.body_codec),
        xfer_names(m.xfer_pipe.ids()),
        m.meta.to_query_string(),
        m.body.len(),
    )
}

/// A push handler that shows unexpected pushes on stderr with `-v` (and ignores them
/// otherwise), so that a server's broadcasts do not disturb a call.
pub(crate) fn stray_pushes(
    verbose: bool,
) -> impl Fn(PushCtx, Raw) -> std::future::Ready<()> + Send + Sync + 'static {
    move |ctx: PushCtx, b: Raw| {
        if verbose {
            eprintln!(
                "<- PUSH {} {} (ignored)",
                ctx.service_method(),
                body::one_line(&b.0)
            );
        }
        std::future::ready(())
    }
}

/// `erpc call`.
pub(crate) fn call(a: CallArgs) -> Result<(), BoxError> {
    let msg = build_message(
        erpc_proto::MessageType::CALL,
        &a.service_method,
        a.body.as_deref(),
        &a.conn,
    )?;
    let c = &a.conn;
    let rt = crate::client::runtime()?;
    let reply = rt.block_on(async {
        let peer = c.peer(&a.addr, |b| b.unknown_push(stray_pushes(c.verbose)))?;
        if let Some(url) = crate::registry::url_of(&a.addr) {
            let opts = if c.timeout.is_zero() {
                CallOptions::no_timeout()
            } else {
                CallOptions::timeout(c.timeout)
            };
            let r = crate::registry::send(&peer, url, msg, Some(opts)).await;
            peer.close().await;
            return r.and_then(|m| m.ok_or_else(|| "no reply".into()));
        }
        let t0 = Instant::now();
        let session = c.dial(&peer, &a.addr).await;
        let session = match session {
            Ok(s) => s,
            Err(e) => {
                peer.close().await;
                return Err(e);
            }
        };
        if c.verbose {
            eprintln!(
                "connected to {} ({}, proto {}) in {}",
                a.addr,
                session.remote_addr(),
                c.proto.as_str(),
                ms(t0.elapsed())
            );
            eprintln!("{}", describe("->", &msg));
        }
        let opts = if c.timeout.is_zero() {
            CallOptions::no_timeout()
        } else {
            CallOptions::timeout(c.timeout)
        };
        let t1 = Instant::now();
        let result = session.call_message(msg, opts).await;
        let elapsed = t1.elapsed();
        let heard = session.stats().bytes_in;
        peer.close().await;
        match result {
            Ok(reply) => {
                if c.verbose {
                    eprintln!("{} status=OK in {}", describe("<-", &reply), ms(elapsed));
                }
                Ok(reply)
            }
            Err(st) => {
                if c.verbose {
                    eprintln!("<- status={st:?} in {}", ms(elapsed));
                }
                Err(call_error(&a.addr, st, c, elapsed, heard))
            }
        }
    })?;
    let out = body::for_stdout(reply.body_codec, &reply.body);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(&out)?;
    stdout.flush()?;
    Ok(())
}

/// The one-line error of a failed call: the status as the peer sent it
/// (`1001 custom error: custom cause`), or a timeout / connection message around it.
///
/// `heard` is how many bytes the server had sent on the connection: none means it dropped the
/// connection before answering anything (often a setting that does not match its own: then
/// the hint), some means the connection worked and was lost while the call was in flight.
fn call_error(addr: &Addr, st: Status, c: &ConnectArgs, elapsed: Duration, heard: u64) -> BoxError {
    if st.code() == Code::HANDLE_TIMEOUT && !c.timeout.is_zero() && elapsed >= c.timeout {
        return format!(
            "timeout: no reply from {addr} within {} ({st})",
            erpc_runtime_tokio::format_go_duration(c.timeout)
        )
        .into();
    }
    if st.code() == Code::CONN_CLOSED {
        // A server with an auth checker answers a first CALL with a 401 AUTH_REPLY (Go does,
        // erpc-rs too), which a session that did not authenticate refuses as a type not
        // allowed. Otherwise the hint only when the server never said a word on the
        // connection: a server that drops every connection at once usually expects other
        // settings.
        let asked_auth = st.cause().is_some_and(|cause| cause.contains("AUTH_REPLY"));
        let hint = if asked_auth && c.auth.is_none() {
            "; the server answered with an auth reply: it needs --auth".to_owned()
        } else if heard == 0 {
            format!("; the server sent nothing on it{}", closed_hint(c))
        } else {
            format!("; the server had sent {heard} bytes on it")
        };
        return format!("connection to {addr} was lost while the call was in flight ({st}){hint}")
            .into();
    }
    st.to_string().into()
}

/// Why a server may drop a connection at once: a setting that does not match its own.
pub(crate) fn closed_hint(c: &ConnectArgs) -> String {
    let mut missing = Vec::new();
    if c.auth.is_none() {
        missing.push("--auth");
    }
    if !(c.tls.tls || c.tls.insecure || c.tls.ca.is_some()) {
        missing.push("--tls");
    }
    missing.push("another --proto");
    format!("; does the server need {}?", missing.join(", "))
}

/// `erpc push`.
pub(crate) fn push(a: CallArgs) -> Result<(), BoxError> {
    if a.conn.proto == erpc_runtime_tokio::WireProtocol::Http {
        return Err("httproto cannot carry a PUSH (Go eRPC refuses it too)".into());
    }
    let msg = build_message(
        erpc_proto::MessageType::PUSH,
        &a.service_method,
        a.body.as_deref(),
        &a.conn,
    )?;
    let c = &a.conn;
    let rt = crate::client::runtime()?;
    rt.block_on(async {
        let peer = c.peer(&a.addr, |b| b.unknown_push(stray_pushes(c.verbose)))?;
        if let Some(url) = crate::registry::url_of(&a.addr) {
            let r = crate::registry::send(&peer, url, msg, None).await;
            peer.close().await;
            return r.map(|_| ());
        }
        let t0 = Instant::now();
        let session = match c.dial(&peer, &a.addr).await {
            Ok(s) => s,
            Err(e) => {
                peer.close().await;
                return Err(e);
            }
        };
        if c.verbose {
            eprintln!(
                "connected to {} ({}, proto {}) in {}",
                a.addr,
                session.remote_addr(),
                c.proto.as_str(),
                ms(t0.elapsed())
            );
            eprintln!("{}", describe("->", &msg));
        }
        let result = session.push_message(msg).await;
        // A graceful close writes what is queued before the connection ends.
        peer.close().await;
        result.map_err(|st| -> BoxError { format!("push to {} failed: {st}", a.addr).into() })?;
        if c.verbose {
            eprintln!("pushed in {}", ms(t0.elapsed()));
        }
        Ok(())
    })
}
