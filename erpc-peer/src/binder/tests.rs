use super::__private::GoDisplay;
use super::*;
use crate::Bind;

#[derive(Debug, Default, serde::Deserialize, Bind)]
struct Args {
    #[param(len(3, 8), desc = "user name")]
    name: String,
    #[param(range(1, 120))]
    age: isize,
    #[param(regexp = "^[a-z0-9._-]+@[a-z0-9.-]+$")]
    email: String,
    #[param(nonzero)]
    score: f64,
    #[serde(skip)]
    #[param(meta = "token", nonzero, stat(100401, "token is required"))]
    token: String,
    #[serde(skip)]
    #[param(meta = "level", range(0, 9))]
    level: isize,
}

fn ok_args() -> Args {
    Args {
        name: "alice".into(),
        age: 30,
        email: "alice@example.com".into(),
        score: 1.5,
        ..Default::default()
    }
}

fn meta(pairs: &[(&str, &str)]) -> Meta {
    let mut m = Meta::new();
    for (k, v) in pairs {
        m.add(k, v);
    }
    m
}

fn run(mut a: Args, pairs: &[(&str, &str)]) -> Result<Args, Status> {
    let m = meta(pairs);
    a.bind(&BindInput::new("/bind/check", &m))?;
    Ok(a)
}

fn fails(a: Args, pairs: &[(&str, &str)]) -> (i32, String, String) {
    let st = run(a, pairs).expect_err("must fail");
    (
        st.code().0,
        st.msg().to_owned(),
        st.cause().unwrap_or_default().to_owned(),
    )
}

fn cause(param: &str, reason: &str) -> String {
    format!("{{\"handler\": \"/bind/check\", \"param\": \"{param}\", \"reason\": \"{reason}\"}}")
}

const OK_META: &[(&str, &str)] = &[("token", "t0k3n"), ("level", "3")];

#[test]
fn ok_binds_meta() {
    let a = run(ok_args(), OK_META).unwrap();
    assert_eq!(a.token, "t0k3n");
    assert_eq!(a.level, 3);
}

#[test]
fn len_rule() {
    for (name, reason) in [
        ("al", "shorter than 3: al"),
        ("alexander", "longer than 8: alexander"),
    ] {
        let a = Args {
            name: name.into(),
            ..ok_args()
        };
        assert_eq!(
            fails(a, OK_META),
            (400, "Invalid Parameter".into(), cause("name", reason))
        );
    }
    // Bytes, as Go's len: "é" is 2.
    let a = Args {
        name: "éé".into(),
        ..ok_args()
    };
    assert!(run(a, OK_META).is_ok());
}

#[test]
fn range_rule() {
    for (age, reason) in [(0, "smaller than 1: 0"), (121, "bigger than 120: 121")] {
        let a = Args { age, ..ok_args() };
        assert_eq!(
            fails(a, OK_META),
            (400, "Invalid Parameter".into(), cause("age", reason))
        );
    }
    for age in [1, 120] {
        assert!(run(Args { age, ..ok_args() }, OK_META).is_ok());
    }
}

#[test]
fn regexp_rule() {
    let a = Args {
        email: "Alice@Example.com".into(),
        ..ok_args()
    };
    assert_eq!(
        fails(a, OK_META).2,
        cause(
            "email",
            "not match ^[a-z0-9._-]+@[a-z0-9.-]+$: Alice@Example.com"
        )
    );
}

#[test]
fn nonzero_rule() {
    let a = Args {
        score: 0.0,
        ..ok_args()
    };
    assert_eq!(fails(a, OK_META).2, cause("score", "zero value"));
    assert!(run(
        Args {
            score: -0.5,
            ..ok_args()
        },
        OK_META
    )
    .is_ok());
}

#[test]
fn stat_rule() {
    assert_eq!(
        fails(ok_args(), &[("level", "3")]),
        (
            100401,
            "token is required".into(),
            cause("token", "zero value")
        )
    );
}

#[test]
fn meta_conversion() {
    assert_eq!(
        fails(ok_args(), &[("token", "t"), ("level", "12")]).2,
        cause("level", "bigger than 9: 12")
    );
    assert_eq!(
        fails(ok_args(), &[("token", "t"), ("level", "abc")]).2,
        cause(
            "level",
            "converting type []string (\\\"abc\\\") to a int: invalid syntax"
        )
    );
    assert_eq!(
        fails(
            ok_args(),
            &[("token", "t"), ("level", "99999999999999999999")]
        )
        .2,
        cause(
            "level",
            "converting type []string (\\\"99999999999999999999\\\") to a int: value out of range"
        )
    );
    // Absent: the decoded value stays (0 here).
    assert_eq!(run(ok_args(), &[("token", "t")]).unwrap().level, 0);
}

#[test]
fn first_failure_in_field_order() {
    let a = Args {
        name: "x".into(),
        age: 0,
        ..ok_args()
    };
    assert!(fails(a, &[]).2.contains("\"param\": \"name\""));
}

#[derive(Debug, Default, Bind)]
struct Kinds {
    #[param(meta)]
    flags: Vec<bool>,
    #[param(meta = "n", range(min = -5))]
    n: i8,
    #[param(meta = "u")]
    u: u32,
    #[param(meta = "f", range(max = 2.5))]
    f: f32,
    #[param(meta = "tags", len(max = 2), regexp = "^[a-z]+$")]
    tags: Vec<String>,
    #[param(meta = "raw", len(2))]
    raw: Vec<u8>,
    #[param(meta = "nums")]
    nums: Vec<u16>,
    #[param(swap = "user", nonzero, stat(msg = "who?"))]
    user: String,
    #[param(flatten)]
    inner: Inner,
}

