//! A headless Chromium driven over W3C WebDriver (Debian's `chromium` and `chromium-driver`):
//! chromedriver on a loopback port, spoken to with a small HTTP/1.1 + JSON client here.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::LIMIT;

/// The first of `names` found as a file in the directories of `PATH`.
fn which(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

/// chromedriver and the browser; `None` (after printing "skipped") when either is missing
/// outside CI. Under `CI=true` a missing one fails the test.
pub fn tools(test: &str) -> Option<(PathBuf, PathBuf)> {
    let driver = which(&["chromedriver"]);
    let browser = which(&["chromium", "chromium-browser", "google-chrome"]);
    match (driver, browser) {
        (Some(d), Some(b)) => Some((d, b)),
        _ => {
            let why = "`chromedriver` or `chromium` is not on PATH (apt-get install chromium chromium-driver)";
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{test}: {why}; CI=true requires them");
            }
            println!("{test}: skipped ({why})");
            None
        }
    }
}

/// One HTTP/1.1 exchange with chromedriver (`Connection: close`); the JSON `value` of the
/// answer, or the WebDriver error as `Err`.
fn request(port: u16, method: &str, path: &str, body: Option<&Value>) -> Result<Value, String> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(LIMIT * 2))
        .map_err(|e| e.to_string())?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())
        .and_then(|()| s.write_all(body.as_bytes()))
        .map_err(|e| e.to_string())?;
    // chromedriver keeps the connection open: read the head, then Content-Length bytes (or
    // chunks up to the empty one).
    let mut raw = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed in the HTTP head".into());
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut rest = raw.split_off(head_end);
    let body = if let Some(len) = header("content-length") {
        let len: usize = len.parse().map_err(|_| "bad Content-Length")?;
        while rest.len() < len {
            let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("connection closed in the HTTP body".into());
            }
            rest.extend_from_slice(&chunk[..n]);
        }
        rest.truncate(len);
        rest
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        let mut body = Vec::new();
        loop {
            let line_end = loop {
                if let Some(i) = rest.windows(2).position(|w| w == b"\r\n") {
                    break i;
                }
                let n = s.read(&mut chunk).map_err(|e| e.to_string())?;
                if n == 0 {
                    return Err("connection closed in a chunk".into());
                }
                rest.extend_from_slice(&chunk[..n]);
            };
            let size = String::from_utf8_lossy(&rest[..line_end]).into_owned();
            let n = usize::from_str_radix(size.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|e| e.to_string())?;
            if n == 0 {
                break body;
            }
            while rest.len() < line_end + 2 + n + 2 {
                let k = s.read(&mut chunk).map_err(|e| e.to_string())?;
                if k == 0 {
                    return Err("connection closed in a chunk".into());
                }
                rest.extend_from_slice(&chunk[..k]);
            }
            body.extend_from_slice(&rest[line_end + 2..line_end + 2 + n]);
            rest.drain(..line_end + 2 + n + 2);
        }
    } else {
        s.read_to_end(&mut rest).map_err(|e| e.to_string())?;
        rest
    };
    let body = String::from_utf8_lossy(&body).into_owned();
    let v: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    let value = v.get("value").cloned().unwrap_or(Value::Null);
    if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") {
        Ok(value)
    } else {
        Err(format!(
            "{}: {value}",
            head.lines().next().unwrap_or_default()
        ))
    }
}

/// A chromedriver process with one headless browser session; both end on drop.
pub struct Browser {
    driver: Child,
    port: u16,
    session: String,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver on a free loopback port and a headless session of `browser`.
    pub fn start(driver: &Path, browser: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(driver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", driver.display()));
        let profile =
            std::env::temp_dir().join(format!("erpc-chromium-{}-{port}", std::process::id()));
        let mut b = Browser {
            driver: child,
            port,
            session: String::new(),
            profile,
        };
        let deadline = Instant::now() + LIMIT;
        loop {
            match request(port, "GET", "/status", None) {
                Ok(v) if v["ready"] == json!(true) => break,
                r => assert!(Instant::now() < deadline, "chromedriver not ready: {r:?}"),
            }
            thread::sleep(Duration::from_millis(50));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "acceptInsecureCerts": true,
            "goog:chromeOptions": {
                "binary": browser.to_string_lossy(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--no-first-run",
                         // The wss test's server has a fresh self-signed certificate.
                         "--ignore-certificate-errors",
                         format!("--user-data-dir={}", b.profile.display())],
            },
            "timeouts": {"script": LIMIT.as_millis() as u64, "pageLoad": LIMIT.as_millis() as u64},
        }}});
        let v = request(port, "POST", "/session", Some(&caps)).expect("new WebDriver session");
        b.session = v["sessionId"].as_str().expect("sessionId").to_owned();
        b
    }

    fn post(&self, what: &str, body: &Value) -> Result<Value, String> {
        let path = format!("/session/{}/{what}", self.session);
        request(self.port, "POST", &path, Some(body))
    }

    /// Opens `url` (waits for the page to load).
    pub fn goto(&self, url: &str) {
        self.post("url", &json!({ "url": url }))
            .unwrap_or_else(|e| panic!("navigate to {url}: {e}"));
    }

    /// Runs `body` as the body of an async function in the page and returns what it
    /// resolves to; a rejection is `Err` with its text (`String(e)`, plus `code` and `cause`
    /// when it has them, as JSON).
    pub fn run(&self, body: &str) -> Result<Value, Value> {
        let script = format!(
            "const done = arguments[arguments.length - 1];
             (async () => {{ {body} }})().then(
               (v) => done({{ ok: v === undefined ? null : v }}),
               (e) => done({{ err: {{ text: String(e), code: e && e.code, message: e && e.message,
                                     cause: e && e.cause }} }}));"
        );
        let v = self
            .post("execute/async", &json!({ "script": script, "args": [] }))
            .unwrap_or_else(|e| panic!("execute script: {e}\n{body}"));
        match v.get("ok") {
            Some(ok) => Ok(ok.clone()),
            None => Err(v.get("err").cloned().unwrap_or(v)),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = request(
                self.port,
                "DELETE",
                &format!("/session/{}", self.session),
                None,
            );
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
