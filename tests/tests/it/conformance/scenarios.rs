//! The scenarios, each written once as a plain function of a [`Pair`] (a server runtime and a
//! client runtime) and instantiated for every pair by the tables in `main.rs`.

use erpc_peer::Network;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use erpc_peer::{Code, PeerConfig, Status};

use crate::conformance::facade::{
    nums, text, Client, ClientOpts, Conn, Nums, Runtime, Server, ServerOpts, Sum, ADD, BYTES, ECHO,
    ECHO_BACK, ERR, NOTE, RAW_ECHO, SLOW, STEP,
};

/// A server runtime and a client runtime, and the label every failure message carries.
pub(crate) struct Pair<'a> {
    server: &'a dyn Runtime,
    client: &'a dyn Runtime,
    label: String,
}

/// Runs `scenario` for `server` × `client`.
pub(crate) fn run(server: &dyn Runtime, client: &dyn Runtime, name: &str, scenario: fn(&Pair<'_>)) {
    let pair = Pair {
        server,
        client,
        label: format!(
            "[{} server × {} client] {name}",
            server.name(),
            client.name()
        ),
    };
    scenario(&pair);
}

/// A server config on loopback, with a free port and a short graceful-close budget.
pub(crate) fn server_config() -> PeerConfig {
    PeerConfig {
        local_ip: "127.0.0.1".into(),
        shutdown_timeout: Duration::from_secs(2),
        ..PeerConfig::default()
    }
}

/// A client config whose dials and calls give up after [`STEP`].
pub(crate) fn client_config() -> PeerConfig {
    PeerConfig {
        dial_timeout: STEP,
        call_timeout: STEP,
        shutdown_timeout: Duration::from_secs(2),
        ..PeerConfig::default()
    }
}

pub(crate) fn plain_server() -> ServerOpts {
    ServerOpts {
        config: server_config(),
        tls: None,
    }
}

pub(crate) fn plain_client() -> ClientOpts {
    ClientOpts {
        config: client_config(),
        tls: None,
    }
}

impl Pair<'_> {
    pub(crate) fn label(&self) -> &str {
        &self.label
    }

    pub(crate) fn server_name(&self) -> &'static str {
        self.server.name()
    }

    pub(crate) fn client_name(&self) -> &'static str {
        self.client.name()
    }

    pub(crate) fn start_server(&self, opts: ServerOpts) -> Box<dyn Server> {
        self.server
            .server(opts)
            .unwrap_or_else(|e| panic!("{}: the server did not start: {e}", self.label))
    }

    pub(crate) fn start_client(&self, opts: ClientOpts) -> Box<dyn Client> {
        self.client
            .client(opts)
            .unwrap_or_else(|e| panic!("{}: the client did not build: {e}", self.label))
    }

    pub(crate) fn dial(&self, client: &dyn Client, addr: &str) -> Box<dyn Conn> {
        client
            .dial(addr)
            .unwrap_or_else(|e| panic!("{}: dial {addr}: {e}", self.label))
    }

    /// A plain server, a plain client and one session between them.
    pub(crate) fn connected(&self) -> (Box<dyn Server>, Box<dyn Client>, Box<dyn Conn>) {
        self.connect(plain_server(), plain_client())
    }

    pub(crate) fn connect(
        &self,
        s: ServerOpts,
        c: ClientOpts,
    ) -> (Box<dyn Server>, Box<dyn Client>, Box<dyn Conn>) {
        let server = self.start_server(s);
        let client = self.start_client(c);
        let conn = self.dial(&*client, server.addr());
        (server, client, conn)
    }

    /// `conn` answers `/math/add`.
    pub(crate) fn add_ok(&self, conn: &dyn Conn, what: &str, args: &[i64]) {
        let want: i64 = args.iter().sum();
        match conn.call(ADD, &nums(args), None) {
            Ok(got) => assert_eq!(got.sum, want, "{}: {what}", self.label),
            Err(e) => panic!("{}: {what}: call failed: {e}", self.label),
        }
    }

    /// `r` failed with `code`.
    pub(crate) fn expect_code<T: std::fmt::Debug>(
        &self,
        what: &str,
        r: Result<T, Status>,
        code: Code,
    ) -> Status {
        match r {
            Ok(v) => panic!(
                "{}: {what}: expected status {code}, got Ok({v:?})",
                self.label
            ),
            Err(e) => {
                assert_eq!(e.code(), code, "{}: {what}: {e}", self.label);
                e
            }
        }
    }

    /// Polls `cond` every 2 ms until it holds; fails after [`STEP`].
    pub(crate) fn eventually(&self, what: &str, mut cond: impl FnMut() -> bool) {
        let end = Instant::now() + STEP;
        while !cond() {
            assert!(
                Instant::now() < end,
                "{}: timed out after {STEP:?}: {what}",
                self.label
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Closes both peers (client first), failing if either hangs.
    pub(crate) fn shutdown(&self, client: Box<dyn Client>, server: Box<dyn Server>) {
        within(&self.label, "close the client and the server", move || {
            client.close();
            server.close();
        });
    }

    /// The push `(route, text)` the client received next.
    pub(crate) fn client_got(&self, client: &dyn Client, route: &str, body: &str) {
        let got = client.inbox().pushes.take(STEP);
        assert_eq!(
            got,
            Some((route.to_owned(), body.to_owned())),
            "{}: push the client received",
            self.label
        );
    }

    /// The text the server's `/push/echo` handler received next.
    pub(crate) fn server_got(&self, server: &dyn Server, body: &str) {
        let got = server.probe().pushes.take(STEP);
        assert_eq!(
            got.as_deref(),
            Some(body),
            "{}: push the server received",
            self.label
        );
    }

    /// A client push to the server, echoed back; then a push the server starts.
    pub(crate) fn pushes_both_ways(
        &self,
        server: &dyn Server,
        client: &dyn Client,
        conn: &dyn Conn,
    ) {
        if let Err(e) = conn.push(ECHO, &text("ping")) {
            panic!("{}: client push: {e}", self.label);
        }
        self.server_got(server, "ping");
        self.client_got(client, ECHO_BACK, "ping");
        let sent = server.push_all(NOTE, &text("hello"));
        assert_eq!(sent.len(), 1, "{}: server sessions", self.label);
        if let Err(e) = &sent[0] {
            panic!("{}: server push: {e}", self.label);
        }
        self.client_got(client, NOTE, "hello");
    }
}

/// Runs `f` on its own thread and fails the test if it takes longer than [`STEP`].
pub(crate) fn within<T: Send + 'static>(
    label: &str,
    what: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(STEP)
        .unwrap_or_else(|_| panic!("{label}: timed out after {STEP:?}: {what}"))
}

fn port_of(addr: &str) -> u16 {
    addr.rsplit(':').next().unwrap().parse().unwrap()
}

// ---- scenarios ---------------------------------------------------------------------------

/// A call and its reply.
pub(crate) fn call(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    p.add_ok(&*conn, "add 1..5", &[1, 2, 3, 4, 5]);
    p.add_ok(&*conn, "add nothing", &[]);
    p.add_ok(&*conn, "add negatives", &[-7, 3]);
    p.shutdown(client, server);
}

/// Client → server push (echoed back over the same session), and server → client push.
pub(crate) fn push(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    p.pushes_both_ways(&*server, &*client, &*conn);
    p.shutdown(client, server);
}

/// 1,000 calls in flight at once on one session, each answered correctly.
pub(crate) fn concurrent_calls(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    let args: Vec<Nums> = (0..1000).map(|i| nums(&[i, 1])).collect();
    let results = conn.call_many(ADD, args);
    assert_eq!(results.len(), 1000, "{}", p.label());
    let wrong: Vec<String> = results
        .iter()
        .enumerate()
        .filter(|(i, r)| r.as_ref().map(|s| s.sum) != Ok(*i as i64 + 1))
        .take(5)
        .map(|(i, r)| format!("#{i}: {r:?}"))
        .collect();
    assert!(wrong.is_empty(), "{}: wrong answers: {wrong:?}", p.label());
    p.shutdown(client, server);
}

/// A handler's error status reaches the caller whole: code, message and cause.
pub(crate) fn error_status(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    let e = p.expect_code("error call", conn.call(ERR, &nums(&[1]), None), Code(1001));
    assert_eq!(e.msg(), "custom error", "{}", p.label());
    assert_eq!(e.cause(), Some("custom cause"), "{}", p.label());
    p.add_ok(&*conn, "call after an error", &[1, 2]);
    p.shutdown(client, server);
}

/// A call to a route nobody registered: 404, and the session carries on.
pub(crate) fn unknown_route(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    p.expect_code(
        "call to an unknown route",
        conn.call("/no/such", &nums(&[1]), None),
        Code::NOT_FOUND,
    );
    p.add_ok(&*conn, "call after a 404", &[1, 2]);
    p.shutdown(client, server);
}

/// A slow handler and a short call timeout: 408 for the caller; the late reply is dropped
/// and the session carries on.
pub(crate) fn deadline(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    let started = Instant::now();
    p.expect_code(
        "call with a 100 ms timeout to a handler that waits",
        conn.call(SLOW, &nums(&[1]), Some(Duration::from_millis(100))),
        Code::HANDLE_TIMEOUT,
    );
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(5),
        "{}: the 100 ms deadline took {took:?}",
        p.label()
    );
    assert_eq!(
        server.probe().entered.take(STEP),
        Some(1),
        "{}: the slow handler ran",
        p.label()
    );
    // The handler answers now; the caller has gone, so the reply is dropped.
    server.probe().gate.open();
    p.add_ok(&*conn, "call after a timed-out call", &[1, 2]);
    p.shutdown(client, server);
}

