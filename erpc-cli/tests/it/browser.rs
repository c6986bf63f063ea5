//! The browser client (`erpc-cli/browser/erpc.js`, served by `erpc serve --network ws` at
//! `/erpc.js`) in a real headless Chromium over WebDriver: a call, an error status, pushes
//! both ways, a pending call failing with 102 when the server dies, and the redial to the
//! restarted server. Needs `chromium` and `chromedriver` (skips without them outside CI).

use serde_json::json;

use crate::common;
use common::webdriver::{tools, Browser};
use common::Server;

#[test]
fn browser_client_calls_pushes_and_redials() {
    let Some((driver, chromium)) = tools("browser_client_calls_pushes_and_redials") else {
        return;
    };
    let args = ["--network", "ws", "--push-interval", "0"];
    let mut server = Server::start(&args);
    let addr = server.addr.clone();
    let browser = Browser::start(&driver, &chromium);
    browser.goto(&format!("http://{addr}/demo"));

    // The served module, a client of its own (fast redial), a call with meta.
    let sum = browser
        .run(
            r#"const m = await import("/erpc.js");
               const c = m.connect(`ws://${location.host}/`, { minDelay: 20, maxDelay: 200 });
               window.c = c;
               window.echoes = [];
               c.onPush("/push/echo_back", (body, ctx) => echoes.push({ body, meta: ctx.meta.toString() }));
               await c.ready();
               return await c.call("/math/add", [1, 2, 39], { meta: { author: "browser" } });"#,
        )
        .expect("call /math/add");
    assert_eq!(sum, json!(42));
    let s = browser
        .run(r#"return await c.call("/echo/string", "héllo \"q\"\n");"#)
        .expect("call /echo/string");
    assert_eq!(s, json!("héllo \"q\"\n"));

    // Error statuses: an unknown route (404) and an application error with a cause.
    let e = browser
        .run(r#"return await c.call("/no/such/route", 1);"#)
        .expect_err("unknown route");
    assert_eq!(
        (&e["code"], &e["message"]),
        (&json!(404), &json!("Not Found"))
    );
    let e = browser
        .run(r#"return await c.call("/err/code", null);"#)
        .expect_err("/err/code");
    assert_eq!(
        (&e["code"], &e["message"], &e["cause"]),
        (&json!(1001), &json!("custom error"), &json!("custom cause"))
    );

    // A push to the server, which pushes it back to the browser.
    let echo = browser
        .run(
            r#"const back = new Promise((r) => { const off = c.onPush("/push/echo_back", (b, ctx) => { off(); r({ b, meta: ctx.meta.get("k") }); }); });
               await c.push("/push/echo", { hi: "there" }, { meta: { k: "v w" } });
               return await back;"#,
        )
        .expect("push round trip");
    assert_eq!(echo, json!({ "b": { "hi": "there" }, "meta": "v w" }));

    // A call in flight when the server dies fails with 102 Connection Closed.
    browser
        .run(r#"window.slow = c.call("/slow/sleep", 60000, { timeout: 0 }).then((v) => ({ v }), (e) => ({ code: e.code, message: e.message }));"#)
        .expect("start a slow call");
    server.kill9();
    let slow = browser
        .run("return await slow;")
        .expect("the slow call settles");
    assert_eq!(slow, json!({ "code": 102, "message": "Connection Closed" }));

    // A call made while the server is down waits for the redial; the server comes back on
    // the same port and the call gets its reply.
    browser
        .run(r#"if (c.connected) await new Promise((r) => { const off = c.on("close", () => { off(); r(); }); });
               window.later = c.call("/math/add", [40, 2], { timeout: 0 });"#)
        .expect("call while down");
    let _server = Server::start_at(&addr, &args);
    let later = browser
        .run("return await later;")
        .expect("call after the redial");
    assert_eq!(later, json!(42));
    let again = browser
        .run(r#"return [c.connected, await c.call("/math/add", [1, 1])];"#)
        .expect("connected again");
    assert_eq!(again, json!([true, 2]));

    // Bounded: over maxPending a call is refused at once, with a clear status.
    let e = browser
        .run(
            r#"const m = await import("/erpc.js");
               const d = m.connect(`ws://${location.host}/`, { maxPending: 1 });
               await d.ready();
               const first = d.call("/slow/sleep", 1000);
               try { await d.call("/math/add", [1]); } finally { await first; d.close(); }"#,
        )
        .expect_err("over maxPending");
    assert_eq!(
        (&e["code"], &e["message"]),
        (&json!(500), &json!("too many pending calls"))
    );
    browser.run("c.close();").expect("close");
}

#[test]
fn browser_client_over_wss() {
    let Some((driver, chromium)) = tools("browser_client_over_wss") else {
        return;
    };
    // TLS under the websocket: the page and the module over HTTPS, the client over wss://
    // (the browser is told to accept the self-signed certificate).
    let server = Server::start(&[
        "--network",
        "ws",
        "--push-interval",
        "0",
        "--tls-self-signed",
        "--ws-token",
        "s3cret",
    ]);
    let browser = Browser::start(&driver, &chromium);
    browser.goto(&format!("https://{}/demo", server.addr));
    let got = browser
        .run(
            r#"const m = await import("/erpc.js");
               const c = m.connect(`wss://${location.host}/`, { token: "s3cret" });
               await c.ready();
               const sum = await c.call("/math/add", [20, 22]);
               c.close();
               return [location.protocol, sum];"#,
        )
        .expect("call over wss");
    assert_eq!(got, json!(["https:", 42]));
}
