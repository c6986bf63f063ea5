//! [`Status`]: the result of a call, with eRPC's framework codes and wire form.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::{BufMut, Bytes};

use crate::query;

/// A status code. Framework codes are associated constants; applications are advised by eRPC
/// to use codes above 1000.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
#[allow(clippy::exhaustive_structs)] // a newtype over the wire code
pub struct Code(pub i32);

impl Code {
    /// `-1`: unknown error; also the text of any unlisted code.
    pub const UNKNOWN_ERROR: Code = Code(-1);
    /// `0`: success.
    pub const OK: Code = Code(0);
    /// `1`: an operation used where it is not allowed.
    pub const INVALID_OP: Code = Code(1);
    /// `100`: the connection is of the wrong kind.
    pub const WRONG_CONN: Code = Code(100);
    /// `102`: the connection closed (pending calls complete with this when it drops).
    pub const CONN_CLOSED: Code = Code(102);
    /// `104`: writing the message failed.
    pub const WRITE_FAILED: Code = Code(104);
    /// `105`: dialing failed.
    pub const DIAL_FAILED: Code = Code(105);
    /// `400`: the message is malformed.
    pub const BAD_MESSAGE: Code = Code(400);
    /// `401`: authorization failed.
    pub const UNAUTHORIZED: Code = Code(401);
    /// `404`: no handler for the service method.
    pub const NOT_FOUND: Code = Code(404);
    /// `405`: the message type is not allowed here.
    pub const MTYPE_NOT_ALLOWED: Code = Code(405);
    /// `408`: the call took longer than its deadline.
    pub const HANDLE_TIMEOUT: Code = Code(408);
    /// `500`: the receiver failed.
    pub const INTERNAL_SERVER_ERROR: Code = Code(500);
    /// `502`: a proxy's upstream failed.
    pub const BAD_GATEWAY: Code = Code(502);

    /// The text Go's `CodeText` gives this code (`Unknown Error` for unlisted codes).
    pub fn text(self) -> &'static str {
        match self.0 {
            0 => "",
            1 => "Invalid Operation",
            100 => "Wrong Connection",
            102 => "Connection Closed",
            104 => "Write Failed",
            105 => "Dial Failed",
            400 => "Bad Message",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Message Type Not Allowed",
            408 => "Handle Timeout",
            500 => "Internal Server Error",
            502 => "Bad Gateway",
            _ => "Unknown Error",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The outcome of a call: a code, a message for users and an optional cause for debugging.
///
/// "No cause" and "an empty cause" are different states (both occur on the wire: Go's
/// built-in statuses carry an empty cause). A status with code 0 is OK.
///
/// ```
/// use erpc_proto::{Code, Status};
/// let st = Status::from_code(Code::NOT_FOUND);
/// assert_eq!(st.to_query_string(), "code=404&msg=Not%20Found&cause=");
/// let st = Status::new(1001, "custom error", Some("custom cause"));
/// assert_eq!(Status::from_query(st.to_query_string().into()).unwrap(), st);
/// ```
///
/// A status made from a local error (a failed dial, a broken connection) may also carry that
/// error as its [`source`](std::error::Error::source); it never goes on the wire, and two
/// statuses that differ only in it are equal.
#[derive(Clone, Default)]
pub struct Status {
    code: Code,
    msg: Cow<'static, str>,
    cause: Option<Cow<'static, str>>,
    /// Behind one thin pointer, so that a status (and every `Result` that carries one) stays
    /// as small as it was without it.
    source: Option<Arc<Source>>,
}

/// The local error behind a [`Status`].
#[derive(Debug)]
struct Source(Box<dyn std::error::Error + Send + Sync + 'static>);

impl PartialEq for Status {
    fn eq(&self, other: &Status) -> bool {
        self.code == other.code && self.msg == other.msg && self.cause == other.cause
    }
}

impl Eq for Status {}

impl std::hash::Hash for Status {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.code, &self.msg, &self.cause).hash(h);
    }
}

impl Default for Code {
    fn default() -> Self {
        Code::OK
    }
}

/// Why status text could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusParseError {
    /// The unescaped `msg` or `cause` is not valid UTF-8.
    InvalidUtf8,
}