/// Closing the server lets the call in flight finish, stops accepting, and then closes the
/// session.
pub(crate) fn graceful_close(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    let addr: SocketAddr = server.addr().parse().unwrap();
    std::thread::scope(|s| {
        let in_flight = s.spawn(|| conn.call(SLOW, &nums(&[7, 8]), None));
        assert_eq!(
            server.probe().entered.take(STEP),
            Some(7),
            "{}: the slow handler started",
            p.label()
        );
        let closer = s.spawn(|| server.close());
        p.eventually("close has started", || server.is_closing());
        p.eventually("the closing server stops accepting", || {
            TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err()
        });
        if in_flight.is_finished() {
            panic!(
                "{}: the call in flight ended before its handler answered: {:?}",
                p.label(),
                in_flight.join()
            );
        }
        server.probe().gate.open();
        p.eventually("the call in flight completes", || in_flight.is_finished());
        match in_flight.join().unwrap() {
            Ok(sum) => assert_eq!(sum, Sum { sum: 15 }, "{}", p.label()),
            Err(e) => panic!("{}: the call in flight failed: {e}", p.label()),
        }
        p.eventually("server close returns", || closer.is_finished());
    });
    assert!(
        conn.wait_closed(STEP),
        "{}: the client session closes after the server did",
        p.label()
    );
    p.expect_code(
        "call on the closed session",
        conn.call(ADD, &nums(&[1]), None),
        Code::CONN_CLOSED,
    );
    p.expect_code(
        "dial the closed server",
        client.dial(server.addr()).map(|_| ()),
        Code::DIAL_FAILED,
    );
    p.shutdown(client, server);
}

