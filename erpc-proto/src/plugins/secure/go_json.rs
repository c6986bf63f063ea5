//! The syntax check Go's `encoding/json` runs before it decodes (`checkValid`), with Go's
//! error texts, so that the secure plugin's statuses carry the causes a Go peer would send
//! (`invalid character 'o' in literal null (expecting 'u')`, `unexpected end of JSON input`).
//!
//! Written from the grammar and the observed texts: a small state machine over the bytes,
//! a stack of open arrays and objects, and the first error found.

/// Most open arrays and objects, as Go (`exceeded max depth` past it).
const MAX_DEPTH: usize = 10_000;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    /// Inside an object, expecting a key (or after one, before its `:`).
    ObjectKey,
    /// Inside an object, after `key:`.
    ObjectValue,
    Array,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    BeginValue,
    BeginValueOrEmpty,
    BeginStringOrEmpty,
    BeginString,
    EndValue,
    EndTop,
    InString,
    InStringEsc,
    /// After `\u` and this many hex digits.
    InStringEscU(u8),
    Neg,
    /// After a leading non-zero digit (more digits may follow).
    One,
    /// After a complete integer part.
    Zero,
    Dot,
    Dot0,
    E,
    ESign,
    E0,
    /// In a literal: the bytes still expected, and the literal's name.
    Literal(&'static [u8], &'static str),
}

fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// Go's `quoteChar`: `'x'`, with `'\''` and `'"'`, and Go's escapes for the rest.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => r"'\''".to_owned(),
        b'"' => "'\"'".to_owned(),
        _ => {
            let q = crate::go_text::quote(&char::from(c).to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

fn invalid(c: u8, context: &str) -> String {
    format!("invalid character {} {context}", quote_char(c))
}

/// `Ok` when `data` is one JSON value (surrounded by spaces at most); else Go's text.
pub(super) fn check_valid(data: &[u8]) -> Result<(), String> {
    let mut stack: Vec<Open> = Vec::new();
    let mut state = State::BeginValue;
    for &c in data {
        state = step(state, &mut stack, c)?;
    }
    // Go feeds one space at the end: it completes a number, or fails where a value was
    // cut (`1e+`, `tru`) with the text of that byte.
    match step(state, &mut stack, b' ')? {
        State::EndTop => Ok(()),
        _ => Err("unexpected end of JSON input".to_owned()),
    }
}

fn begin_value(stack: &mut Vec<Open>, c: u8) -> Result<State, String> {
    Ok(match c {
        c if is_space(c) => State::BeginValue,
        b'{' | b'[' => {
            if stack.len() >= MAX_DEPTH {
                return Err("exceeded max depth".to_owned());
            }
            if c == b'{' {
                stack.push(Open::ObjectKey);
                State::BeginStringOrEmpty
            } else {
                stack.push(Open::Array);
                State::BeginValueOrEmpty
            }
        }
        b'"' => State::InString,
        b'-' => State::Neg,
        b'0' => State::Zero,
        b'1'..=b'9' => State::One,
        b't' => State::Literal(b"rue", "true"),
        b'f' => State::Literal(b"alse", "false"),
        b'n' => State::Literal(b"ull", "null"),
        c => return Err(invalid(c, "looking for beginning of value")),
    })
}

fn end_value(stack: &mut Vec<Open>, c: u8) -> Result<State, String> {
    let Some(top) = stack.last_mut() else {
        return end_top(c);
    };
    if is_space(c) {
        return Ok(State::EndValue);
    }
    match (*top, c) {
        (Open::ObjectKey, b':') => {
            *top = Open::ObjectValue;
            Ok(State::BeginValue)
        }
        (Open::ObjectKey, c) => Err(invalid(c, "after object key")),
        (Open::ObjectValue, b',') => {
            *top = Open::ObjectKey;
            Ok(State::BeginString)
        }
        (Open::ObjectValue, b'}') | (Open::Array, b']') => {
            stack.pop();
            Ok(if stack.is_empty() {
                State::EndTop
            } else {
                State::EndValue
            })
        }
        (Open::ObjectValue, c) => Err(invalid(c, "after object key:value pair")),
        (Open::Array, b',') => Ok(State::BeginValue),
        (Open::Array, c) => Err(invalid(c, "after array element")),
    }
}

fn end_top(c: u8) -> Result<State, String> {
    if is_space(c) {
        Ok(State::EndTop)
    } else {
        Err(invalid(c, "after top-level value"))
    }
}

fn step(state: State, stack: &mut Vec<Open>, c: u8) -> Result<State, String> {
    match state {
        State::BeginValue => begin_value(stack, c),
        State::BeginValueOrEmpty => match c {
            c if is_space(c) => Ok(State::BeginValueOrEmpty),
            b']' => end_value(stack, c),
            c => begin_value(stack, c),
        },
        State::BeginStringOrEmpty => match c {
            c if is_space(c) => Ok(State::BeginStringOrEmpty),
            b'}' => {
                if let Some(top) = stack.last_mut() {
                    *top = Open::ObjectValue;
                }
                end_value(stack, c)
            }
            c => step(State::BeginString, stack, c),
        },
        State::BeginString => match c {
            c if is_space(c) => Ok(State::BeginString),
            b'"' => Ok(State::InString),
            c => Err(invalid(c, "looking for beginning of object key string")),
        },
        State::EndValue => end_value(stack, c),
        State::EndTop => end_top(c),
        State::InString => match c {
            b'"' => Ok(State::EndValue),
            b'\\' => Ok(State::InStringEsc),
            c if c < 0x20 => Err(invalid(c, "in string literal")),
            _ => Ok(State::InString),
        },
        State::InStringEsc => match c {
            b'b' | b'f' | b'n' | b'r' | b't' | b'\\' | b'/' | b'"' => Ok(State::InString),
            b'u' => Ok(State::InStringEscU(0)),
            c => Err(invalid(c, "in string escape code")),
        },
        State::InStringEscU(n) => {
            if c.is_ascii_hexdigit() {
                Ok(if n == 3 {
                    State::InString
                } else {
                    State::InStringEscU(n + 1)
                })
            } else {
                Err(invalid(c, "in \\u hexadecimal character escape"))
            }
        }
        State::Neg => match c {
            b'0' => Ok(State::Zero),
            b'1'..=b'9' => Ok(State::One),
            c => Err(invalid(c, "in numeric literal")),
        },
        State::One => match c {
            b'0'..=b'9' => Ok(State::One),
            c => step(State::Zero, stack, c),
        },
        State::Zero => match c {
            b'.' => Ok(State::Dot),
            b'e' | b'E' => Ok(State::E),
            c => end_value(stack, c),
        },
        State::Dot => match c {
            b'0'..=b'9' => Ok(State::Dot0),
            c => Err(invalid(c, "after decimal point in numeric literal")),
        },
        State::Dot0 => match c {
            b'0'..=b'9' => Ok(State::Dot0),
            b'e' | b'E' => Ok(State::E),
            c => end_value(stack, c),
        },
        State::E => match c {
            b'+' | b'-' => Ok(State::ESign),
            c => step(State::ESign, stack, c),
        },
        State::ESign => match c {
            b'0'..=b'9' => Ok(State::E0),
            c => Err(invalid(c, "in exponent of numeric literal")),
        },
        State::E0 => match c {
            b'0'..=b'9' => Ok(State::E0),
            c => end_value(stack, c),
        },
        State::Literal(rest, name) => {
            let want = rest[0];
            if c != want {
                return Err(invalid(
                    c,
                    &format!("in literal {name} (expecting {})", quote_char(want)),
                ));
            }
            Ok(if rest.len() == 1 {
                State::EndValue
            } else {
                State::Literal(&rest[1..], name)
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::check_valid;

    #[test]
    fn valid_values() {
        for ok in [
            "0",
            "-0",
            "12",
            "-1.5e+10",
            "1E5",
            "0.25",
            "true",
            "false",
            "null",
            "\"\"",
            "\"a\\u00e9\\n\"",
            "[]",
            "[ ]",
            "{}",
            "{ }",
            " [1, {\"a\": [null, true]}, \"x\"] ",
            "{\"a\":1,\"b\":{\"c\":[]}}",
            "\"héllo\"",
        ] {
            assert_eq!(check_valid(ok.as_bytes()), Ok(()), "{ok}");
        }
    }

    /// Texts as Go 1.19's `json.Unmarshal` words them.
    #[test]
    fn gos_texts() {
        let cases: &[(&str, &str)] = &[
            (
                "not json",
                "invalid character 'o' in literal null (expecting 'u')",
            ),
            ("", "unexpected end of JSON input"),
            ("   ", "unexpected end of JSON input"),
            ("{\"a\":", "unexpected end of JSON input"),
            ("[1,2", "unexpected end of JSON input"),
            ("-", "invalid character ' ' in numeric literal"),
            ("\"abc", "unexpected end of JSON input"),
            (
                "1.",
                "invalid character ' ' after decimal point in numeric literal",
            ),
            ("x", "invalid character 'x' looking for beginning of value"),
            (
                "[1,]",
                "invalid character ']' looking for beginning of value",
            ),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            (
                "{\"a\":1 \"b\"}",
                "invalid character '\"' after object key:value pair",
            ),
            (
                "{1:2}",
                "invalid character '1' looking for beginning of object key string",
            ),
            (
                "{\"a\":1,}",
                "invalid character '}' looking for beginning of object key string",
            ),
            ("[1 2]", "invalid character '2' after array element"),
            ("1 2", "invalid character '2' after top-level value"),
            ("{} x", "invalid character 'x' after top-level value"),
            ("01", "invalid character '1' after top-level value"),
            ("\"a\u{1}\"", "invalid character '\\x01' in string literal"),
            ("\"\\x\"", "invalid character 'x' in string escape code"),
            (
                "\"\\u12g4\"",
                "invalid character 'g' in \\u hexadecimal character escape",
            ),
            ("-a", "invalid character 'a' in numeric literal"),
            (
                "1.x",
                "invalid character 'x' after decimal point in numeric literal",
            ),
            (
                "1e+",
                "invalid character ' ' in exponent of numeric literal",
            ),
            (
                "1ex",
                "invalid character 'x' in exponent of numeric literal",
            ),
            (
                "tru",
                "invalid character ' ' in literal true (expecting 'e')",
            ),
            (
                "trUe",
                "invalid character 'U' in literal true (expecting 'u')",
            ),
            (
                "fals3",
                "invalid character '3' in literal false (expecting 'e')",
            ),
            (
                "'a'",
                "invalid character '\\'' looking for beginning of value",
            ),
            (
                "[\u{7f}]",
                "invalid character '\\x7f' looking for beginning of value",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                check_valid(input.as_bytes()).unwrap_err(),
                *want,
                "input {input:?}"
            );
        }
        let deep = "[".repeat(10_001);
        assert_eq!(
            check_valid(deep.as_bytes()).unwrap_err(),
            "exceeded max depth"
        );
    }
}