impl Status {
    /// The OK status (code 0, no message, no cause). Does not allocate.
    pub const OK: Status = Status {
        code: Code::OK,
        msg: Cow::Borrowed(""),
        cause: None,
        source: None,
    };

    /// A status with the given code, message and cause.
    pub fn new(
        code: impl Into<Code>,
        msg: impl Into<Cow<'static, str>>,
        cause: Option<impl Into<Cow<'static, str>>>,
    ) -> Status {
        Status {
            code: code.into(),
            msg: msg.into(),
            cause: cause.map(Into::into),
            source: None,
        }
    }

    /// A framework status as Go builds it: the code's text as message and an empty (but
    /// present) cause, e.g. `code=404&msg=Not%20Found&cause=`.
    pub fn from_code(code: Code) -> Status {
        Status {
            code,
            msg: Cow::Borrowed(code.text()),
            cause: if code == Code::OK {
                None
            } else {
                Some(Cow::Borrowed(""))
            },
            source: None,
        }
    }

    /// A framework status with the code's text as message and the given cause.
    pub fn with_cause(code: Code, cause: impl Into<Cow<'static, str>>) -> Status {
        Status {
            code,
            msg: Cow::Borrowed(code.text()),
            cause: Some(cause.into()),
            source: None,
        }
    }

    /// This status with `source` as the local error behind it (see
    /// [`std::error::Error::source`]); the wire form does not change.
    ///
    /// ```
    /// use erpc_proto::{Code, Status};
    /// use std::error::Error;
    /// let io = std::io::Error::new(std::io::ErrorKind::TimedOut, "dial timeout");
    /// let st = Status::with_cause(Code::DIAL_FAILED, "dial 10.0.0.1:9090: dial timeout").with_source(io);
    /// assert!(st.is_dial() && st.is_timeout());
    /// let io = st.source().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    /// ```
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Status {
        self.source = Some(Arc::new(Source(Box::new(source))));
        self
    }

    /// The code.
    pub fn code(&self) -> Code {
        self.code
    }

    /// Whether the code is 0.
    pub fn is_ok(&self) -> bool {
        self.code == Code::OK
    }

    /// Whether this is a connection error (code 102 or 105), as Go's `IsConnError`.
    pub fn is_conn_error(&self) -> bool {
        self.code == Code::CONN_CLOSED || self.code == Code::DIAL_FAILED
    }

    /// Whether time ran out: code 408 (a call's deadline or a handler's budget, Go's
    /// `CodeHandleTimeout`), or a local error that timed out (a dial timeout).
    pub fn is_timeout(&self) -> bool {
        self.code == Code::HANDLE_TIMEOUT
            || self
                .source
                .as_deref()
                .and_then(|e| e.0.downcast_ref::<std::io::Error>())
                .is_some_and(|e| e.kind() == std::io::ErrorKind::TimedOut)
    }

    /// Whether the session is gone: code 102 (Go's `CodeConnClosed`).
    pub fn is_closed(&self) -> bool {
        self.code == Code::CONN_CLOSED
    }

    /// Whether a dial failed: code 105 (Go's `CodeDialFailed`).
    pub fn is_dial(&self) -> bool {
        self.code == Code::DIAL_FAILED
    }

    /// The message as transmitted (may be empty).
    pub fn raw_msg(&self) -> &str {
        &self.msg
    }

    /// The message for users: the cause when the message is empty and a cause exists, as Go's
    /// `Msg()`.
    pub fn msg(&self) -> &str {
        match (&*self.msg, &self.cause) {
            ("", Some(c)) => c,
            (m, _) => m,
        }
    }

    /// The cause, if present (possibly empty).
    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// Replaces the message.
    pub fn set_msg(&mut self, msg: impl Into<Cow<'static, str>>) {
        self.msg = msg.into();
    }

    /// Replaces the cause.
    pub fn set_cause(&mut self, cause: Option<impl Into<Cow<'static, str>>>) {
        self.cause = cause.map(Into::into);
    }

