//! URLs (Go's `net/url.Parse`, the parts httproto uses).

use std::ops::Range;

use bytes::Bytes;

/// The parts of a parsed URL, as ranges of the input.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Url {
    pub(super) host: Option<Range<usize>>,
    /// The escaped path (empty for an opaque URL).
    pub(super) path: Range<usize>,
    /// The raw query, when not empty.
    pub(super) query: Option<Range<usize>>,
}

pub(super) fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Whether every `%` of `s` is followed by two hex digits.
pub(super) fn valid_escapes(s: &[u8]) -> bool {
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            if i + 2 >= s.len() || !is_hex(s[i + 1]) || !is_hex(s[i + 2]) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// `url.Parse` as far as httproto needs it: errors where Go errors, the host, the escaped path
/// and the raw query.
pub(super) fn parse_url(s: &[u8]) -> Result<Url, &'static str> {
    if s.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err("net/url: invalid control character in URL");
    }
    let s = match s.iter().position(|&b| b == b'#') {
        Some(i) => {
            if !valid_escapes(&s[i + 1..]) {
                return Err("invalid URL escape");
            }
            &s[..i]
        }
        None => s,
    };
    if s == b"*" {
        return Ok(Url {
            host: None,
            path: 0..1,
            query: None,
        });
    }
    // Scheme: a letter, then letters, digits, `+`, `-`, `.`, up to a colon.
    let mut rest = 0;
    let mut scheme = false;
    for (i, &c) in s.iter().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' if i > 0 => {}
            b':' if i == 0 => return Err("missing protocol scheme"),
            b':' => {
                scheme = true;
                rest = i + 1;
                break;
            }
            _ => break,
        }
    }
    let mut end = s.len();
    let mut query = None;
    let tail = &s[rest..];
    let qmarks = tail.iter().filter(|&&b| b == b'?').count();
    if tail.ends_with(b"?") && qmarks == 1 {
        end -= 1; // ForceQuery: an empty query
    } else if let Some(q) = tail.iter().position(|&b| b == b'?') {
        end = rest + q;
        if end + 1 < s.len() {
            query = Some(end + 1..s.len());
        }
    }
    let r = &s[rest..end];
    if !r.starts_with(b"/") {
        if scheme {
            return Ok(Url {
                host: None,
                path: rest..rest,
                query,
            });
        }
        let segment = r.split(|&b| b == b'/').next().unwrap_or_default();
        if segment.contains(&b':') {
            return Err("first path segment in URL cannot contain colon");
        }
    }
    let mut host = None;
    let mut path_start = rest;
    if (scheme || !r.starts_with(b"///")) && r.starts_with(b"//") {
        let auth_start = rest + 2;
        let auth_end = s[auth_start..end]
            .iter()
            .position(|&b| b == b'/')
            .map_or(end, |i| auth_start + i);
        let auth = &s[auth_start..auth_end];
        let host_start = match auth.iter().rposition(|&b| b == b'@') {
            Some(at) => {
                let user = &auth[..at];
                let ok = user
                    .iter()
                    .all(|&c| c.is_ascii_alphanumeric() || b"-._:~!$&'()*+,;=%@".contains(&c));
                if !ok {
                    return Err("net/url: invalid userinfo");
                }
                auth_start + at + 1
            }
            None => auth_start,
        };
        check_host(&s[host_start..auth_end])?;
        if host_start < auth_end {
            host = Some(host_start..auth_end);
        }
        path_start = auth_end;
    }
    if !valid_escapes(&s[path_start..end]) {
        return Err("invalid URL escape");
    }
    Ok(Url {
        host,
        path: path_start..end,
        query,
    })
}

/// Go's `parseHost` checks: brackets, port digits, escapes and allowed characters.
pub(super) fn check_host(h: &[u8]) -> Result<(), &'static str> {
    let valid_port =
        |p: &[u8]| p.is_empty() || (p[0] == b':' && p[1..].iter().all(u8::is_ascii_digit));
    if h.starts_with(b"[") {
        let close = h
            .iter()
            .rposition(|&b| b == b']')
            .ok_or("missing ']' in host")?;
        if !valid_port(&h[close + 1..]) {
            return Err("invalid port after host");
        }
    } else if let Some(c) = h.iter().rposition(|&b| b == b':') {
        if !valid_port(&h[c..]) {
            return Err("invalid port after host");
        }
    }
    let mut i = 0;
    while i < h.len() {
        let c = h[i];
        if c == b'%' {
            if i + 2 >= h.len() || !is_hex(h[i + 1]) || !is_hex(h[i + 2]) {
                return Err("invalid URL escape");
            }
            if hex_val(h[i + 1]) < 8 && &h[i..i + 3] != b"%25" {
                return Err("invalid URL escape");
            }
            i += 3;
            continue;
        }
        if c < 0x80 && !(c.is_ascii_alphanumeric() || b"!$&'()*+,;=:[]<>\"-_.~".contains(&c)) {
            return Err("invalid character in host name");
        }
        i += 1;
    }
    Ok(())
}

pub(super) fn hex_val(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        _ => b - b'A' + 10,
    }
}

/// Percent-decodes a path (`+` stays `+`); zero-copy without escapes. `None` on a bad escape.
pub(super) fn unescape_path(p: Bytes) -> Option<Bytes> {
    if !p.contains(&b'%') {
        return Some(p);
    }
    let mut out = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        if p[i] == b'%' {
            if i + 2 >= p.len() || !is_hex(p[i + 1]) || !is_hex(p[i + 2]) {
                return None;
            }
            out.push(hex_val(p[i + 1]) << 4 | hex_val(p[i + 2]));
            i += 3;
        } else {
            out.push(p[i]);
            i += 1;
        }
    }
    Some(Bytes::from(out))
}
