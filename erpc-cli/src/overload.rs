//! `erpc serve --overload SPEC --overload-handler ROUTE=N`: the Go peer's flags for Go's
//! plugin/overloader, parsed into [`LimitConfig`].

use erpc_peer::plugins::{LimitConfig, Overloader};

use crate::client::{parse_duration, BoxError};

/// One item of `--overload` or `--overload-handler`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    MaxConn(u32),
    Qps(u32),
    Interval(std::time::Duration),
    Route(String, u32),
}

fn count(key: &str, v: &str) -> Result<u32, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{key}={v}: expected a count (0 or more)"))
}

/// One `--overload` item: `maxconn=N`, `qps=N`, `interval=D` (Go syntax, in (0, 1s]) or
/// `/route=N`.
pub(crate) fn parse_item(s: &str) -> Result<Item, String> {
    let (k, v) = s
        .trim()
        .split_once('=')
        .ok_or_else(|| format!("{s:?}: expected maxconn=N, qps=N, interval=D or /route=N"))?;
    match k.trim() {
        "maxconn" => Ok(Item::MaxConn(count(k, v)?)),
        "qps" => Ok(Item::Qps(count(k, v)?)),
        "interval" => Ok(Item::Interval(parse_duration(v.trim())?)),
        r if r.starts_with('/') => Ok(Item::Route(r.to_owned(), count(k, v)?)),
        other => Err(format!(
            "{other:?}: expected maxconn, qps, interval or a /route"
        )),
    }
}

/// One `--overload-handler` item: `/route=N`.
pub(crate) fn parse_route(s: &str) -> Result<Item, String> {
    match parse_item(s)? {
        r @ Item::Route(..) => Ok(r),
        _ => Err(format!("{s:?}: expected /route=N")),
    }
}

/// The overloader for these items, or `None` when there are none.
pub(crate) fn overloader(items: &[Item]) -> Result<Option<Overloader>, BoxError> {
    if items.is_empty() {
        return Ok(None);
    }
    let mut limits = LimitConfig::default();
    for item in items {
        limits = match item {
            Item::MaxConn(n) => limits.max_conn(*n),
            Item::Qps(n) => limits.max_total_qps(*n),
            Item::Interval(d) => limits.qps_interval(*d),
            Item::Route(r, n) => limits.handler(r.clone(), *n),
        };
    }
    Ok(Some(
        Overloader::new(limits).map_err(|e| format!("--overload: {e}"))?,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn items() {
        assert_eq!(parse_item("maxconn=3"), Ok(Item::MaxConn(3)));
        assert_eq!(parse_item(" qps = 20 "), Ok(Item::Qps(20)));
        assert_eq!(
            parse_item("interval=100ms"),
            Ok(Item::Interval(Duration::from_millis(100)))
        );
        assert_eq!(
            parse_item("/math/add=5"),
            Ok(Item::Route("/math/add".into(), 5))
        );
        assert!(parse_item("qps").is_err());
        assert!(parse_item("qps=-1").is_err());
        assert!(parse_item("burst=3").is_err());
        assert!(parse_route("qps=3").is_err());
        assert_eq!(parse_route("/a=1"), Ok(Item::Route("/a".into(), 1)));
    }

    #[test]
    fn limits() {
        assert!(overloader(&[]).unwrap().is_none());
        let o = overloader(&[
            Item::MaxConn(3),
            Item::Qps(20),
            Item::Route("/math/add".into(), 5),
        ])
        .unwrap()
        .unwrap();
        let l = o.limits();
        assert_eq!((l.max_conn, l.max_total_qps), (3, 20));
        assert_eq!(l.qps_interval, Duration::from_secs(1));
        assert_eq!(l.max_handler_qps.len(), 1);
        assert!(overloader(&[Item::Interval(Duration::from_secs(2))]).is_err());
    }
}