/// Closing the client peer while its own call is in flight: new calls are refused, the call
/// in flight still gets its reply (a graceful close lets calls finish in both directions).
pub(crate) fn graceful_close_by_client(p: &Pair<'_>) {
    let (server, client, conn) = p.connected();
    std::thread::scope(|s| {
        let in_flight = s.spawn(|| conn.call(SLOW, &nums(&[3, 4]), None));
        assert_eq!(
            server.probe().entered.take(STEP),
            Some(3),
            "{}: the slow handler started",
            p.label()
        );
        let closer = s.spawn(|| client.close());
        let mut refused = None;
        p.eventually("the closing session refuses new calls", || {
            refused = conn
                .call(ADD, &nums(&[1]), Some(Duration::from_secs(1)))
                .err();
            refused.is_some()
        });
        p.expect_code(
            "a call on the closing session",
            Err::<(), _>(refused.unwrap()),
            Code::CONN_CLOSED,
        );
        if in_flight.is_finished() {
            panic!(
                "{}: the call in flight ended before its handler answered: {:?}",
                p.label(),
                in_flight.join()
            );
        }
        server.probe().gate.open();
        p.eventually("the call in flight completes", || in_flight.is_finished());
        match in_flight.join().unwrap() {
            Ok(sum) => assert_eq!(sum, Sum { sum: 7 }, "{}", p.label()),
            Err(e) => panic!("{}: the call in flight failed: {e}", p.label()),
        }
        p.eventually("client close returns", || closer.is_finished());
    });
    assert!(conn.is_closed(), "{}: the session is closed", p.label());
    p.eventually("the server lets go of the session", || {
        server.count_sessions() == 0
    });
    p.shutdown(client, server);
}

