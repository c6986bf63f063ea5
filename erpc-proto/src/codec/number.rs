//! Numbers as Go's `strconv` writes and reads them.
//!
//! Floats are written from the shortest round-trip digits that `zmij` (Schubfach; the
//! formatter serde_json uses) produces. Go (since 1.17) picks the same digits with Ryū,
//! ties included (round half to even); Rust's `Display` for floats breaks such ties upwards
//! instead (f32 `312985.125` is `312985.12` in Go, `312985.13` with `Display`). The output was
//! compared with Go 1.19.8 on 400,000 values; see `tests/codec_vectors.rs`.

use std::io;

/// How a float is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// `strconv.FormatFloat(v, 'f', -1, bits)`: plain decimal, never an exponent
    /// (`1e21` ⇒ `1000000000000000000000`); `NaN`, `+Inf`, `-Inf` for non-finite values.
    #[cfg(any(feature = "plain", feature = "form"))]
    Plain,
    /// `encoding/json`: plain decimal for magnitudes in `[1e-6, 1e21)` and 0, else
    /// `d.ddde±x` (`1e+21`, `1.5e-7`). Only finite values (serde_json writes `null` for the
    /// others and never calls this).
    #[cfg(feature = "json")]
    Json,
}

impl Layout {
    #[cfg_attr(not(feature = "json"), allow(unused_variables))]
    fn scientific(self, nonzero: bool, below: bool, above: bool) -> bool {
        match self {
            #[cfg(any(feature = "plain", feature = "form"))]
            Layout::Plain => false,
            #[cfg(feature = "json")]
            Layout::Json => nonzero && (below || above),
        }
    }
}

/// Writes an `f64` (Go `float64`).
pub(crate) fn write_f64<W: ?Sized + io::Write>(
    w: &mut W,
    v: f64,
    layout: Layout,
) -> io::Result<()> {
    if !v.is_finite() {
        return w.write_all(non_finite(v.is_nan(), v > 0.0));
    }
    let scientific = layout.scientific(v != 0.0, v.abs() < 1e-6, v.abs() >= 1e21);
    write_shortest(
        w,
        zmij::Buffer::new().format_finite(v).as_bytes(),
        scientific,
    )
}

/// Writes an `f32` (Go `float32`: shortest digits for 32 bits, thresholds in 32 bits).
pub(crate) fn write_f32<W: ?Sized + io::Write>(
    w: &mut W,
    v: f32,
    layout: Layout,
) -> io::Result<()> {
    if !v.is_finite() {
        return w.write_all(non_finite(v.is_nan(), v > 0.0));
    }
    let scientific = layout.scientific(v != 0.0, v.abs() < 1e-6, v.abs() >= 1e21);
    write_shortest(
        w,
        zmij::Buffer::new().format_finite(v).as_bytes(),
        scientific,
    )
}

/// Writes zmij's shortest text in Go's layout. Without an exponent zmij writes plain decimal
/// with at least one fractional digit (`100.0`, `0.001`), which is Go's text once a trailing
/// `.0` is dropped; anything else goes through [`write_digits`].
fn write_shortest<W: ?Sized + io::Write>(
    w: &mut W,
    text: &[u8],
    scientific: bool,
) -> io::Result<()> {
    if !scientific && !text.contains(&b'e') {
        return w.write_all(text.strip_suffix(b".0").unwrap_or(text));
    }
    write_digits(w, text, scientific)
}

fn non_finite(nan: bool, positive: bool) -> &'static [u8] {
    match (nan, positive) {
        (true, _) => b"NaN",
        (false, true) => b"+Inf",
        (false, false) => b"-Inf",
    }
}

/// The longest text [`write_digits`] produces: a sign, `0.`, 323 zeros and one digit
/// (`5e-324` in plain layout), or 309 digits (`f64::MAX`).
const MAX_TEXT: usize = 400;

/// A fixed buffer the whole float text is assembled in, then written at once.
struct Text {
    bytes: [u8; MAX_TEXT],
    len: usize,
}

impl Text {
    fn push(&mut self, s: &[u8]) -> io::Result<()> {
        let end = self.len + s.len();
        self.bytes
            .get_mut(self.len..end)
            .ok_or_else(|| io::Error::other("float text too long"))?
            .copy_from_slice(s);
        self.len = end;
        Ok(())
    }

