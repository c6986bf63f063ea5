//! [`Meta`]: eRPC's header-like metadata, an ordered multi-map of byte strings.

use std::fmt;

use bytes::{BufMut, Bytes};

use crate::query;

/// Ordered multi-map of byte-string keys and values, as Go eRPC's `Args` type.
///
/// Keys are compared byte for byte (case-sensitive); repeated keys are kept in insertion
/// order. On the wire it is a URL query (`k1=v1&k2=v2`) with Go's escaping; a pair with an
/// empty value is written as the bare key.
///
/// ```
/// use erpc_proto::Meta;
/// let mut meta = Meta::new();
/// meta.add("dup", "1");
/// meta.add("dup", "2");
/// meta.set("author", "henrylee2cn");
/// assert_eq!(meta.peek("dup"), Some(&b"1"[..]));
/// assert_eq!(meta.peek_all("dup").count(), 2);
/// assert_eq!(meta.to_query_string(), "dup=1&dup=2&author=henrylee2cn");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Meta {
    pairs: Vec<(Bytes, Bytes)>,
}

fn bytes_of(v: impl AsRef<[u8]>) -> Bytes {
    Bytes::copy_from_slice(v.as_ref())
}

impl Meta {
    /// An empty meta; does not allocate.
    pub const fn new() -> Self {
        Meta { pairs: Vec::new() }
    }

    /// Number of pairs (repeated keys count once each).
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there is no pair at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Appends a pair, keeping any earlier pair with the same key.
    pub fn add(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.pairs.push((bytes_of(key), bytes_of(value)));
    }

    /// Appends a pair of already shared bytes without copying them.
    pub fn add_bytes(&mut self, key: Bytes, value: Bytes) {
        self.pairs.push((key, value));
    }

    /// Replaces the value of the **first** pair with this key (later duplicates stay, as in
    /// Go), or appends the pair when the key is absent.
    pub fn set(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        let key = key.as_ref();
        match self.pairs.iter_mut().find(|(k, _)| k == key) {
            Some((_, v)) => *v = bytes_of(value),
            None => self.pairs.push((bytes_of(key), bytes_of(value))),
        }
    }

    /// Removes **every** pair with this key and returns how many were removed.
    ///
    /// Go's `Del` skips the element after a removed duplicate; that is a bug this port does
    /// not reproduce (it has no effect on the wire).
    pub fn remove(&mut self, key: impl AsRef<[u8]>) -> usize {
        let key = key.as_ref();
        let before = self.pairs.len();
        self.pairs.retain(|(k, _)| k != key);
        before - self.pairs.len()
    }

    /// Value of the first pair with this key.
    pub fn peek(&self, key: impl AsRef<[u8]>) -> Option<&[u8]> {
        let key = key.as_ref();
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| &v[..])
    }

    /// Value of the first pair with this key, when it is valid UTF-8.
    pub fn peek_str(&self, key: impl AsRef<[u8]>) -> Option<&str> {
        self.peek(key).and_then(|v| std::str::from_utf8(v).ok())
    }

    /// All values of this key, in order.
    pub fn peek_all<'a>(
        &'a self,
        key: &'a (impl AsRef<[u8]> + ?Sized),
    ) -> impl Iterator<Item = &'a [u8]> + 'a {
        let key = key.as_ref();
        self.pairs
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| &v[..])
    }

    /// Whether a pair with this key exists.
    pub fn contains(&self, key: impl AsRef<[u8]>) -> bool {
        self.peek(key).is_some()
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.pairs.iter().map(|(k, v)| (&k[..], &v[..]))
    }

    /// Removes every pair.
    pub fn clear(&mut self) {
        self.pairs.clear();
    }

    /// Number of bytes [`Meta::write_query`] writes.
    pub fn query_len(&self) -> usize {
        if self.pairs.is_empty() {
            return 0;
        }
        let sum: usize = self
            .pairs
            .iter()
            .map(|(k, v)| {
                query::escaped_len(k)
                    + if v.is_empty() {
                        0
                    } else {
                        1 + query::escaped_len(v)
                    }
            })
            .sum();
        sum + self.pairs.len() - 1
    }

    /// Appends the URL-query form Go writes (`k=v&k2=v2`, bare key for an empty value).
    pub fn write_query(&self, dst: &mut impl BufMut) {
        for (i, (k, v)) in self.pairs.iter().enumerate() {
            if i > 0 {
                dst.put_u8(b'&');
            }
            query::escape(k, dst);
            if !v.is_empty() {
                dst.put_u8(b'=');
                query::escape(v, dst);
            }
        }
    }

    /// The URL-query form as a string (it is always ASCII).
    pub fn to_query_string(&self) -> String {
        let mut v = Vec::with_capacity(self.query_len());
        self.write_query(&mut v);
        // The escaped form contains only ASCII.
        String::from_utf8(v).unwrap_or_default()
    }

    /// Parses the URL-query form as Go does: `+` is a space, a bad `%` escape is kept
    /// literally, pieces with an empty key and value are skipped. Never fails. Keys and values
    /// that need no unescaping share `query`'s memory.
    pub fn from_query(query: Bytes) -> Meta {
        Meta {
            pairs: query::pairs(query).collect(),
        }
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.pairs.iter().map(|(k, v)| {
                (
                    String::from_utf8_lossy(k).into_owned(),
                    String::from_utf8_lossy(v).into_owned(),
                )
            }))
            .finish()
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> FromIterator<(K, V)> for Meta {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Meta {
            pairs: iter
                .into_iter()
                .map(|(k, v)| (bytes_of(k), bytes_of(v)))
                .collect(),
        }
    }
}

impl<K: AsRef<[u8]>, V: AsRef<[u8]>> Extend<(K, V)> for Meta {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.pairs
            .extend(iter.into_iter().map(|(k, v)| (bytes_of(k), bytes_of(v))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_reference_example() {
        let mut m = Meta::new();
        m.add("k", "");
        m.add("a b", "x/y=z&w~é+");
        m.add("dup", "1");
        m.add("dup", "2");
        let q = m.to_query_string();
        assert_eq!(q, "k&a%20b=x%2Fy%3Dz%26w%7E%C3%A9%2B&dup=1&dup=2");
        assert_eq!(m.query_len(), q.len());
        assert_eq!(Meta::from_query(Bytes::from(q)), m);
    }

    #[test]
    fn set_and_remove() {
        let mut m: Meta = [("dup", "1"), ("x", "y"), ("dup", "2")]
            .into_iter()
            .collect();
        m.set("dup", "3");
        assert_eq!(m.to_query_string(), "dup=3&x=y&dup=2");
        assert_eq!(m.remove("dup"), 2);
        assert_eq!(m.to_query_string(), "x=y");
        m.set("new", "v");
        assert_eq!(m.to_query_string(), "x=y&new=v");
        assert_eq!(m.peek_str("new"), Some("v"));
        assert!(!m.contains("dup"));
    }
}
