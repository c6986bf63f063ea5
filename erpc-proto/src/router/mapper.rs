//! Service-method mappers: how Go eRPC turns `(prefix, Go identifier)` into a route string.

/// Which naming style turns handler names into routes (Go's process-wide
/// `SetServiceMethodMapper`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mapper {
    /// HTTP style (Go's default): `AaBb` → `/aa_bb`, struct `Math` method `Add` →
    /// `/math/add`.
    #[default]
    Http,
    /// RPC style: `AaBb` → `AaBb`, struct `Hello` method `Say` → `Hello.Say`.
    Rpc,
}

impl Mapper {
    /// The route of `name` under `prefix` (itself produced by this mapper; the root prefix
    /// is `map("", "")`).
    ///
    /// ```
    /// use erpc_proto::router::Mapper;
    /// assert_eq!(Mapper::Http.map("", "MyHTTP_API"), "/my_http/api");
    /// assert_eq!(Mapper::Http.map("/math", "Add"), "/math/add");
    /// assert_eq!(Mapper::Rpc.map("grp.Math", "Add"), "grp.Math.Add");
    /// ```
    pub fn map(self, prefix: &str, name: &str) -> String {
        match self {
            Mapper::Http => http_map(prefix, name),
            Mapper::Rpc => rpc_map(prefix, name),
        }
    }

    /// The prefix of the root router: `/` (HTTP) or empty (RPC).
    pub fn root(self) -> String {
        self.map("", "")
    }
}

/// Go's underscore pass: a single `_` becomes `sep`, `__` a literal `_`, leading and third
/// underscores vanish.
fn normalise(name: &str, sep: char) -> String {
    let mut out: Vec<char> = Vec::with_capacity(name.len());
    let mut last: Option<char> = None;
    for r in name.chars() {
        if last == Some('_') {
            if r == '_' {
                last = None;
                continue;
            }
            if let Some(l) = out.last_mut() {
                *l = sep;
            }
        }
        if last.is_none() && r == '_' {
            continue;
        }
        out.push(r);
        last = Some(r);
    }
    out.into_iter().collect()
}

fn snake(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let mut seen = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if seen {
                out.push('_');
                seen = false;
            }
        } else if c != '_' {
            seen = true;
        }
        out.push(c);
    }
    out.to_ascii_lowercase()
}

fn http_map(prefix: &str, name: &str) -> String {
    let s = snake(&normalise(name, '/'))
        .replace("__", "_")
        .replace("/_", "/");
    clean_join(prefix, &s)
}

fn rpc_map(prefix: &str, name: &str) -> String {
    let joined = format!("{prefix}.{}", normalise(name, '.'));
    joined.trim_matches('.').to_owned()
}

/// `path.Join("/", prefix, s)`: join with `/` and clean lexically.
fn clean_join(prefix: &str, s: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for seg in prefix.split('/').chain(s.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            seg => parts.push(seg),
        }
    }
    let mut out = String::with_capacity(prefix.len() + s.len() + 1);
    for p in &parts {
        out.push('/');
        out.push_str(p);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_table() {
        for (name, route) in [
            ("AaBb", "/aa_bb"),
            ("ABcXYz", "/abc_xyz"),
            ("Aa__Bb", "/aa_bb"),
            ("aa__bb", "/aa_bb"),
            ("Aa________Bb", "/aa_bb"),
            ("ABC__XYZ", "/abc_xyz"),
            ("Aa_Bb", "/aa/bb"),
            ("aa_bb", "/aa/bb"),
            ("ABC_XYZ", "/abc/xyz"),
            ("HTTPServer", "/httpserver"),
            ("userID", "/user_id"),
            ("Get2ndItem", "/get2nd_item"),
            ("Add__2", "/add_2"),
            ("_Foo", "/foo"),
            ("__init", "/init"),
            ("Foo_", "/foo_"),
            ("a___b", "/a_b"),
            ("math_v2", "/math/v2"),
            ("MyHTTP_API", "/my_http/api"),
            ("heartbeat", "/heartbeat"),
        ] {
            assert_eq!(Mapper::Http.map("", name), route, "{name}");
        }
        let root = Mapper::Http.root();
        assert_eq!(root, "/");
        let math = Mapper::Http.map(&root, "Math");
        assert_eq!(Mapper::Http.map(&math, "Add"), "/math/add");
        let srv = Mapper::Http.map(&root, "srv");
        let m2 = Mapper::Http.map(&srv, "math_v2");
        assert_eq!(Mapper::Http.map(&m2, "Add__2"), "/srv/math/v2/add_2");
    }

    #[test]
    fn rpc_table() {
        for (name, route) in [
            ("AaBb", "AaBb"),
            ("ABcXYz", "ABcXYz"),
            ("Aa__Bb", "Aa_Bb"),
            ("aa__bb", "aa_bb"),
            ("ABC__XYZ", "ABC_XYZ"),
            ("Aa_Bb", "Aa.Bb"),
            ("aa_bb", "aa.bb"),
            ("ABC_XYZ", "ABC.XYZ"),
            ("_Foo", "Foo"),
        ] {
            assert_eq!(Mapper::Rpc.map("", name), route, "{name}");
        }
        assert_eq!(Mapper::Rpc.root(), "");
        assert_eq!(
            Mapper::Rpc.map(&Mapper::Rpc.map("", "Hello"), "Say"),
            "Hello.Say"
        );
        let grp = Mapper::Rpc.map("", "grp");
        let m = Mapper::Rpc.map(&grp, "Math");
        assert_eq!(Mapper::Rpc.map(&m, "Add"), "grp.Math.Add");
    }
}