    /// Number of bytes [`Status::write_query`] writes.
    pub fn query_len(&self) -> usize {
        let mut itoa = [0u8; 11];
        let mut n = 5 + fmt_i32(self.code.0, &mut itoa).len();
        if !self.msg.is_empty() {
            n += 5 + query::escaped_len(self.msg.as_bytes());
        }
        if let Some(c) = &self.cause {
            n += 7 + query::escaped_len(c.as_bytes());
        }
        n
    }

    /// Appends the URL-query form Go writes: `code=N`, then `&msg=…` when the message is not
    /// empty, then `&cause=…` when a cause is present (even an empty one).
    pub fn write_query(&self, dst: &mut impl BufMut) {
        let mut itoa = [0u8; 11];
        dst.put_slice(b"code=");
        dst.put_slice(fmt_i32(self.code.0, &mut itoa));
        if !self.msg.is_empty() {
            dst.put_slice(b"&msg=");
            query::escape(self.msg.as_bytes(), dst);
        }
        if let Some(c) = &self.cause {
            dst.put_slice(b"&cause=");
            query::escape(c.as_bytes(), dst);
        }
    }

    /// The URL-query form as a string.
    pub fn to_query_string(&self) -> String {
        let mut v = Vec::with_capacity(self.query_len());
        self.write_query(&mut v);
        String::from_utf8(v).unwrap_or_default()
    }

    /// Parses the URL-query form as Go does: only the first `code`, `msg` and `cause` count,
    /// other keys are ignored, empty text is OK, a code that overflows clamps to the `i32`
    /// range. A code that is not a number reads as `-1` (Go reads it as 0, i.e. success,
    /// which hides errors; erpc-rs never writes such text).
    pub fn from_query(text: Bytes) -> Result<Status, StatusParseError> {
        if &text[..] == b"code=0" {
            return Ok(Status::OK);
        }
        let mut code = None;
        let mut msg = None;
        let mut cause = None;
        for (k, v) in query::pairs(text) {
            match &k[..] {
                b"code" if code.is_none() => code = Some(parse_code(&v)),
                b"msg" if msg.is_none() => msg = Some(v),
                b"cause" if cause.is_none() => cause = Some(v),
                _ => {}
            }
        }
        let to_string = |b: Bytes| -> Result<Cow<'static, str>, StatusParseError> {
            match std::str::from_utf8(&b) {
                Ok(s) => Ok(Cow::Owned(s.to_owned())),
                Err(_) => Err(StatusParseError::InvalidUtf8),
            }
        };
        Ok(Status {
            code: Code(code.unwrap_or(0)),
            msg: match msg {
                Some(m) => to_string(m)?,
                None => Cow::Borrowed(""),
            },
            cause: cause.map(to_string).transpose()?,
            source: None,
        })
    }

    /// The JSON form eRPC uses in httproto's `299` replies and in logs:
    /// `{"code":N,"msg":"…","cause":"…"}` (an absent cause is written as `""`).
    pub fn to_json(&self) -> String {
        let mut s = String::with_capacity(32 + self.msg.len());
        s.push_str("{\"code\":");
        s.push_str(&self.code.0.to_string());
        s.push_str(",\"msg\":");
        json_string(&self.msg, &mut s);
        s.push_str(",\"cause\":");
        json_string(self.cause.as_deref().unwrap_or(""), &mut s);
        s.push('}');
        s
    }
}