/// The server restarts on the same port; the client's session redials behind the same
/// handle and works again.
pub(crate) fn redial(p: &Pair<'_>) {
    let first = p.start_server(plain_server());
    let addr = first.addr().to_owned();
    let port = port_of(&addr);
    let client = p.start_client(ClientOpts {
        config: PeerConfig {
            redial_times: 250,
            redial_interval: Duration::from_millis(20),
            ..client_config()
        },
        tls: None,
    });
    let conn = p.dial(&*client, &addr);
    p.add_ok(&*conn, "call before the restart", &[1, 1]);

    let label = p.label().to_owned();
    within(&label, "first server close", move || first.close());
    let second = p.start_server(ServerOpts {
        config: PeerConfig {
            listen_port: port,
            ..server_config()
        },
        tls: None,
    });
    assert_eq!(port_of(second.addr()), port, "{}", p.label());

    let end = Instant::now() + STEP;
    let mut errors = Vec::new();
    loop {
        match conn.call(ADD, &nums(&[2, 3]), Some(Duration::from_secs(1))) {
            Ok(s) => {
                assert_eq!(s.sum, 5, "{}", p.label());
                break;
            }
            Err(e) => {
                // Calls racing the break fail with 102; calls held while redialing may time out.
                assert!(
                    matches!(e.code(), Code::CONN_CLOSED | Code::HANDLE_TIMEOUT),
                    "{}: call while redialing: {e}",
                    p.label()
                );
                errors.push(e.to_string());
            }
        }
        assert!(
            Instant::now() < end,
            "{}: no successful call within {STEP:?} of the restart: {errors:?}",
            p.label()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!conn.is_closed(), "{}: the handle is open", p.label());
    p.add_ok(&*conn, "second call after the redial", &[4, 5]);
    p.eventually("the new server has the session", || {
        second.count_sessions() == 1
    });
    p.shutdown(client, second);
}

/// TLS with a self-signed certificate the client trusts: calls (one body across many TLS
/// records) and pushes both ways.
pub(crate) fn tls(p: &Pair<'_>) {
    use erpc_peer::tls::{client_config_trusting, self_signed_server};
    let (server_tls, cert) = self_signed_server(&["localhost"]).unwrap();
    let client_tls = client_config_trusting(&[cert]).unwrap();
    let (server, client, conn) = p.connect(
        ServerOpts {
            config: server_config(),
            tls: Some(server_tls),
        },
        ClientOpts {
            config: client_config(),
            tls: Some((client_tls, "localhost".into())),
        },
    );
    p.add_ok(&*conn, "call over TLS", &[20, 22]);
    let n = conn
        .call_bytes(BYTES, vec![9u8; 200_000])
        .unwrap_or_else(|e| panic!("{}: 200 KB call over TLS: {e}", p.label()));
    assert_eq!(n, 200_000, "{}", p.label());
    p.pushes_both_ways(&*server, &*client, &*conn);
    p.shutdown(client, server);
}

fn socket_path(p: &Pair<'_>) -> PathBuf {
    // A file in the temp dir itself (no directory to leave behind); the server removes it
    // when it closes.
    let path = std::env::temp_dir().join(format!(
        "erpc-conformance-{}-{}-{}.sock",
        std::process::id(),
        p.server.name(),
        p.client.name()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// Unix-domain sockets: listen on a path, dial the path, call and push both ways; the socket
/// file goes away when the server closes.
pub(crate) fn unix(p: &Pair<'_>) {
    let path = socket_path(p);
    let (server, client, conn) = p.connect(
        ServerOpts {
            config: PeerConfig {
                network: Network::Unix,
                local_ip: path.display().to_string(),
                ..server_config()
            },
            tls: None,
        },
        ClientOpts {
            config: PeerConfig {
                network: Network::Unix,
                ..client_config()
            },
            tls: None,
        },
    );
    assert_eq!(server.addr(), path.display().to_string(), "{}", p.label());
    p.add_ok(&*conn, "call over a unix socket", &[1, 2, 3]);
    p.pushes_both_ways(&*server, &*client, &*conn);
    p.shutdown(client, server);
    assert!(
        !path.exists(),
        "{}: the socket file is removed when the server closes",
        p.label()
    );
    // The last unix scenario to finish removes the directory.
    if let Some(dir) = path.parent() {
        let _ = std::fs::remove_dir(dir);
    }
}

/// A frame above the server's `max_message_size` closes that session only; the server keeps
/// serving the others and new ones.
pub(crate) fn oversized_frame(p: &Pair<'_>) {
    let (server, client, victim) = p.connect(
        ServerOpts {
            config: PeerConfig {
                max_message_size: 4096,
                ..server_config()
            },
            tls: None,
        },
        plain_client(),
    );
    let bystander = p.dial(&*client, server.addr());
    p.add_ok(&*victim, "victim before", &[1]);
    p.add_ok(&*bystander, "bystander before", &[2]);
    let n = victim
        .call_bytes(BYTES, vec![7u8; 1000])
        .unwrap_or_else(|e| panic!("{}: 1 KB call: {e}", p.label()));
    assert_eq!(n, 1000, "{}", p.label());

    p.expect_code(
        "10 KB call to a server that accepts 4 KB",
        victim.call_bytes(BYTES, vec![7u8; 10 * 1024]),
        Code::CONN_CLOSED,
    );
    assert!(
        victim.wait_closed(STEP),
        "{}: the session that sent the oversized frame closes",
        p.label()
    );
    p.expect_code(
        "call on the closed session",
        victim.call(ADD, &nums(&[3]), None),
        Code::CONN_CLOSED,
    );

    p.add_ok(&*bystander, "the other session still works", &[4]);
    p.eventually("the server dropped the victim only", || {
        server.count_sessions() == 1
    });
    let fresh = p.dial(&*client, server.addr());
    p.add_ok(&*fresh, "a new session works", &[5]);
    p.shutdown(client, server);
}

/// Bytes that look like nothing eRPC knows, deterministic.
fn noise(len: usize, mut seed: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as u8
        })
        .collect()
}

/// Garbage written on raw TCP connections: the server drops each such connection without
/// answering and keeps serving its real clients.
pub(crate) fn garbage_input(p: &Pair<'_>) {
    let (server, client, good) = p.connected();
    p.add_ok(&*good, "before the garbage", &[1]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // Its first four bytes announce a frame above the 1 GiB limit.
        (
            "an HTTP request",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
        ),
        ("a small frame of nonsense", {
            let mut v = vec![0, 0, 0, 40];
            v.extend(noise(40, 7));
            v
        }),
        (
            "a header longer than its frame",
            vec![0, 0, 0, 6, 0, 1, b'1', 1, 0xff, 0xff],
        ),
        ("64 KB of random bytes", noise(64 * 1024, 99)),
        ("a zero-length frame", vec![0, 0, 0, 0]),
    ];
    for (what, bytes) in cases {
        let mut s = TcpStream::connect(server.addr())
            .unwrap_or_else(|e| panic!("{}: raw connect: {e}", p.label()));
        s.set_read_timeout(Some(STEP)).unwrap();
        // The server may hang up part-way through a large write.
        let _ = s.write_all(&bytes);
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    panic!(
                        "{}: {what}: the server kept the connection open for {STEP:?}",
                        p.label()
                    )
                }
                Err(_) => break, // reset
            }
        }
        assert!(
            got.is_empty(),
            "{}: {what}: the server answered garbage with {got:02x?}",
            p.label()
        );
        p.add_ok(&*good, what, &[2]);
    }
    p.eventually("only the good session is left", || {
        server.count_sessions() == 1
    });
    let again = p.dial(&*client, server.addr());
    p.add_ok(&*again, "a new session after the garbage", &[3]);
    p.shutdown(client, server);
}

