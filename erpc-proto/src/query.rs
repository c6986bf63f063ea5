//! URL-query escaping exactly as eRPC (goutil) writes and reads it, shared by [`crate::Meta`]
//! and [`crate::Status`].
//!
//! Writing keeps `A-Z a-z 0-9 * - . _` and turns every other byte into `%XX` with upper-case
//! hex (space is `%20`, never `+`). Reading turns `+` into a space, `%XX` (either case) into a
//! byte, and keeps a `%` that is not followed by two hex digits literally, as Go does.

use bytes::{BufMut, Bytes};

const fn build_keep() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'*' || b == b'-' || b == b'.' || b == b'_';
        i += 1;
    }
    t
}

static KEEP: [bool; 256] = build_keep();
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Number of bytes `escape` writes for `src`.
pub(crate) fn escaped_len(src: &[u8]) -> usize {
    src.iter()
        .map(|&b| if KEEP[b as usize] { 1 } else { 3 })
        .sum()
}

/// Appends the escaped form of `src` to `dst`.
pub(crate) fn escape(src: &[u8], dst: &mut impl BufMut) {
    let mut start = 0;
    for (i, &b) in src.iter().enumerate() {
        if !KEEP[b as usize] {
            dst.put_slice(&src[start..i]);
            dst.put_slice(&[
                b'%',
                HEX_UPPER[(b >> 4) as usize],
                HEX_UPPER[(b & 15) as usize],
            ]);
            start = i + 1;
        }
    }
    dst.put_slice(&src[start..]);
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Unescapes one key or value. Returns a zero-copy slice when there is nothing to unescape.
pub(crate) fn unescape(src: Bytes) -> Bytes {
    if !src.iter().any(|&b| b == b'%' || b == b'+') {
        return src;
    }
    let mut out = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b'%' => {
                match (
                    src.get(i + 1).copied().and_then(hex_value),
                    src.get(i + 2).copied().and_then(hex_value),
                ) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                    }
                    _ => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Bytes::from(out)
}

/// Splits query text into unescaped `(key, value)` pairs in order, skipping pieces whose key and
/// value are both empty (`&&`, a lone `=`), as Go does.
pub(crate) fn pairs(src: Bytes) -> impl Iterator<Item = (Bytes, Bytes)> {
    let mut rest = src;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let piece = match rest.iter().position(|&b| b == b'&') {
            Some(i) => {
                let p = rest.split_to(i);
                let _ = rest.split_to(1);
                p
            }
            None => std::mem::take(&mut rest),
        };
        let (k, v) = match piece.iter().position(|&b| b == b'=') {
            Some(i) => {
                let mut k = piece;
                let v = k.split_off(i + 1);
                k.truncate(i);
                (k, v)
            }
            None => (piece, Bytes::new()),
        };
        if k.is_empty() && v.is_empty() {
            continue;
        }
        return Some((unescape(k), unescape(v)));
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn esc(s: &[u8]) -> String {
        let mut v = Vec::new();
        escape(s, &mut v);
        assert_eq!(v.len(), escaped_len(s));
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn escapes_like_go() {
        assert_eq!(esc(b"a b"), "a%20b");
        assert_eq!(esc("x/y=z&w~é+".as_bytes()), "x%2Fy%3Dz%26w%7E%C3%A9%2B");
        assert_eq!(esc(b"AZaz09*-._"), "AZaz09*-._");
    }

    #[test]
    fn unescapes_like_go() {
        let u = |s: &'static [u8]| unescape(Bytes::from_static(s));
        assert_eq!(u(b"a+b%20c"), &b"a b c"[..]);
        assert_eq!(u(b"%zz"), &b"%zz"[..]);
        assert_eq!(u(b"%4"), &b"%4"[..]);
        assert_eq!(u(b"%"), &b"%"[..]);
        assert_eq!(u(b"%c3%A9"), "é".as_bytes());
        assert_eq!(u(b"%\xff1"), &b"%\xff1"[..]);
        assert_eq!(u(b"%1\xff"), &b"%1\xff"[..]);
    }

    #[test]
    fn splits_pairs() {
        let p: Vec<_> = pairs(Bytes::from_static(b"k&a=b=c&&=&=v&dup=1&dup=2")).collect();
        let p: Vec<(&[u8], &[u8])> = p.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        assert_eq!(
            p,
            vec![
                (&b"k"[..], &b""[..]),
                (b"a", b"b=c"),
                (b"", b"v"),
                (b"dup", b"1"),
                (b"dup", b"2")
            ]
        );
    }
}
