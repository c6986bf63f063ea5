//! Go's `ServeListener` and `ServeConn` on threads: a std TCP listener bound by the
//! application, a TCP connection accepted by it, and any std reader and writer (here the
//! halves of unix socket pairs, read and written only through `Read`/`Write`).

use crate::common;

use common::echo_ok;
use erpc_runtime_blocking::{builder, CallCtx, Peer, PeerConfig, Status};

fn echo_peer(cfg: PeerConfig) -> Peer {
    builder(cfg)
        .call("/echo", |_: CallCtx, n: i64| Ok::<_, Status>(n))
        .call("/len", |_: CallCtx, s: String| Ok::<_, Status>(s.len()))
        .build()
        .unwrap()
}

#[test]
fn a_listener_bound_by_the_application_is_served() {
    let server = echo_peer(common::local());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = server.serve_listener(l).unwrap();
    let client = builder(common::client()).build().unwrap();
    let s = client.dial(&addr).unwrap();
    echo_ok(&s, 5);
    common::close_all(vec![client, server]);
    // Closing the peer closed the listener.
    assert!(
        std::net::TcpStream::connect(&addr).is_err(),
        "the port is free"
    );
}

#[test]
fn a_connection_accepted_by_the_application_is_served_both_ways() {
    let server = echo_peer(common::local());
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let client = echo_peer(common::client());
    let dialed = common::background({
        let client = client.clone();
        move || client.dial(&addr)
    });
    let (accepted, _) = l.accept().unwrap();
    let served = server.serve_conn(accepted).unwrap();
    let to_server = common::wait("dial", &dialed).unwrap();
    echo_ok(&to_server, 6);
    // Peer symmetry: the server calls the client on the session it serves.
    echo_ok(&served, 7);
    assert_eq!(server.count_sessions(), 1);
    common::close_all(vec![client, server]);
}

#[cfg(unix)]
#[test]
fn any_reader_and_writer_are_served_with_large_bodies() {
    use std::os::unix::net::UnixStream;
    let (a, b) = UnixStream::pair().unwrap();
    let (a_read, b_read) = (a.try_clone().unwrap(), b.try_clone().unwrap());
    let left = echo_peer(common::client());
    let right = echo_peer(common::client());
    let l = left.serve_io(a_read, a, "left", "right").unwrap();
    let r = right.serve_io(b_read, b, "right", "left").unwrap();
    echo_ok(&l, 1);
    echo_ok(&r, 2);
    // 3 MiB: far past the writer thread's queue bound, both ways at once.
    let big = "q".repeat(3 << 20);
    let (l2, big2) = (l.clone(), big.clone());
    let one = common::background(move || l2.call::<_, usize>("/len", &big2));
    let n: usize = r.call("/len", &big).unwrap();
    assert_eq!(n, big.len());
    assert_eq!(common::wait("left call", &one).unwrap(), big.len());
    assert_eq!(l.id(), "right");
    common::close_all(vec![left, right]);
}
