//! Embedding the sans-IO core in a hand-written event loop: plain non-blocking std sockets, one
//! thread, no async runtime.
//!
//! A server and a client live in the same loop. The client calls `/math/add` with
//! `[1,2,3,4,5]`; the server answers `15` and pushes `/push/status` to the client; the client
//! closes gracefully once it has both.
//!
//! ```text
//! cargo run -p erpc-proto --example event_loop
//! ```
//!
//! Everything protocol-related (framing, seqs, routing, matching replies, timers) is the
//! `Session`'s; this file only moves bytes and time.
// The example is the I/O around the core, so it uses the clock and sockets the core may not.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::io::{self, ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use erpc_proto::plugin::SessionInfo;
use erpc_proto::router::{Mapper, Router};
use erpc_proto::session::{CallOptions, Event, Reply, Session, SessionConfig};
use erpc_proto::{Message, MessageType};

/// One connection: a socket, its session and the bytes in both directions.
struct Conn {
    stream: TcpStream,
    session: Session,
    rbuf: BytesMut,
    wbuf: BytesMut,
    eof: bool,
}

impl Conn {
    fn new(stream: TcpStream, cfg: SessionConfig, now: Instant) -> io::Result<Conn> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        let info = SessionInfo::new(
            stream.local_addr()?.to_string(),
            Some(stream.peer_addr()?.to_string()),
            cfg.dialed,
        );
        Ok(Conn {
            stream,
            session: Session::new(cfg, info, now),
            rbuf: BytesMut::with_capacity(64 * 1024),
            wbuf: BytesMut::new(),
            eof: false,
        })
    }

    /// Reads what is available, feeds the session, fires due timers, writes what is queued.
    /// Returns whether anything moved.
    fn pump(&mut self, now: Instant) -> io::Result<bool> {
        let mut progress = false;
        if !self.eof {
            let mut chunk = [0u8; 64 * 1024];
            loop {
                match self.stream.read(&mut chunk) {
                    Ok(0) => {
                        self.eof = true;
                        self.session.handle_eof(now);
                        progress = true;
                        break;
                    }
                    Ok(n) => {
                        self.rbuf.extend_from_slice(&chunk[..n]);
                        self.session.handle_input(now, &mut self.rbuf);
                        progress = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => {
                        self.session.handle_transport_error(now, &e);
                        self.eof = true;
                        break;
                    }
                }
            }
        }
        if self.session.poll_timeout().is_some_and(|t| t <= now) {
            self.session.handle_timeout(now);
            progress = true;
        }
        self.session.poll_transmit_into(&mut self.wbuf);
        while !self.wbuf.is_empty() {
            match self.stream.write(&self.wbuf) {
                Ok(n) => {
                    let _ = self.wbuf.split_to(n);
                    progress = true;
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => return Err(e),
            }
        }
        Ok(progress)
    }
}

fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    listener.set_nonblocking(true)?;
    let addr = listener.local_addr()?;
    println!("server listening on {addr}");

    // The server's routes: the core maps names to ids, the loop maps ids to handlers.
    let mut router = Router::new(Mapper::Http);
    let add = router.add_call("/math/add").expect("fresh router");
    let mut server_cfg = SessionConfig::acceptor();
    server_cfg.router = Arc::new(router);

    let mut client_router = Router::new(Mapper::Http);
    client_router
        .add_push("/push/status")
        .expect("fresh router");
    let mut client_cfg = SessionConfig::dialer();
    client_cfg.router = Arc::new(client_router);

    let start = Instant::now();
    let mut client = Conn::new(TcpStream::connect(addr)?, client_cfg, start)?;
    let mut call = Message::new(MessageType::CALL, 0, "/math/add");
    call.meta.add("author", "henrylee2cn");
    call.body = "[1,2,3,4,5]".into();
    let call_id = client
        .session
        .call(start, call, CallOptions::timeout(Duration::from_secs(5)))
        .expect("open session");

    let mut servers: Vec<Conn> = Vec::new();
    let (mut got_reply, mut got_push, mut closing) = (false, false, false);
    loop {
        let now = Instant::now();
        let mut progress = false;
        match listener.accept() {
            Ok((stream, peer)) => {
                println!("server accepted {peer}");
                servers.push(Conn::new(stream, server_cfg.clone(), now)?);
                progress = true;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        for conn in servers.iter_mut() {
            progress |= conn.pump(now)?;
            while let Some(ev) = conn.session.poll_event() {
                match ev {
                    Event::Call(c) if c.route == add => {
                        let nums: Vec<i64> =
                            serde_json::from_slice(&c.message.body).unwrap_or_default();
                        let sum: i64 = nums.iter().sum();
                        println!(
                            "server: {} from author {:?} -> {sum}",
                            c.message.service_method,
                            c.message.meta.peek_str("author")
                        );
                        conn.session
                            .reply(now, c.token, Reply::ok(sum.to_string()))
                            .expect("in flight");
                        let mut push = Message::new(MessageType::PUSH, 0, "/push/status");
                        push.body = "\"this is a push from the server\"".into();
                        conn.session.push(now, push).expect("open session");
                    }
                    Event::Closed(reason) => println!("server: session closed ({reason})"),
                    other => println!("server: {other:?}"),
                }
            }
            progress |= conn.pump(now)?;
        }
        servers.retain(|c| !(c.session.is_closed() && c.wbuf.is_empty()));

        progress |= client.pump(now)?;
        while let Some(ev) = client.session.poll_event() {
            match ev {
                Event::CallDone(d) if d.id == call_id => {
                    match d.result {
                        Ok(reply) => println!(
                            "client: reply {} in {:?}",
                            String::from_utf8_lossy(&reply.body),
                            d.elapsed
                        ),
                        Err(status) => println!("client: call failed: {status}"),
                    }
                    got_reply = true;
                }
                Event::Push(p) => {
                    println!(
                        "client: push {} {}",
                        p.message.service_method,
                        String::from_utf8_lossy(&p.message.body)
                    );
                    got_push = true;
                }
                Event::Closed(reason) => {
                    println!("client: session closed ({reason})");
                    client.stream.shutdown(std::net::Shutdown::Both)?;
                    return Ok(());
                }
                other => println!("client: {other:?}"),
            }
        }
        if got_reply && got_push && !closing {
            client.session.close(now, Some(Duration::from_secs(1)));
            closing = true;
            progress = true;
        }
        if now.duration_since(start) > Duration::from_secs(10) {
            return Err(io::Error::new(
                ErrorKind::TimedOut,
                "the exchange did not finish",
            ));
        }
        if !progress {
            // A real loop would block in epoll/kqueue until a socket is ready or the earliest
            // `poll_timeout` of its sessions; std has no readiness API, so nap briefly.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