/// Both sides push more than the other reads, at the same moment, through 64 KiB socket
/// buffers and a 256 KiB output mark: the client pushes 16 texts of 512 KiB to `/push/echo`
/// while the server's handler pushes each one back. Each side goes on handling (and so
/// reading) what the other sends while its own pushes wait for room, so every push arrives,
/// both ways.
pub(crate) fn push_floods_both_ways(p: &Pair<'_>) {
    const PUSHES: usize = 16;
    let small = |config: PeerConfig| PeerConfig {
        read_buffer: 64 << 10,
        write_buffer: 64 << 10,
        max_queued_bytes: 256 << 10,
        ..config
    };
    let (server, client, conn) = p.connect(
        ServerOpts {
            config: small(server_config()),
            tls: None,
        },
        ClientOpts {
            config: small(client_config()),
            tls: None,
        },
    );
    let body = "x".repeat(512 << 10);
    let sent = {
        let body = body.clone();
        within(p.label(), "push 8 MiB", move || {
            for i in 0..PUSHES {
                if let Err(e) = conn.push(ECHO, &text(&body)) {
                    return (conn, Err(format!("push {i}: {e}")));
                }
            }
            (conn, Ok(()))
        })
    };
    let (conn, pushed) = sent;
    if let Err(e) = pushed {
        panic!("{}: {e}", p.label());
    }
    for i in 0..PUSHES {
        let got = server.probe().pushes.take(STEP).map(|t| t.len());
        assert_eq!(
            got,
            Some(body.len()),
            "{}: the server's push {i}",
            p.label()
        );
        let got = client.inbox().pushes.take(STEP);
        let got = got.map(|(route, t)| (route, t.len()));
        assert_eq!(
            got,
            Some((ECHO_BACK.to_owned(), body.len())),
            "{}: the echo {i}",
            p.label()
        );
    }
    drop(conn);
    p.shutdown(client, server);
}

