//! Message bodies on the command line: reading them (`TEXT`, `@file`, `-`), checking JSON, and
//! showing them (pretty JSON, text, hex).

use std::io::Read;

use bytes::Bytes;
use erpc_runtime_tokio::CodecId;

/// Reads a body argument: `-` is stdin, `@path` a file, anything else the text itself;
/// `None` is an empty body.
pub(crate) fn load(arg: Option<&str>) -> Result<Bytes, String> {
    match arg {
        None => Ok(Bytes::new()),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin()
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read the body from stdin: {e}"))?;
            Ok(Bytes::from(buf))
        }
        Some(s) => match s.strip_prefix('@') {
            Some(path) => std::fs::read(path)
                .map(Bytes::from)
                .map_err(|e| format!("cannot read the body from {path:?}: {e}")),
            None => Ok(Bytes::copy_from_slice(s.as_bytes())),
        },
    }
}

/// Checks that `body` is one JSON value (surrounding whitespace allowed). An empty body is
/// allowed: eRPC never decodes it, the handler gets the zero value.
pub(crate) fn check_json(body: &[u8]) -> Result<(), String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map(|_| ())
        .map_err(|e| format!("the body is not valid JSON: {e}"))
}

/// Whether the vectors (and `erpc decode`) show these bytes as UTF-8 text: valid UTF-8 with no
/// control character (so a protobuf body, which starts with a tag byte such as `0x0a`, is hex).
pub(crate) fn is_printable(b: &[u8]) -> bool {
    std::str::from_utf8(b).is_ok_and(|s| !s.chars().any(char::is_control))
}

/// Indents JSON text without re-encoding any value: numbers, strings and key order stay
/// exactly as received. `text` must be valid JSON (see [`check_json`]).
pub(crate) fn pretty_json(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut chars = text.trim().chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        for _ in 0..depth {
            out.push_str("  ");
        }
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // Skip whitespace to see whether the container is empty.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if matches!(chars.peek(), Some('}') | Some(']')) {
                    if let Some(close) = chars.next() {
                        out.push(close);
                    }
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// The reply body as `erpc call` prints it: pretty JSON when the codec is JSON and the body
/// parses, the bytes as they are otherwise (text, or binary for protobuf and the like).
pub(crate) fn for_stdout(codec: CodecId, body: &[u8]) -> Vec<u8> {
    if codec == CodecId::JSON && !body.is_empty() && check_json(body).is_ok() {
        if let Ok(text) = std::str::from_utf8(body) {
            let mut s = pretty_json(text);
            s.push('\n');
            return s.into_bytes();
        }
    }
    let mut out = body.to_vec();
    if !out.is_empty() && is_printable(&out) && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out
}

/// A body on one line: text as it is, text with line breaks or control characters as a
/// quoted, escaped string, anything else as `0x` and hex.
pub(crate) fn one_line(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("0x{}", hex::encode(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_keeps_values() {
        let t = r#"{"b":[1, 2,{}],"a":"x,\"y:[","n":12345678901234567890123,"e":[]}"#;
        let p = pretty_json(t);
        assert_eq!(
            p,
            "{\n  \"b\": [\n    1,\n    2,\n    {}\n  ],\n  \"a\": \"x,\\\"y:[\",\n  \"n\": 12345678901234567890123,\n  \"e\": []\n}"
        );
        let a: serde_json::Value = serde_json::from_str(t).unwrap();
        let b: serde_json::Value = serde_json::from_str(&p).unwrap();
        assert_eq!(a, b);
        assert_eq!(pretty_json("15"), "15");
    }

    #[test]
    fn json_check() {
        assert!(check_json(b"[1,2]").is_ok());
        assert!(check_json(b"  ").is_ok());
        assert!(check_json(b"[1,").is_err());
        assert!(check_json(b"1 2").is_err());
    }

    #[test]
    fn display() {
        assert_eq!(one_line(b"abc"), "abc");
        assert_eq!(one_line(b"a\nb"), "\"a\\nb\"");
        assert_eq!(one_line(&[0xff, 1]), "0xff01");
        assert!(!is_printable(b"\n6"));
        assert!(is_printable("héllo".as_bytes()));
        assert_eq!(for_stdout(CodecId::JSON, b"15"), b"15\n");
        assert_eq!(for_stdout(CodecId::PLAIN, b"hi"), b"hi\n");
    }
}