#[derive(Debug, Default, Bind)]
struct Inner {
    #[param(meta = "deep", stat(code = 7))]
    deep: bool,
}

fn kinds(pairs: &[(&str, &str)]) -> Result<Kinds, Status> {
    let m = meta(pairs);
    let mut swap: std::collections::HashMap<String, Arc<dyn Any + Send + Sync>> =
        Default::default();
    swap.insert("user".into(), Arc::new(String::from("bob")));
    let mut k = Kinds::default();
    k.bind(&BindInput::new("/k", &m).with_swap(&swap))?;
    Ok(k)
}

#[test]
fn kinds_bind() {
    let k = kinds(&[
        ("flags", "on"),
        ("flags", "nope"),
        ("flags", " TRUE "),
        ("n", "-5"),
        ("u", "7"),
        ("f", "2.5"),
        ("tags", "a"),
        ("tags", "b"),
        ("raw", "hi"),
        ("nums", "1"),
        ("nums", "2"),
        ("deep", "1"),
    ])
    .unwrap();
    assert_eq!(k.flags, [true, false, true]);
    assert_eq!((k.n, k.u, k.f), (-5, 7, 2.5));
    assert_eq!(k.tags, ["a", "b"]);
    assert_eq!(k.raw, b"hi");
    assert_eq!(k.nums, [1, 2]);
    assert_eq!(k.user, "bob");
    assert!(k.inner.deep);
}

#[test]
fn kinds_fail() {
    let c = |pairs: &[(&str, &str)]| {
        let st = kinds(pairs).expect_err("must fail");
        (
            st.code().0,
            st.msg().to_owned(),
            st.cause().unwrap_or_default().to_owned(),
        )
    };
    let reason = |p: &str, r: &str| {
        format!("{{\"handler\": \"/k\", \"param\": \"{p}\", \"reason\": \"{r}\"}}")
    };
    assert_eq!(c(&[("n", "-6")]).2, reason("n", "smaller than -5: -6"));
    assert_eq!(
        c(&[("n", "200")]).2,
        reason(
            "n",
            "converting type []string (\\\"200\\\") to a int8: value out of range"
        )
    );
    assert_eq!(
        c(&[("u", "+1")]).2,
        reason(
            "u",
            "converting type []string (\\\"+1\\\") to a uint32: invalid syntax"
        )
    );
    assert_eq!(c(&[("f", "2.75")]).2, reason("f", "bigger than 2.5: 2.75"));
    assert_eq!(
        c(&[("f", "1e39")]).2,
        reason(
            "f",
            "converting type []string (\\\"1e39\\\") to a float32: value out of range"
        )
    );
    assert_eq!(
        c(&[("tags", "a"), ("tags", "b"), ("tags", "c")]).2,
        reason("tags", "longer than 2: [a b c]")
    );
    assert_eq!(
        c(&[("tags", "a"), ("tags", "B")]).2,
        reason("tags", "not match ^[a-z]+$: B")
    );
    assert_eq!(c(&[("raw", "h")]).2, reason("raw", "shorter than 2: [104]"));
    assert_eq!(
        c(&[("raw", "hi"), ("nums", "1"), ("nums", "x")]).2,
        reason(
            "nums",
            "converting type []string (\\\"x\\\") to a slice: invalid syntax"
        )
    );
    // Swap absent → zero → nonzero fails with the stat message, code kept.
    let m = meta(&[("raw", "hi")]);
    let mut k = Kinds::default();
    let st = k.bind(&BindInput::new("/k", &m)).unwrap_err();
    assert_eq!((st.code().0, st.msg()), (400, "who?"));
}

#[test]
fn params_listed() {
    let p = Args::params();
    assert_eq!(p.len(), 6);
    assert_eq!(p[0], ParamInfo::new("name", ParamSource::Body, "user name"));
    assert_eq!(p[4].source, ParamSource::Meta);
    let k = Kinds::params();
    assert_eq!(k.last().unwrap().name, "deep");
}

#[test]
fn bad_meta_never_panics() {
    let junk: &[&[u8]] = &[b"", b"\xff\xfe", b"-", b"+", b"1e", b"nan", b"inf", b"\0"];
    for v in junk {
        for key in ["flags", "n", "u", "f", "tags", "raw", "nums", "deep"] {
            let mut m = Meta::new();
            m.add(key, v);
            let mut k = Kinds::default();
            let _ = k.bind(&BindInput::new("/k", &m));
        }
    }
}

#[test]
fn go_formatting() {
    for (f, s) in [
        (1.5, "1.5"),
        (0.0, "0"),
        (-0.0, "-0"),
        (100.0, "100"),
        (123456.0, "123456"),
        (1234567.0, "1.234567e+06"),
        (1e21, "1e+21"),
        (0.0001, "0.0001"),
        (0.00001, "1e-05"),
        (-2.5e-7, "-2.5e-07"),
        (f64::NAN, "NaN"),
        (f64::INFINITY, "+Inf"),
    ] {
        assert_eq!(f.go_display(), s, "{f}");
    }
    assert_eq!(0.1f32.go_display(), "0.1");
    assert_eq!(go_quote("a\"b\\\n\u{1}é"), "\"a\\\"b\\\\\\n\\x01é\"");
    assert_eq!(
        invalid_parameter("/a", "p", "r \"q\"").cause(),
        Some("{\"handler\": \"/a\", \"param\": \"p\", \"reason\": \"r \\\"q\\\"\"}")
    );
}