/// A raw client writes 16 KiB CALLs as fast as it can and never reads: the server stops
/// reading (its TCP window closes), its queue stays within its marks, it keeps serving
/// others, and it frees everything when that client goes.
pub(crate) fn never_reading_client(p: &Pair<'_>) {
    const MARK: usize = 1 << 20;
    let (server, client, good) = p.connect(
        ServerOpts {
            config: PeerConfig {
                max_queued_bytes: MARK,
                max_handlers: 64,
                ..server_config()
            },
            tls: None,
        },
        plain_client(),
    );
    let mut frame = bytes::BytesMut::new();
    for seq in 1..=16 {
        let mut m = erpc_proto::Message::new(erpc_proto::MessageType::CALL, seq, RAW_ECHO);
        m.body_codec = erpc_proto::CodecId::PLAIN;
        m.body = bytes::Bytes::from(vec![9u8; 16 * 1024]);
        erpc_proto::proto::Protocol::encode(
            &erpc_proto::proto::RawProto,
            &m,
            &erpc_proto::WireConfig::default(),
            &mut frame,
        )
        .unwrap();
    }
    let mut hog = TcpStream::connect(server.addr()).unwrap();
    hog.set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let limit = 256usize << 20;
    let mut sent = 0;
    while sent < limit {
        match hog.write_all(&frame) {
            Ok(()) => sent += frame.len(),
            Err(_) => break,
        }
    }
    assert!(
        sent < limit,
        "{}: the server never stopped reading",
        p.label()
    );
    let st = server.stats();
    assert!(
        st.queued_bytes <= 2 * MARK + 64 * 17 * 1024,
        "{}: the server queued too much: {st:?}",
        p.label()
    );
    assert!(st.bytes_in < 64 << 20, "{}: {st:?}", p.label());
    p.add_ok(&*good, "another client is served meanwhile", &[1, 2]);
    drop(hog);
    p.eventually("the hog's session is gone", || server.count_sessions() == 1);
    p.eventually("its queue is freed", || server.stats().queued_bytes == 0);
    p.shutdown(client, server);
}

