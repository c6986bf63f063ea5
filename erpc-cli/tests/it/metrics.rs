//! `erpc serve --metrics ADDR`: the peer's metrics in Prometheus text, scraped over HTTP while
//! calls arrive; the counters move with what was served.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{run, Server};

/// A free loopback port (the exporter binds the address it is given).
fn free_addr() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

/// `GET /metrics` over a plain socket; the body.
fn scrape(addr: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect to the metrics listener");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    text.split_once("\r\n\r\n").expect("a body").1.to_owned()
}

/// The value of the sample `name{labels}` (labels in the exporter's order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(|v| v.trim().parse().expect("a number"))
}

#[test]
fn counters_move_with_the_calls_served() {
    let metrics = free_addr();
    let server = Server::start(&["--push-interval", "0", "--metrics", &metrics]);
    assert!(
        server
            .log()
            .contains(&format!("metrics http://{metrics}/metrics")),
        "{}",
        server.log()
    );
    let add = r#"erpc_calls_served_total{peer="erpc",route="/math/add",code="0"}"#;
    let failed = r#"erpc_calls_served_total{peer="erpc",route="/err/code",code="1001"}"#;
    let add_count = r#"erpc_call_served_seconds_count{peer="erpc",route="/math/add"}"#;

    // Registered at build time: present before any call.
    let before = scrape(&metrics);
    assert_eq!(sample(&before, add), Some(0.0), "{before}");
    assert_eq!(sample(&before, failed), None, "{before}");

    for _ in 0..3 {
        assert_eq!(
            run(&["call", &server.addr, "/math/add", "[1,2,3]"])
                .ok()
                .trim(),
            "6"
        );
    }
    run(&["call", &server.addr, "/err/code", "null"]).error_line();

    let after = scrape(&metrics);
    assert_eq!(sample(&after, add), Some(3.0), "{after}");
    assert_eq!(sample(&after, failed), Some(1.0), "{after}");
    assert_eq!(sample(&after, add_count), Some(3.0), "{after}");
    let bytes_in = sample(&after, r#"erpc_bytes_received_total{peer="erpc"}"#).unwrap();
    let bytes_out = sample(&after, r#"erpc_bytes_sent_total{peer="erpc"}"#).unwrap();
    assert!(bytes_in > 0.0 && bytes_out > 0.0, "{after}");
    // Every handler finished.
    assert_eq!(
        sample(&after, r#"erpc_handlers_running{peer="erpc"}"#),
        Some(0.0),
        "{after}"
    );

    // And they keep moving.
    run(&["call", &server.addr, "/math/add", "[1]"]).ok();
    let later = scrape(&metrics);
    assert_eq!(sample(&later, add), Some(4.0), "{later}");
    let more_in = sample(&later, r#"erpc_bytes_received_total{peer="erpc"}"#).unwrap();
    assert!(more_in > bytes_in, "{later}");
}
