//! Go eRPC's binder plugin (`plugin/binder`): bind meta (and swap data) into the fields of
//! a call's argument and validate them after the body is decoded.
//!
//! Derive [`Bind`](macro@crate::Bind) on the argument type and register the handler with
//! [`PeerBuilder::call_bound`](crate::PeerBuilder::call_bound) (or wrap it with [`bound`]).
//! Field attributes mirror Go's `param` tag:
//!
//! | Go tag | Rust attribute | applies to |
//! |---|---|---|
//! | `<meta:id>` | `#[param(meta = "id")]` (`meta` alone: the field's name) | `String`, `bool`, integers, floats, `Vec<u8>` (the first value), `Vec` of those (every value) |
//! | `<swap:id>` | `#[param(swap = "id")]` | any `Clone` type (see "Swap") |
//! | `<desc:text>` | `#[param(desc = "text")]` | any (documentation, [`Bind::params`]) |
//! | `<len:a:b>` | `#[param(len(a, b))]`, `len(a)` (exactly a), `len(min = a)`, `len(max = b)` | strings, `Vec`, maps |
//! | `<range:a:b>` | `#[param(range(a, b))]`, `range(min = a)`, `range(max = b)` | integers and floats |
//! | `<nonzero>` | `#[param(nonzero)]` | numbers, `bool`, strings, `Vec`, maps |
//! | `<regexp:re>` | `#[param(regexp = "re")]` | `String`, `Vec<String>` |
//! | `<stat:c:m>` | `#[param(stat(c, "m"))]`, `stat(code = c)`, `stat(msg = "m")` | any |
//! | untagged embedded struct | `#[param(flatten)]` on a field whose type derives `Bind` | — |
//!
//! What Go checks when the handler is registered is checked when the derive expands: a rule
//! on a type it does not fit (`range` on a `String`) does not compile, nor does an invalid
//! regular expression (the `regex` crate's syntax, which is RE2's with few differences).
//! Each regular expression is compiled once per type.
//!
//! At run time, fields are bound and validated in declaration order, each rule in Go's
//! order (`len`, `range`, `nonzero`, `regexp`); the first failure answers, the handler is not
//! called. The failure is Go's: `400 "Invalid Parameter"` with the cause
//! `{"handler": "<route>", "param": "<name>", "reason": "<reason>"}` (Go-quoted strings,
//! those exact spaces), the reasons worded as Go words them (`shorter than 3: al`,
//! `bigger than 120: 121`, `zero value`, `not match <re>: <value>`,
//! `converting type []string ("abc") to a int: invalid syntax`); `stat` replaces the code
//! (when not 0) and the message (when not empty). The parameter name is the meta or swap key,
//! else the field's name.
//!
//! ```
//! use erpc_peer::{CallCtx, PeerBuilder, Runtime, Status};
//!
//! #[derive(serde::Deserialize, erpc_peer::Bind)]
//! struct Args {
//!     #[param(len(3, 8), desc = "user name")]
//!     name: String,
//!     #[serde(skip)]
//!     #[param(meta = "token", nonzero, stat(100401, "token is required"))]
//!     token: String,
//! }
//!
//! fn register<R: Runtime>(b: PeerBuilder<R>) -> PeerBuilder<R> {
//!     b.call_bound("/user/check", |_ctx: CallCtx, args: Args| async move {
//!         Ok::<_, Status>(args.name)
//!     })
//! }
//! ```
//!
//! Checked when it expands — these do not compile:
//!
//! ```compile_fail
//! #[derive(erpc_peer::Bind)]
//! struct A {
//!     #[param(range(1, 9))] // `range` on a string
//!     name: String,
//! }
//! ```
//!
//! ```compile_fail
//! #[derive(erpc_peer::Bind)]
//! struct A {
//!     #[param(regexp = "^(unclosed")]
//!     name: String,
//! }
//! ```
//!
//! ```compile_fail
//! #[derive(erpc_peer::Bind)]
//! struct A {
//!     #[param(meta = "at")] // no meta conversion to this type
//!     at: std::time::Duration,
//! }
//! ```
//!
//! ```
//! use erpc_peer::binder::{Bind, BindInput};
//! #[derive(Default, erpc_peer::Bind)]
//! struct A {
//!     #[param(meta = "level", range(0, 9))]
//!     level: isize,
//! }
//! let mut meta = erpc_peer::Meta::new();
//! meta.add("level", "12");
//! let st = A::default().bind(&BindInput::new("/a", &meta)).unwrap_err();
//! assert_eq!(st.cause(), Some(r#"{"handler": "/a", "param": "level", "reason": "bigger than 9: 12"}"#));
//! ```
//!
//! Meta fields usually carry `#[serde(skip)]` (Go's `json:"-"`) so the body cannot set them;
//! a meta key that is absent leaves the field as decoded.
//!
//! ## Differences from Go
//!
//! - Swap: Go binds from the call context's swap (a per-call map plugins fill). erpc-rs has
//!   no per-call map; [`call_bound`](crate::PeerBuilder::call_bound) binds from the session's
//!   data ([`Session::set_data`]); [`Bind::bind`] takes any [`SwapSource`]. A value of another
//!   type than the field's is treated as absent (Go converts convertible types).
//! - Meta into `String`: non-UTF-8 bytes are replaced (U+FFFD); Go keeps them.
//! - Floats from meta: Go's hexadecimal floats (`0x1p-2`) and `_` separators are refused.
//! - `nonzero` on a `Vec` or map means "not empty"; Go panics comparing slices and answers
//!   the panic's text.
//! - `range` applies to scalar numbers only (Go accepts `[]int` and then checks 0).
//! - Regular expressions run on the `regex` crate: its `\d`, `\w`, `\s` and `\b` are
//!   Unicode-aware, Go's are ASCII (write `(?-u:\w)` or `[0-9A-Za-z_]` for Go's meaning);
//!   the rest of RE2's syntax is the same.
//! - Go's registration-time errors (a rule on the wrong type, a bad regexp, a bad `stat`) are
//!   compile errors; Go's `param:"-"` is simply a field without `#[param]`.
//! - Go's recovered panics (reason = the panic text, param `""`) have no counterpart: binding
//!   never panics.
//! - Integer kinds in reasons: `isize`/`usize` are Go's `int`/`uint`, `i64` is `int64`.