    fn zeros(&mut self, n: usize) -> io::Result<()> {
        let end = self.len + n;
        self.bytes
            .get_mut(self.len..end)
            .ok_or_else(|| io::Error::other("float text too long"))?
            .fill(b'0');
        self.len = end;
        Ok(())
    }
}

/// Rewrites zmij's text (`3.25`, `100.0`, `1e21`, `1.5e-7`, `-0.0`) in Go's layout: plain
/// decimal without a trailing `.0`, or `d.ddde±x` when `scientific`.
fn write_digits<W: ?Sized + io::Write>(w: &mut W, text: &[u8], scientific: bool) -> io::Result<()> {
    let bad = || io::Error::other("unexpected float text");
    let (negative, text) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let (mantissa, exponent) = match text.iter().position(|&b| b == b'e' || b == b'E') {
        Some(i) => {
            let exp = std::str::from_utf8(&text[i + 1..]).map_err(|_| bad())?;
            (&text[..i], exp.parse::<i32>().map_err(|_| bad())?)
        }
        None => (text, 0),
    };
    // value = 0.DIGITS × 10^point
    let mut buf = [0u8; 32];
    let mut n = 0;
    let mut point = 0i32;
    let mut after_dot = false;
    for &b in mantissa {
        match b {
            b'.' => after_dot = true,
            b'0'..=b'9' => {
                *buf.get_mut(n).ok_or_else(bad)? = b;
                n += 1;
                if !after_dot {
                    point += 1;
                }
            }
            _ => return Err(bad()),
        }
    }
    let leading = buf[..n].iter().take_while(|&&d| d == b'0').count();
    let mut digits = &buf[leading..n];
    while let Some((b'0', rest)) = digits.split_last() {
        digits = rest;
    }
    let mut out = Text {
        bytes: [0; MAX_TEXT],
        len: 0,
    };
    if negative {
        out.push(b"-")?;
    }
    if digits.is_empty() {
        out.push(b"0")?;
        return w.write_all(&out.bytes[..out.len]);
    }
    // At most 32 digits and |exponent| ≤ 400: no overflow.
    let point = point - leading as i32 + exponent;
    let len = digits.len() as i32;
    if scientific {
        out.push(&digits[..1])?;
        if digits.len() > 1 {
            out.push(b".")?;
            out.push(&digits[1..])?;
        }
        let exp = point - 1;
        out.push(if exp < 0 { b"e-" } else { b"e+" })?;
        let exp = exp.unsigned_abs();
        let (hundreds, tens, ones) = (exp / 100, exp / 10 % 10, exp % 10);
        if hundreds > 0 {
            out.push(&[b'0' + hundreds as u8])?;
        }
        if hundreds > 0 || tens > 0 {
            out.push(&[b'0' + tens as u8])?;
        }
        out.push(&[b'0' + ones as u8])?;
    } else if point <= 0 {
        out.push(b"0.")?;
        out.zeros(point.unsigned_abs() as usize)?;
        out.push(digits)?;
    } else if point >= len {
        out.push(digits)?;
        out.zeros((point - len) as usize)?;
    } else {
        let (int, frac) = digits.split_at(point as usize);
        out.push(int)?;
        out.push(b".")?;
        out.push(frac)?;
    }
    w.write_all(&out.bytes[..out.len])
}

