//! The `ws` network (feature `ws`): peers over websocket on loopback with each sub-protocol,
//! and a plain websocket client against the listener (framing, text, path, token).

use erpc_runtime_tokio::Network;
use std::time::Duration;

use crate::common::{within, within_for};
use erpc_runtime_tokio::{builder, CallCtx, Code, Peer, PeerConfig, Status};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message as WsMessage;

fn ws_config(sub: &str) -> PeerConfig {
    PeerConfig {
        network: Network::Ws,
        local_ip: "127.0.0.1".into(),
        ws_subproto: sub.parse().expect("a ws sub-protocol"),
        ws_path: "/ws".into(),
        ..PeerConfig::default()
    }
}

fn server(cfg: PeerConfig) -> Peer {
    builder(cfg)
        .call("/echo", |_ctx: CallCtx, n: i64| async move {
            Ok::<_, Status>(n)
        })
        .call("/echo/string", |_ctx: CallCtx, s: String| async move {
            Ok::<_, Status>(s)
        })
        .call("/err/code", |_ctx: CallCtx, _: i64| async move {
            Err::<i64, _>(Status::new(
                Code(1001),
                "custom error",
                Some("custom cause"),
            ))
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn calls_errors_and_a_large_body_with_every_sub_protocol() {
    for sub in ["json", "pb", "proto"] {
        let server = server(ws_config(sub));
        let addr = server.listen().await.unwrap();
        let client = builder(ws_config(sub)).build().unwrap();
        let sess = within("dial", client.dial(&addr)).await.unwrap();
        let calls = (0..50).map(|n| {
            let sess = sess.clone();
            async move { sess.call::<_, i64>("/echo", &n).await }
        });
        let got = within("50 concurrent calls", futures_util::future::join_all(calls)).await;
        assert!(
            got.iter()
                .enumerate()
                .all(|(n, r)| r.as_ref().ok() == Some(&(n as i64))),
            "{sub}: {got:?}"
        );
        // The status travels between erpc-rs peers (an extension Go ignores on json/pb).
        let err = within("error call", sess.call::<_, i64>("/err/code", &0))
            .await
            .unwrap_err();
        assert_eq!(
            (err.code(), err.msg()),
            (Code(1001), "custom error"),
            "{sub}"
        );
        let missing = within("404", sess.call::<_, i64>("/no/such", &0))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NOT_FOUND, "{sub}");
        // 4 MiB both ways, one websocket message each.
        let big: String = (0..4 << 20)
            .map(|i| (b'a' + (i % 26) as u8) as char)
            .collect();
        let back: String = within_for(
            Duration::from_secs(60),
            "4 MiB echo",
            sess.call("/echo/string", &big),
        )
        .await
        .unwrap();
        assert!(back == big, "{sub}: 4 MiB echo differs");
        // Over Go's 32 MiB a call fails alone; the session goes on.
        if sub == "pb" {
            let huge = "a".repeat(33 << 20);
            let err = within(
                "oversized call",
                sess.call::<_, String>("/echo/string", &huge),
            )
            .await
            .unwrap_err();
            assert!(err.code() != Code::OK, "{err}");
            assert_eq!(
                sess.call::<_, i64>("/echo", &3).await,
                Ok(3),
                "{sub}: {err}"
            );
        }
        within("close client", client.close()).await;
        within("close server", server.close()).await;
    }
}

#[tokio::test]
async fn a_plain_websocket_client_sends_text_and_gets_one_binary_message_per_reply() {
    let server = server(ws_config("json"));
    let addr = server.listen().await.unwrap();
    let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(format!("ws://{addr}/ws"), tcp)
        .await
        .unwrap();
    // Two calls in text messages, as a browser sends them.
    for seq in [1, 2] {
        let call = format!(
            r#"{{"seq":{seq},"mtype":1,"serviceMethod":"/echo","meta":"","bodyCodec":106,"body":"{seq}0","xferPipe":[]}}"#
        );
        ws.send(WsMessage::text(call)).await.unwrap();
    }
    for seq in [1, 2] {
        let reply = within("reply", ws.next()).await.unwrap().unwrap();
        let WsMessage::Binary(b) = reply else {
            panic!("not a binary message: {reply:?}")
        };
        assert_eq!(
            std::str::from_utf8(&b).unwrap(),
            format!(
                r#"{{"seq":{seq},"mtype":2,"serviceMethod":"","meta":"","bodyCodec":106,"body":"{seq}0","xferPipe":[]}}"#
            )
        );
    }
    within("close server", server.close()).await;
}

#[tokio::test]
async fn path_and_token_are_checked() {
    let mut cfg = ws_config("json");
    cfg.ws_token = "s3cret".into();
    let server = server(cfg.clone());
    let addr = server.listen().await.unwrap();
    // The right token dials; a wrong one, none, or another path is refused with the status.
    let client = builder(cfg.clone()).build().unwrap();
    let sess = within("dial", client.dial(&addr)).await.unwrap();
    assert_eq!(sess.call::<_, i64>("/echo", &7).await.unwrap(), 7);
    for (token, path, status) in [
        ("wrong", "/ws", "403"),
        ("", "/ws", "403"),
        ("s3cret", "/other", "404"),
    ] {
        let bad = builder(PeerConfig {
            ws_token: token.into(),
            ws_path: path.into(),
            ..cfg.clone()
        })
        .build()
        .unwrap();
        let err = within("refused dial", bad.dial(&addr)).await.unwrap_err();
        assert_eq!(err.code(), Code::DIAL_FAILED, "{token}/{path}: {err}");
        assert!(
            err.cause().unwrap_or("").contains(status),
            "{token}/{path}: {err}"
        );
        within("close", bad.close()).await;
    }
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn fragments_are_reassembled_and_oversized_messages_close_only_their_connection() {
    use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
    use tokio_tungstenite::tungstenite::protocol::frame::Frame;
    use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
    let server = server(ws_config("json"));
    let addr = server.listen().await.unwrap();
    let dial = || async {
        let tcp = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let cfg = WebSocketConfig::default().max_message_size(Some(64 << 20));
        tokio_tungstenite::client_async_with_config(format!("ws://{addr}/ws"), tcp, Some(cfg))
            .await
            .unwrap()
            .0
    };
    // One call in three frames (a text frame and two continuations), as a browser may send.
    let mut ws = dial().await;
    let call = br#"{"seq":5,"mtype":1,"serviceMethod":"/echo","meta":"","bodyCodec":106,"body":"77","xferPipe":[]}"#;
    let parts = [&call[..10], &call[10..40], &call[40..]];
    for (i, part) in parts.iter().enumerate() {
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        let frame = Frame::message(bytes::Bytes::copy_from_slice(part), opcode, i == 2);
        ws.send(WsMessage::Frame(frame)).await.unwrap();
    }
    let reply = within("reply to a fragmented call", ws.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        reply
            .to_text()
            .unwrap_or("")
            .contains(r#""seq":5,"mtype":2"#),
        "{reply:?}"
    );
    // A message over Go's 32 MiB limit ends that connection (no reply, no panic)...
    let mut big = dial().await;
    let _ = big
        .send(WsMessage::binary(vec![b' '; (32 << 20) + 1]))
        .await;
    let end = within("oversized message refused", async {
        loop {
            match big.next().await {
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return true,
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(other)) => panic!("answered an oversized message: {other:?}"),
            }
        }
    })
    .await;
    assert!(end);
    // ... and the other connection still works.
    ws.send(WsMessage::text(
        r#"{"seq":6,"mtype":1,"serviceMethod":"/echo","meta":"","bodyCodec":106,"body":"8","xferPipe":[]}"#,
    ))
    .await
    .unwrap();
    let reply = within("reply after the refusal", ws.next())
        .await
        .unwrap()
        .unwrap();
    assert!(
        reply.to_text().unwrap_or("").contains(r#""seq":6"#),
        "{reply:?}"
    );
    within("close server", server.close()).await;
}

#[tokio::test]
async fn wss_tls_under_the_websocket() {
    use erpc_runtime_tokio::tls::{client_config_trusting, self_signed_server};
    let (cfg, cert) = self_signed_server(&["localhost"]).unwrap();
    for sub in ["json", "pb", "proto"] {
        let server = builder(ws_config(sub))
            .tls_server(cfg.clone())
            .call("/echo", |_ctx: CallCtx, n: i64| async move {
                Ok::<_, Status>(n)
            })
            .build()
            .unwrap();
        let addr = server.listen().await.unwrap();
        let client = builder(ws_config(sub))
            .tls_client(
                client_config_trusting(std::slice::from_ref(&cert)).unwrap(),
                "localhost",
            )
            .build()
            .unwrap();
        let sess = within("wss dial", client.dial(&addr)).await.unwrap();
        let n: i64 = within("call over wss", sess.call("/echo", &41))
            .await
            .unwrap();
        assert_eq!(n, 41, "{sub}");
        let missing = within("404 over wss", sess.call::<_, i64>("/no/such", &0))
            .await
            .unwrap_err();
        assert_eq!(missing.code(), Code::NOT_FOUND, "{sub}");
        within("close client", client.close()).await;
        // A plain ws:// client gets no websocket from the TLS listener.
        let plain = builder(ws_config(sub)).build().unwrap();
        let err = within("plain dial to wss", plain.dial(&addr))
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::DIAL_FAILED, "{sub}: {err}");
        within("close plain", plain.close()).await;
        within("close server", server.close()).await;
    }
}

#[tokio::test]
async fn handshake_check_names_the_session_or_refuses() {
    use erpc_runtime_tokio::{Endpoint, WsEndpoint, WsHandshake};
    // Go's handshake-auth plugin: the checker reads the access token and names the session.
    let server = builder(ws_config("json"))
        .call("/whoami", |ctx: CallCtx, _: i64| {
            let id = ctx.session().id();
            async move { Ok::<_, Status>(id) }
        })
        .build()
        .unwrap();
    let check = WsHandshake::new(|req| {
        let token = req
            .query
            .split('&')
            .find_map(|kv| kv.strip_prefix("access_token="));
        match token {
            Some(t) if t.starts_with("user-") => Ok(Some(t.to_owned())),
            _ => Err(Status::with_cause(Code::UNAUTHORIZED, "not a user token")),
        }
    });
    let ep = WsEndpoint::new("127.0.0.1:0")
        .with_path("/ws")
        .with_handshake(check);
    let addr = server.listen_on(Endpoint::Ws(ep)).await.unwrap();
    let dial = |token: &str| {
        Endpoint::Ws(
            WsEndpoint::new(addr.clone())
                .with_path("/ws")
                .with_token(Some(token.to_owned())),
        )
    };
    let client = builder(PeerConfig {
        redial_times: 0,
        ..ws_config("json")
    })
    .build()
    .unwrap();
    let sess = within("dial", client.dial_endpoint(dial("user-ann")))
        .await
        .unwrap();
    let id: String = within("whoami", sess.call("/whoami", &0)).await.unwrap();
    assert_eq!(id, "user-ann");
    assert!(server.session("user-ann").is_some());
    // Refused: HTTP 403, a failed dial.
    let err = within("refused dial", client.dial_endpoint(dial("nobody")))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::DIAL_FAILED, "{err}");
    assert!(err.cause().unwrap_or("").contains("403"), "{err}");
    within("close client", client.close()).await;
    within("close server", server.close()).await;
}

#[tokio::test]
async fn mounted_on_a_route_of_a_hyper_server() {
    use http_body_util::Empty;
    use hyper::header::{
        HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, UPGRADE,
    };
    use hyper::{Request, Response, StatusCode};
    use hyper_util::rt::TokioIo;
    // Go's NewServeHandler: an existing HTTP server answers its own routes and hands the
    // upgrade at /erpc to the peer.
    let peer = server(ws_config("json"));
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let p = peer.clone();
    let http = tokio::spawn(async move {
        loop {
            let Ok((s, remote)) = tcp.accept().await else {
                return;
            };
            let p = p.clone();
            let svc = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                let p = p.clone();
                async move {
                    let mut resp = Response::new(Empty::<bytes::Bytes>::new());
                    let key = req.headers().get(SEC_WEBSOCKET_KEY).cloned();
                    match (req.uri().path(), key) {
                        ("/erpc", Some(key)) => {
                            let accept =
                                erpc_runtime_tokio::ws::accept_key(key.to_str().unwrap_or(""));
                            let on = hyper::upgrade::on(&mut req);
                            tokio::spawn(async move {
                                if let Ok(up) = on.await {
                                    let _ = erpc_runtime_tokio::ws::serve_upgraded(
                                        &p,
                                        TokioIo::new(up),
                                        addr,
                                        remote,
                                    )
                                    .await;
                                }
                            });
                            *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
                            let h = resp.headers_mut();
                            h.insert(UPGRADE, HeaderValue::from_static("websocket"));
                            h.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
                            h.insert(
                                SEC_WEBSOCKET_ACCEPT,
                                HeaderValue::from_str(&accept).unwrap(),
                            );
                        }
                        ("/health", _) => {}
                        _ => *resp.status_mut() = StatusCode::NOT_FOUND,
                    }
                    Ok::<_, std::convert::Infallible>(resp)
                }
            });
            tokio::spawn(async move {
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .with_upgrades();
                let _ = conn.await;
            });
        }
    });
    // The server's own route answers as before...
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    plain
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    within("health", plain.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // ... and an erpc-rs client dials the mounted endpoint.
    let client = builder(PeerConfig {
        ws_path: "/erpc".into(),
        ..ws_config("json")
    })
    .build()
    .unwrap();
    let sess = within("dial the mounted endpoint", client.dial(&addr.to_string()))
        .await
        .unwrap();
    let n: i64 = within("call", sess.call("/echo", &5)).await.unwrap();
    assert_eq!(n, 5);
    let err = within("error status", sess.call::<_, i64>("/err/code", &0))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code(1001));
    assert_eq!(peer.count_sessions(), 1);
    within("close client", client.close()).await;
    within("close peer", peer.close()).await;
    http.abort();
}