use std::any::Any;
use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use erpc_proto::session::Reply;
use erpc_proto::{Code, CodecId, Meta, Status};
use futures_util::future::{Either, Map};
use futures_util::FutureExt;

use crate::context::CallCtx;
use crate::handler::IntoReply;
use crate::Session;

/// A type whose fields are bound from a call and validated (Go's binder); derive it with
/// [`#[derive(Bind)]`](macro@crate::Bind).
pub trait Bind {
    /// Binds meta and swap values into the fields and validates them, in field order; the
    /// first failure's status (Go's, see the [module docs](self)).
    fn bind(&mut self, input: &BindInput<'_>) -> Result<(), Status>;

    /// The bound parameters, in order (Go's `Params`), for documentation.
    fn params() -> Vec<ParamInfo>;
}

/// Where a parameter comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamSource {
    /// The decoded body.
    Body,
    /// A meta key.
    Meta,
    /// A swap key.
    Swap,
}

/// One bound parameter of a [`Bind`] type.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParamInfo {
    /// The name in errors (the meta or swap key, else the field's name).
    pub name: &'static str,
    /// Where its value comes from.
    pub source: ParamSource,
    /// Its `desc`, empty when none.
    pub desc: &'static str,
}

impl ParamInfo {
    /// A parameter description.
    pub fn new(name: &'static str, source: ParamSource, desc: &'static str) -> Self {
        ParamInfo { name, source, desc }
    }
}