/// A call that timed out (408) while its session was redialing is never sent after the
/// reconnect.
pub(crate) fn timed_out_during_redial_never_runs(p: &Pair<'_>) {
    let first = p.start_server(plain_server());
    let addr = first.addr().to_owned();
    let port = port_of(&addr);
    let client = p.start_client(ClientOpts {
        config: PeerConfig {
            redial_times: -1,
            redial_interval: Duration::from_millis(50),
            ..client_config()
        },
        tls: None,
    });
    let conn = p.dial(&*client, &addr);
    p.add_ok(&*conn, "call before the restart", &[1, 1]);
    let label = p.label().to_owned();
    within(&label, "first server close", move || first.close());
    // No server now: the session redials; the call gives up at its deadline.
    let mut timed_out = false;
    for _ in 0..50 {
        match conn.call(SLOW, &nums(&[42]), Some(Duration::from_millis(200))) {
            Err(e) if e.code() == Code::HANDLE_TIMEOUT => {
                timed_out = true;
                break;
            }
            Err(e) if e.code() == Code::CONN_CLOSED => continue,
            other => panic!("{}: call while redialing: {other:?}", p.label()),
        }
    }
    assert!(
        timed_out,
        "{}: no call timed out while redialing",
        p.label()
    );
    let second = p.start_server(ServerOpts {
        config: PeerConfig {
            listen_port: port,
            ..server_config()
        },
        tls: None,
    });
    second.probe().gate.open();
    p.eventually("the session is back", || {
        conn.call(ADD, &nums(&[2]), Some(Duration::from_millis(500)))
            .is_ok()
    });
    assert_eq!(
        second.probe().entered.take(Duration::from_millis(300)),
        None,
        "{}: the timed-out call ran after the reconnect",
        p.label()
    );
    p.shutdown(client, second);
}

/// `close` on the client peer while its dial is stuck in a TLS handshake that never
/// completes: the dial fails and `close` returns, without waiting for any timeout.
pub(crate) fn close_during_a_stuck_dial(p: &Pair<'_>) {
    use erpc_peer::tls::dangerous_client_config_skip_verify;
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let client = p.start_client(ClientOpts {
        config: PeerConfig {
            dial_timeout: Duration::ZERO,
            ..client_config()
        },
        tls: Some((
            dangerous_client_config_skip_verify().unwrap(),
            "localhost".into(),
        )),
    });
    std::thread::scope(|s| {
        let dial = s.spawn(|| client.dial(&addr).map(|_| ()));
        // The connection is accepted and then nothing is said on it.
        let (_held, _) = silent.accept().unwrap();
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !dial.is_finished(),
            "{}: the dial did not get stuck",
            p.label()
        );
        let closer = s.spawn(|| client.close());
        p.eventually("the stuck dial ends", || dial.is_finished());
        p.expect_code("the stuck dial", dial.join().unwrap(), Code::DIAL_FAILED);
        p.eventually("close returns", || closer.is_finished());
    });
}