fn json_string(v: &str, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn fmt_i32(v: i32, buf: &mut [u8; 11]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Go's `strconv.ParseInt(v, 10, 32)` with clamping on overflow; not a number ⇒ -1.
fn parse_code(v: &[u8]) -> i32 {
    let (neg, digits) = match v.split_first() {
        Some((b'-', r)) => (true, r),
        Some((b'+', r)) => (false, r),
        _ => (false, v),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return -1;
    }
    let mut n: i64 = 0;
    for &d in digits {
        n = (n * 10 + i64::from(d - b'0')).min(1 << 32);
    }
    let n = if neg { -n } else { n };
    n.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
}

impl From<i32> for Code {
    fn from(v: i32) -> Code {
        Code(v)
    }
}

impl From<Code> for Status {
    fn from(code: Code) -> Status {
        Status::from_code(code)
    }
}

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Status");
        d.field("code", &self.code.0).field("msg", &self.msg);
        if let Some(c) = &self.cause {
            d.field("cause", c);
        }
        if let Some(e) = &self.source {
            d.field("source", &e.0);
        }
        d.finish()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.0, self.msg())?;
        match &self.cause {
            Some(c) if !c.is_empty() && **c != *self.msg() => write!(f, ": {c}"),
            _ => Ok(()),
        }
    }
}

impl std::error::Error for Status {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| &*e.0 as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn predicates_and_source() {
        use std::error::Error;
        assert!(Status::from_code(Code::HANDLE_TIMEOUT).is_timeout());
        assert!(Status::from_code(Code::CONN_CLOSED).is_closed());
        assert!(Status::from_code(Code::DIAL_FAILED).is_dial());
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let st = Status::with_cause(Code::DIAL_FAILED, "dial x: refused").with_source(refused);
        assert!(st.is_dial() && st.is_conn_error() && !st.is_timeout() && !st.is_closed());
        let io = st.source().and_then(|e| e.downcast_ref::<std::io::Error>());
        assert_eq!(
            io.map(|e| e.kind()),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        // The source is local: not on the wire, not in equality, kept by clones.
        let plain = Status::with_cause(Code::DIAL_FAILED, "dial x: refused");
        assert_eq!(st, plain);
        assert_eq!(st.to_query_string(), plain.to_query_string());
        assert!(st.clone().source().is_some() && plain.source().is_none());
        assert!(!Status::OK.is_timeout() && Status::OK.source().is_none());
    }

    use super::*;

    fn q(s: &Status) -> String {
        let t = s.to_query_string();
        assert_eq!(t.len(), s.query_len());
        t
    }

    #[test]
    fn encodes_reference_table() {
        assert_eq!(q(&Status::OK), "code=0");
        assert_eq!(
            q(&Status::from_code(Code::CONN_CLOSED)),
            "code=102&msg=Connection%20Closed&cause="
        );
        assert_eq!(
            q(&Status::with_cause(Code::BAD_MESSAGE, "x y&z=1")),
            "code=400&msg=Bad%20Message&cause=x%20y%26z%3D1"
        );
        assert_eq!(
            q(&Status::new(5, "", Some("only cause"))),
            "code=5&cause=only%20cause"
        );
        assert_eq!(q(&Status::new(-1, "", None::<&str>)), "code=-1");
        assert_eq!(
            q(&Status::new(i32::MIN, "", None::<&str>)),
            "code=-2147483648"
        );
    }

    #[test]
    fn parses_like_go() {
        let p = |s: &'static str| Status::from_query(Bytes::from_static(s.as_bytes())).unwrap();
        assert_eq!(p(""), Status::OK);
        assert_eq!(p("code=0"), Status::OK);
        assert_eq!(
            p("code=404&msg=Not+Found&cause="),
            Status::from_code(Code::NOT_FOUND)
        );
        assert_eq!(p("code=99999999999").code(), Code(i32::MAX));
        assert_eq!(p("code=-99999999999").code(), Code(i32::MIN));
        assert_eq!(p("code=x").code(), Code(-1));
        assert_eq!(p("x=1&code=7&code=8&msg=a&msg=b").code(), Code(7));
        assert_eq!(p("x=1&code=7&code=8&msg=a&msg=b").raw_msg(), "a");
        assert_eq!(p("code=5&cause=c").msg(), "c");
        assert!(Status::from_query(Bytes::from_static(b"code=1&msg=%FF")).is_err());
    }

    #[test]
    fn json_form() {
        assert_eq!(
            Status::new(1001, "custom error", None::<&str>).to_json(),
            r#"{"code":1001,"msg":"custom error","cause":""}"#
        );
    }
}