/// Values looked up by key for `swap` fields.
pub trait SwapSource {
    /// The value stored at `key`, if any.
    fn load(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>>;
}

impl SwapSource for Session {
    fn load(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.data_any(key)
    }
}

impl<S: std::hash::BuildHasher> SwapSource
    for std::collections::HashMap<String, Arc<dyn Any + Send + Sync>, S>
{
    fn load(&self, key: &str) -> Option<Arc<dyn Any + Send + Sync>> {
        self.get(key).cloned()
    }
}

/// What [`Bind::bind`] binds from: the handler's name (for errors), the call's meta, and
/// optionally the swap.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct BindInput<'a> {
    /// The handler's name in errors (Go: the route).
    pub handler: &'a str,
    /// The call's meta.
    pub meta: &'a Meta,
    /// Where `swap` fields are read; none: they keep their value.
    pub swap: Option<&'a dyn SwapSource>,
}

impl std::fmt::Debug for BindInput<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BindInput")
            .field("handler", &self.handler)
            .field("meta", &self.meta)
            .field("swap", &self.swap.is_some())
            .finish()
    }
}

impl<'a> BindInput<'a> {
    /// Input without swap.
    pub fn new(handler: &'a str, meta: &'a Meta) -> Self {
        BindInput {
            handler,
            meta,
            swap: None,
        }
    }

    /// The same with `swap` as the swap.
    pub fn with_swap(mut self, swap: &'a dyn SwapSource) -> Self {
        self.swap = Some(swap);
        self
    }
}

/// Go's default binder error: `400 "Invalid Parameter"` with the JSON cause
/// `{"handler": "…", "param": "…", "reason": "…"}` (Go's `%q` quoting, its spacing).
pub fn invalid_parameter(handler: &str, param: &str, reason: &str) -> Status {
    Status::new(
        Code::BAD_MESSAGE,
        "Invalid Parameter",
        Some(format!(
            "{{\"handler\": {}, \"param\": {}, \"reason\": {}}}",
            go_quote(handler),
            go_quote(param),
            go_quote(reason)
        )),
    )
}

/// What a [`bound`] handler answers: the refusal of its argument, or the handler's answer.
#[derive(Debug)]
#[non_exhaustive]
pub enum BoundReply<O> {
    /// The binder refused the argument.
    Refused(Status),
    /// The handler's own answer.
    Answered(O),
}

impl<O: IntoReply> IntoReply for BoundReply<O> {
    fn into_reply(self, codec: CodecId, codecs: &erpc_proto::codec::CodecRegistry) -> Reply {
        match self {
            BoundReply::Refused(st) => Reply::error(st),
            BoundReply::Answered(o) => o.into_reply(codec, codecs),
        }
    }
}

/// Wraps a call handler so that its argument is bound and validated first (from the call's
/// meta and the session's data as swap), with `handler` as the name in errors (the route).
/// [`PeerBuilder::call_bound`](crate::PeerBuilder::call_bound) does this with its route.
pub fn bound<A, F, Fut>(
    handler: impl Into<String>,
    f: F,
) -> impl Fn(CallCtx, A) -> BoundFuture<Fut> + Send + Sync + 'static
where
    A: Bind + Send + 'static,
    F: Fn(CallCtx, A) -> Fut + Send + Sync + 'static,
    Fut: Future + Send + 'static,
    Fut::Output: Send,
{
    let name: Arc<str> = Arc::from(handler.into());
    move |ctx: CallCtx, mut args: A| {
        let input = BindInput::new(&name, &ctx.meta).with_swap(&ctx.session);
        match args.bind(&input) {
            Ok(()) => Either::Right(f(ctx, args).map(BoundReply::Answered as fn(_) -> _)),
            Err(st) => Either::Left(std::future::ready(BoundReply::Refused(st))),
        }
    }
}

