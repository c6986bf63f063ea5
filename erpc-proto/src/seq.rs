//! Sequence numbers as eRPC writes them: base-36 text of a signed 32-bit integer.

/// Longest base-36 text of an `i32`: `-zik0zk`.
pub(crate) const MAX_SEQ_TEXT: usize = 7;

const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

/// Writes `seq` as Go's `strconv.FormatInt(seq, 36)` does (lower-case digits, leading `-`)
/// into `buf` and returns the used tail of it.
///
/// ```
/// let mut buf = [0u8; 7];
/// assert_eq!(erpc_proto::format_seq(36, &mut buf), b"10");
/// assert_eq!(erpc_proto::format_seq(i32::MIN, &mut buf), b"-zik0zk");
/// ```
pub fn format_seq(seq: i32, buf: &mut [u8; MAX_SEQ_TEXT]) -> &[u8] {
    let mut n = seq.unsigned_abs();
    let mut i = MAX_SEQ_TEXT;
    loop {
        i -= 1;
        buf[i] = DIGITS[(n % 36) as usize];
        n /= 36;
        if n == 0 {
            break;
        }
    }
    if seq < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Parses seq text as Go's `strconv.ParseInt(text, 36, 32)` does: digits `0-9`, `a-z` in
/// either case, an optional leading `+` or `-`. Returns `None` for empty text, other bytes,
/// or a value outside `i32`.
///
/// ```
/// assert_eq!(erpc_proto::parse_seq(b"zik0zj"), Some(i32::MAX));
/// assert_eq!(erpc_proto::parse_seq(b"A"), Some(10));
/// assert_eq!(erpc_proto::parse_seq(b""), None);
/// ```
pub fn parse_seq(text: &[u8]) -> Option<i32> {
    let (neg, digits) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        (b'+', rest) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    // Go accepts any number of leading zeros; after them at most 7 digits can fit an i32.
    let significant = trim_zeros(digits);
    if significant.len() > MAX_SEQ_TEXT {
        return None;
    }
    parse_digits(significant, neg)
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let start = d.iter().position(|&b| b != b'0').unwrap_or(d.len());
    let t = &d[start..];
    if t.is_empty() && !d.is_empty() {
        &d[d.len() - 1..]
    } else {
        t
    }
}

fn parse_digits(digits: &[u8], neg: bool) -> Option<i32> {
    let mut v: i64 = 0;
    for &b in digits {
        let d = match b {
            b'0'..=b'9' => b - b'0',
            b'a'..=b'z' => b - b'a' + 10,
            b'A'..=b'Z' => b - b'A' + 10,
            _ => return None,
        };
        v = v * 36 + i64::from(d);
        if v > 1 << 31 {
            return None;
        }
    }
    let v = if neg { -v } else { v };
    i32::try_from(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(seq: i32) -> String {
        let mut b = [0; MAX_SEQ_TEXT];
        String::from_utf8(format_seq(seq, &mut b).to_vec()).unwrap()
    }

    #[test]
    fn formats_like_go() {
        for (n, s) in [
            (0, "0"),
            (1, "1"),
            (35, "z"),
            (36, "10"),
            (-1, "-1"),
            (-2, "-2"),
            (i32::MAX, "zik0zj"),
            (i32::MIN, "-zik0zk"),
        ] {
            assert_eq!(fmt(n), s);
            assert_eq!(parse_seq(s.as_bytes()), Some(n));
        }
    }

    #[test]
    fn parse_rejects_and_accepts_like_go() {
        assert_eq!(parse_seq(b"-"), None);
        assert_eq!(parse_seq(b"+"), None);
        assert_eq!(parse_seq(b"zik0zk"), None); // 2^31 overflows
        assert_eq!(parse_seq(b"-zik0zl"), None);
        assert_eq!(parse_seq(b"1 "), None);
        assert_eq!(parse_seq(b"+Z"), Some(35));
        assert_eq!(parse_seq(b"0000000001"), Some(1));
        assert_eq!(parse_seq(b"00000000"), Some(0));
        assert_eq!(parse_seq(b"zzzzzzzzzzzz"), None);
    }

    proptest::proptest! {
        #[test]
        fn roundtrip(n: i32) {
            proptest::prop_assert_eq!(parse_seq(fmt(n).as_bytes()), Some(n));
        }
    }
}