/// Go's `strconv.ParseBool`.
#[cfg(any(feature = "plain", feature = "form"))]
pub(crate) fn parse_bool(text: &[u8]) -> Option<bool> {
    match text {
        b"1" | b"t" | b"T" | b"TRUE" | b"true" | b"True" => Some(true),
        b"0" | b"f" | b"F" | b"FALSE" | b"false" | b"False" => Some(false),
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 10, _)` (optional `+`/`-`, decimal digits), for floats
/// `ParseFloat`; the range is the target type's.
#[cfg(any(feature = "plain", feature = "form"))]
pub(crate) fn parse_signed<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Go's `strconv.ParseUint(s, 10, _)`: decimal digits, no sign.
#[cfg(any(feature = "plain", feature = "form"))]
pub(crate) fn parse_unsigned<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    if text.first() == Some(&b'+') {
        return None;
    }
    parse_signed(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
        let mut out = Vec::new();
        f(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    #[cfg(any(feature = "plain", feature = "form"))]
    fn plain_floats_have_no_exponent() {
        let p = |v: f64| text(|o| write_f64(o, v, Layout::Plain));
        let p32 = |v: f32| text(|o| write_f32(o, v, Layout::Plain));
        assert_eq!(p(1e21), "1000000000000000000000");
        assert_eq!(p(3.5), "3.5");
        assert_eq!(p(100.0), "100");
        assert_eq!(p(1e-7), "0.0000001");
        assert_eq!(p(0.1), "0.1");
        assert_eq!(p(-0.0), "-0");
        assert_eq!(p(f64::NAN), "NaN");
        assert_eq!(p(f64::INFINITY), "+Inf");
        assert_eq!(p(f64::NEG_INFINITY), "-Inf");
        assert_eq!(p(5e-324).len(), 326);
        assert_eq!(p(f64::MAX).len(), 309);
        assert_eq!(p32(0.1), "0.1");
        assert_eq!(p32(16777216.0), "16777216");
        // A tie, broken to even like Go's strconv (Display would give 312985.13).
        assert_eq!(p32(f32::from_bits(0x4898_d324)), "312985.12"); // 312985.125
    }

    #[test]
    #[cfg(feature = "json")]
    fn json_floats_like_go() {
        let j = |v: f64| text(|o| write_f64(o, v, Layout::Json));
        let j32 = |v: f32| text(|o| write_f32(o, v, Layout::Json));
        assert_eq!(j(1e21), "1e+21");
        assert_eq!(j(1e20), "100000000000000000000");
        assert_eq!(j(1e-6), "0.000001");
        assert_eq!(j(1.5e-7), "1.5e-7");
        assert_eq!(j(-1e-100), "-1e-100");
        assert_eq!(j(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(j(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        assert_eq!(j(5e-324), "5e-324");
        assert_eq!(j(0.0), "0");
        assert_eq!(j(-0.0), "-0");
        assert_eq!(j(2.5), "2.5");
        assert_eq!(j(100.0), "100");
        assert_eq!(j(123456.789), "123456.789");
        assert_eq!(j32(1e21), "1e+21");
        assert_eq!(j32(0.1), "0.1");
        assert_eq!(j32(f32::from_bits(0x4898_d324)), "312985.12"); // 312985.125
    }

    /// Every output reads back to the same value, in the layout Go chooses.
    #[test]
    fn floats_round_trip() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            let v32 = f32::from_bits(x as u32);
            #[cfg(feature = "json")]
            {
                if v.is_finite() {
                    let t = text(|o| write_f64(o, v, Layout::Json));
                    assert_eq!(t.parse::<f64>().unwrap(), v, "{t}");
                    assert_eq!(
                        t.contains('e'),
                        v != 0.0 && !(1e-6..1e21).contains(&v.abs())
                    );
                }
                if v32.is_finite() {
                    let t = text(|o| write_f32(o, v32, Layout::Json));
                    assert_eq!(t.parse::<f32>().unwrap(), v32, "{t}");
                }
            }
            #[cfg(any(feature = "plain", feature = "form"))]
            {
                if v.is_finite() {
                    let t = text(|o| write_f64(o, v, Layout::Plain));
                    assert_eq!(t.parse::<f64>().unwrap(), v, "{t}");
                    assert!(!t.contains('e'));
                }
                if v32.is_finite() {
                    let t = text(|o| write_f32(o, v32, Layout::Plain));
                    assert_eq!(t.parse::<f32>().unwrap(), v32, "{t}");
                }
            }
        }
    }

    #[test]
    #[cfg(any(feature = "plain", feature = "form"))]
    fn go_parsing() {
        assert_eq!(parse_bool(b"True"), Some(true));
        assert_eq!(parse_bool(b"yes"), None);
        assert_eq!(parse_signed::<i8>(b"+12"), Some(12));
        assert_eq!(parse_signed::<i8>(b"128"), None);
        assert_eq!(parse_signed::<i32>(b" 1"), None);
        assert_eq!(parse_unsigned::<u8>(b"+1"), None);
        assert_eq!(parse_unsigned::<u8>(b"-0"), None);
        assert_eq!(
            parse_unsigned::<u64>(b"18446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(parse_signed::<f64>(b"1e21"), Some(1e21));
    }
}