/// [`bound`] for a plain (blocking) handler, whatever its session type: the blocking
/// adapter's `call_bound` and `#[service(blocking)]` use it.
pub fn bound_blocking<S, A, F, O>(
    handler: impl Into<String>,
    f: F,
) -> impl Fn(CallCtx<S>, A) -> BoundReply<O> + Send + Sync + 'static
where
    S: SwapSource,
    A: Bind + Send + 'static,
    F: Fn(CallCtx<S>, A) -> O + Send + Sync + 'static,
{
    let name: Arc<str> = Arc::from(handler.into());
    move |ctx: CallCtx<S>, mut args: A| {
        let input = BindInput::new(&name, &ctx.meta).with_swap(&ctx.session);
        match args.bind(&input) {
            Ok(()) => BoundReply::Answered(f(ctx, args)),
            Err(st) => BoundReply::Refused(st),
        }
    }
}

/// The future of a [`bound`] handler.
pub type BoundFuture<Fut> = Either<
    std::future::Ready<BoundReply<<Fut as Future>::Output>>,
    Map<Fut, fn(<Fut as Future>::Output) -> BoundReply<<Fut as Future>::Output>>,
>;

pub(crate) use erpc_proto::go_text::quote as go_quote;

/// Go's `%v` of a float (`strconv.FormatFloat(f, 'g', -1, bits)`), from Rust's shortest
/// `{:e}` digits of it.
fn go_float(f: f64, shortest: String) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // `shortest` is Rust's `{:e}`: "-1.2345e6", "0e0".
    let (mant, exp) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let digits: String = mant.chars().filter(|c| c.is_ascii_digit()).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if f == 0.0 {
        out.push('0');
        return out;
    }
    // Go's shortest %g: exponent form when exp < -4 || exp >= 6.
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let a = exp.unsigned_abs();
        if a < 10 {
            out.push('0');
        }
        out.push_str(&a.to_string());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

#[doc(hidden)]
pub mod __private {
    //! Support of `#[derive(Bind)]`; not a public API.
    use super::*;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::OnceLock;

    pub use regex::Regex;

    /// Go's `%v` of a value, as the binder's reasons print it.
    pub trait GoDisplay {
        /// The text.
        fn go_display(&self) -> String;
    }

