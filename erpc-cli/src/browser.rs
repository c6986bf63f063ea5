//! The browser client `erpc serve --network ws` serves over plain HTTP on its port:
//! `/erpc.js` (an ES module speaking the ws JSON sub-protocol), `/erpc.d.ts` (its types) and
//! a demo page at `/` and `/demo`. A websocket upgrade at any of these paths is still an
//! upgrade; see `erpc_peer::ws::upgrade`.

use erpc_runtime_tokio::HttpFile;

/// The client module.
const ERPC_JS: &str = include_str!("../browser/erpc.js");
/// Its TypeScript declarations.
const ERPC_D_TS: &str = include_str!("../browser/erpc.d.ts");
/// The demo page; `__ERPC_WS_PATH__` is replaced by the websocket path.
const DEMO_HTML: &str = include_str!("../browser/demo.html");

/// The files, the demo page dialing `ws_path` on the page's own host.
pub(crate) fn files(ws_path: &str) -> Vec<HttpFile> {
    // The path goes into a JS string literal: JSON string quoting is JS string quoting.
    let quoted = serde_json::to_string(ws_path).unwrap_or_else(|_| "\"/\"".into());
    let demo = DEMO_HTML.replace("\"__ERPC_WS_PATH__\"", &quoted);
    let js = "text/javascript; charset=utf-8";
    vec![
        HttpFile::new("/erpc.js", js, ERPC_JS),
        HttpFile::new("/erpc.d.ts", "text/plain; charset=utf-8", ERPC_D_TS),
        HttpFile::new("/", "text/html; charset=utf-8", demo.clone()),
        HttpFile::new("/demo", "text/html; charset=utf-8", demo),
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn demo_dials_the_ws_path() {
        let files = super::files("/w\"s");
        let demo = files
            .iter()
            .find(|f| f.path == "/demo")
            .map(|f| &f.body[..]);
        let demo = std::str::from_utf8(demo.unwrap_or_default()).unwrap_or_default();
        assert!(demo.contains(r#"const wsPath = "/w\"s";"#));
        assert!(!demo.contains("__ERPC_WS_PATH__"));
    }
}