    macro_rules! display_int {
        ($($t:ty),*) => {$(
            impl GoDisplay for $t {
                fn go_display(&self) -> String { self.to_string() }
            }
        )*};
    }
    display_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, bool);

    impl GoDisplay for f64 {
        fn go_display(&self) -> String {
            go_float(*self, format!("{self:e}"))
        }
    }
    impl GoDisplay for f32 {
        fn go_display(&self) -> String {
            go_float(f64::from(*self), format!("{self:e}"))
        }
    }
    impl GoDisplay for String {
        fn go_display(&self) -> String {
            self.clone()
        }
    }
    impl<T: GoDisplay> GoDisplay for Vec<T> {
        fn go_display(&self) -> String {
            let items: Vec<String> = self.iter().map(GoDisplay::go_display).collect();
            format!("[{}]", items.join(" "))
        }
    }
    impl<K: GoDisplay, V: GoDisplay, S> GoDisplay for HashMap<K, V, S> {
        fn go_display(&self) -> String {
            // Go prints maps with sorted keys.
            let mut items: Vec<(String, String)> = self
                .iter()
                .map(|(k, v)| (k.go_display(), v.go_display()))
                .collect();
            items.sort();
            map_text(items)
        }
    }
    impl<K: GoDisplay, V: GoDisplay> GoDisplay for BTreeMap<K, V> {
        fn go_display(&self) -> String {
            map_text(
                self.iter()
                    .map(|(k, v)| (k.go_display(), v.go_display()))
                    .collect(),
            )
        }
    }
    fn map_text(items: Vec<(String, String)>) -> String {
        let items: Vec<String> = items.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
        format!("map[{}]", items.join(" "))
    }

    /// Types a `len` rule applies to.
    #[diagnostic::on_unimplemented(
        message = "`len` does not apply to `{Self}`",
        label = "`#[param(len(..))]` needs a string, a `Vec` or a map (Go's `len` tag)"
    )]
    pub trait LenRule: GoDisplay {
        /// Go's `len`: bytes of a string, items of a `Vec` or map.
        fn rule_len(&self) -> usize;
    }
    impl LenRule for String {
        fn rule_len(&self) -> usize {
            self.len()
        }
    }
    impl<T: GoDisplay> LenRule for Vec<T> {
        fn rule_len(&self) -> usize {
            self.len()
        }
    }
    impl<K: GoDisplay, V: GoDisplay, S> LenRule for HashMap<K, V, S> {
        fn rule_len(&self) -> usize {
            self.len()
        }
    }
    impl<K: GoDisplay, V: GoDisplay> LenRule for BTreeMap<K, V> {
        fn rule_len(&self) -> usize {
            self.len()
        }
    }

    /// Types a `range` rule applies to.
    #[diagnostic::on_unimplemented(
        message = "`range` does not apply to `{Self}`",
        label = "`#[param(range(..))]` needs an integer or a float (Go's `range` tag)"
    )]
    pub trait RangeRule: GoDisplay {
        /// The value as Go compares it (a float64).
        fn rule_f64(&self) -> f64;
    }
    macro_rules! range_num {
        ($($t:ty),*) => {$(
            impl RangeRule for $t {
                #[allow(clippy::cast_precision_loss, clippy::cast_lossless)]
                fn rule_f64(&self) -> f64 { *self as f64 }
            }
        )*};
    }
    range_num!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize, f32, f64);

    /// Types a `nonzero` rule applies to.
    #[diagnostic::on_unimplemented(
        message = "`nonzero` does not apply to `{Self}`",
        label = "`#[param(nonzero)]` needs a number, bool, string, `Vec` or map"
    )]
    pub trait NonZeroRule {
        /// Whether the value is its type's zero value (empty for `Vec` and maps).
        fn rule_is_zero(&self) -> bool;
    }
    macro_rules! zero_num {
        ($($t:ty),*) => {$(
            impl NonZeroRule for $t {
                #[allow(clippy::float_cmp)]
                fn rule_is_zero(&self) -> bool { *self == (0 as $t) }
            }
        )*};
    }
    zero_num!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);
    impl NonZeroRule for bool {
        fn rule_is_zero(&self) -> bool {
            !*self
        }
    }
    impl NonZeroRule for String {
        fn rule_is_zero(&self) -> bool {
            self.is_empty()
        }
    }
    impl<T> NonZeroRule for Vec<T> {
        fn rule_is_zero(&self) -> bool {
            self.is_empty()
        }
    }
    impl<K, V, S> NonZeroRule for HashMap<K, V, S> {
        fn rule_is_zero(&self) -> bool {
            self.is_empty()
        }
    }
    impl<K, V> NonZeroRule for BTreeMap<K, V> {
        fn rule_is_zero(&self) -> bool {
            self.is_empty()
        }
    }

    /// Types a `regexp` rule applies to.
    #[diagnostic::on_unimplemented(
        message = "`regexp` does not apply to `{Self}`",
        label = "`#[param(regexp = ..)]` needs a `String` or `Vec<String>` (Go's `regexp` tag)"
    )]
    pub trait RegexpRule {
        /// The first string that does not match `re`.
        fn rule_mismatch(&self, re: &Regex) -> Option<&str>;
    }
    impl RegexpRule for String {
        fn rule_mismatch(&self, re: &Regex) -> Option<&str> {
            (!re.is_match(self)).then_some(self.as_str())
        }
    }
    impl RegexpRule for Vec<String> {
        fn rule_mismatch(&self, re: &Regex) -> Option<&str> {
            self.iter().find(|s| !re.is_match(s)).map(String::as_str)
        }
    }

    /// Types a `meta` field may have (Go's `convertAssign`).
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot be bound from meta",
        label = "`#[param(meta)]` needs a string, bool, integer, float, `Vec<u8>`, `Vec<Vec<u8>>` or a `Vec` of those"
    )]
    pub trait FromMeta: Sized {
        /// The value from every value of the key (at least one), or Go's reason.
        fn from_meta(values: &[&[u8]]) -> Result<Self, String>;
    }

    fn text(v: &[u8]) -> Cow<'_, str> {
        String::from_utf8_lossy(v)
    }

    fn first<'a>(values: &[&'a [u8]]) -> &'a [u8] {
        values.first().copied().unwrap_or_default()
    }

    fn go_bool(v: &[u8]) -> bool {
        matches!(
            text(v).trim().to_ascii_lowercase().as_str(),
            "true" | "on" | "1"
        )
    }

    fn convert_err(s: &str, kind: &str, err: &str) -> String {
        format!(
            "converting type []string ({}) to a {kind}: {err}",
            go_quote(s)
        )
    }

    /// A scalar Go's `convertAssign` parses: its kind name and parser.
    pub trait MetaScalar: Sized {
        /// Go's kind name.
        const KIND: &'static str;
        /// Go's `strconv` parse, or its error text (`invalid syntax`, `value out of range`).
        fn parse(s: &str) -> Result<Self, &'static str>;
    }

    fn int_err(e: &std::num::ParseIntError) -> &'static str {
        use std::num::IntErrorKind::*;
        match e.kind() {
            PosOverflow | NegOverflow => "value out of range",
            _ => "invalid syntax",
        }
    }

    macro_rules! meta_int {
        ($($t:ty => $k:literal, $signed:literal);*) => {$(
            impl MetaScalar for $t {
                const KIND: &'static str = $k;
                fn parse(s: &str) -> Result<Self, &'static str> {
                    // Go's ParseUint takes no sign.
                    if !$signed && s.starts_with('+') {
                        return Err("invalid syntax");
                    }
                    s.parse::<$t>().map_err(|e| int_err(&e))
                }
            }
        )*};
    }
    meta_int!(i8 => "int8", true; i16 => "int16", true; i32 => "int32", true;
        i64 => "int64", true; isize => "int", true;
        u8 => "uint8", false; u16 => "uint16", false; u32 => "uint32", false;
        u64 => "uint64", false; usize => "uint", false);

    fn float_ok(s: &str) -> bool {
        // Rust also reads these; Go's ParseFloat does too. What Rust reads beyond Go's
        // syntax is nothing; what Go reads beyond Rust's (hex, `_`) is refused.
        let t = s.trim_start_matches(['+', '-']).to_ascii_lowercase();
        matches!(t.as_str(), "inf" | "infinity" | "nan")
    }

    macro_rules! meta_float {
        ($($t:ty => $k:literal);*) => {$(
            impl MetaScalar for $t {
                const KIND: &'static str = $k;
                fn parse(s: &str) -> Result<Self, &'static str> {
                    let v = s.parse::<$t>().map_err(|_| "invalid syntax")?;
                    if v.is_infinite() && !float_ok(s) {
                        return Err("value out of range");
                    }
                    Ok(v)
                }
            }
        )*};
    }
    meta_float!(f32 => "float32"; f64 => "float64");

    macro_rules! meta_scalar_impls {
        ($($t:ty),*) => {$(
            impl FromMeta for $t {
                fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
                    let s = text(first(values));
                    <$t as MetaScalar>::parse(&s)
                        .map_err(|e| convert_err(&s, <$t as MetaScalar>::KIND, e))
                }
            }
            impl FromMeta for Vec<$t> {
                fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
                    values
                        .iter()
                        .map(|v| {
                            let s = text(v);
                            <$t as MetaScalar>::parse(&s).map_err(|e| convert_err(&s, "slice", e))
                        })
                        .collect()
                }
            }
        )*};
    }
    meta_scalar_impls!(i8, i16, i32, i64, isize, u16, u32, u64, usize, f32, f64);

    // u8 alone: `Vec<u8>` is Go's `[]byte` (the first value's bytes).
    impl FromMeta for u8 {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            let s = text(first(values));
            <u8 as MetaScalar>::parse(&s).map_err(|e| convert_err(&s, "uint8", e))
        }
    }
    impl FromMeta for Vec<u8> {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(first(values).to_vec())
        }
    }
    impl FromMeta for Vec<Vec<u8>> {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(values.iter().map(|v| v.to_vec()).collect())
        }
    }
    impl FromMeta for String {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(text(first(values)).into_owned())
        }
    }
    impl FromMeta for Vec<String> {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(values.iter().map(|v| text(v).into_owned()).collect())
        }
    }
    impl FromMeta for bool {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(go_bool(first(values)))
        }
    }
    impl FromMeta for Vec<bool> {
        fn from_meta(values: &[&[u8]]) -> Result<Self, String> {
            Ok(values.iter().map(|v| go_bool(v)).collect())
        }
    }

    /// Binds meta `key` into `dst` when the call has it.
    pub fn bind_meta<T: FromMeta>(
        input: &BindInput<'_>,
        key: &str,
        dst: &mut T,
    ) -> Result<(), String> {
        let values: Vec<&[u8]> = input.meta.peek_all(key).collect();
        if !values.is_empty() {
            *dst = T::from_meta(&values)?;
        }
        Ok(())
    }

    /// Binds swap `key` into `dst` when the swap has a value of that type.
    pub fn bind_swap<T: Any + Clone>(input: &BindInput<'_>, key: &str, dst: &mut T) {
        if let Some(v) = input.swap.and_then(|s| s.load(key)) {
            if let Some(v) = v.downcast_ref::<T>() {
                *dst = v.clone();
            }
        }
    }

    /// `len`: Go's reason when the length is out of `[min, max]`; the texts are the bounds
    /// as written.
    pub fn check_len<T: LenRule>(
        v: &T,
        min: Option<(usize, &str)>,
        max: Option<(usize, &str)>,
    ) -> Result<(), String> {
        let n = v.rule_len();
        if let Some((m, t)) = min {
            if n < m {
                return Err(format!("shorter than {t}: {}", v.go_display()));
            }
        }
        if let Some((m, t)) = max {
            if n > m {
                return Err(format!("longer than {t}: {}", v.go_display()));
            }
        }
        Ok(())
    }

    const ACCURACY: f64 = 0.000_000_1;

    /// `range`: Go's comparison (as float64, with its 1e-7 tolerance) and reason.
    pub fn check_range<T: RangeRule>(
        v: &T,
        min: Option<(f64, &str)>,
        max: Option<(f64, &str)>,
    ) -> Result<(), String> {
        let f = v.rule_f64();
        if let Some((m, t)) = min {
            if f <= m && (f - m).abs() > ACCURACY {
                return Err(format!("smaller than {t}: {}", v.go_display()));
            }
        }
        if let Some((m, t)) = max {
            if f >= m && (f - m).abs() > ACCURACY {
                return Err(format!("bigger than {t}: {}", v.go_display()));
            }
        }
        Ok(())
    }

    /// `nonzero`.
    pub fn check_nonzero<T: NonZeroRule>(v: &T) -> Result<(), String> {
        if v.rule_is_zero() {
            Err("zero value".into())
        } else {
            Ok(())
        }
    }

    /// `regexp`: `pattern` (checked when the derive expanded) compiled once in `cell`.
    pub fn check_regexp<T: RegexpRule>(
        v: &T,
        cell: &OnceLock<Result<Regex, String>>,
        pattern: &str,
    ) -> Result<(), String> {
        let re = cell.get_or_init(|| Regex::new(pattern).map_err(|e| e.to_string()));
        match re {
            Ok(re) => match v.rule_mismatch(re) {
                Some(s) => Err(format!("not match {pattern}: {s}")),
                None => Ok(()),
            },
            Err(e) => Err(e.clone()),
        }
    }

    /// The status of a failed parameter: Go's default, with `stat`'s code (when not 0) and
    /// message (when not empty).
    pub fn fail(
        input: &BindInput<'_>,
        param: &str,
        reason: &str,
        code: i32,
        msg: &'static str,
    ) -> Status {
        let mut st = invalid_parameter(input.handler, param, reason);
        if !msg.is_empty() {
            st.set_msg(msg);
        }
        if code != 0 {
            st = Status::new(code, st.msg().to_owned(), st.cause().map(str::to_owned));
        }
        st
    }
}

#[cfg(test)]
mod tests;
