//! `LISTEN_PARENT_ADDRS`: Go eRPC's record of the addresses its listeners were given for a
//! listen on port 0, so that the process a graceful reboot starts listens on the same ports
//! (and so takes over the inherited sockets) instead of new ones.
//!
//! The value is JSON, `{network: {host: ["host:port", …]}}`: for each network and each host
//! a listen asked for, the addresses the listens on that host got, in order. A listen on
//! `host:0` takes the first address recorded for its host and network. Go writes it with
//! `encoding/json` (keys sorted); so does this type.

use std::collections::BTreeMap;

/// The environment variable Go eRPC (and erpc-rs) hands to the next process.
pub const ENV: &str = "LISTEN_PARENT_ADDRS";

/// Addresses per network and requested host, as in Go's `parentAddrList`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ParentAddrs(BTreeMap<String, BTreeMap<String, Vec<String>>>);

impl ParentAddrs {
    /// Parses the variable's value. Go ignores a value it cannot parse; so does this
    /// (with a warning), since a listen then simply gets a new port.
    pub(crate) fn parse(value: &str) -> Self {
        if value.is_empty() {
            return ParentAddrs::default();
        }
        match serde_json::from_str(value) {
            Ok(m) => ParentAddrs(m),
            Err(e) => {
                tracing::warn!(error = %e, "{ENV} is not the JSON Go eRPC writes; ignored");
                ParentAddrs::default()
            }
        }
    }

    /// The value for the next process.
    pub(crate) fn to_value(&self) -> String {
        serde_json::to_string(&self.0).unwrap_or_else(|_| "{}".into())
    }

    /// Records that a listen on `host` (as asked for) over `network` got `addr`.
    pub(crate) fn push(&mut self, network: &str, host: &str, addr: &str) {
        self.0
            .entry(network.to_owned())
            .or_default()
            .entry(unify_localhost(host).to_owned())
            .or_default()
            .push(addr.to_owned());
    }

    /// The address the parent's listen on `host` over `network` got, taken out of the
    /// record (the next listen on the same host gets the next one); `None` when there is
    /// none left.
    pub(crate) fn pop(&mut self, network: &str, host: &str) -> Option<String> {
        let list = self.0.get_mut(network)?.get_mut(unify_localhost(host))?;
        if list.is_empty() {
            None
        } else {
            Some(list.remove(0))
        }
    }
}

/// Go's `unifyLocalhost`: `localhost` is recorded as `127.0.0.1`, `0.0.0.0` as `::`.
fn unify_localhost(host: &str) -> &str {
    match host {
        "localhost" => "127.0.0.1",
        "0.0.0.0" => "::",
        h => h,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_go_writes() {
        // The value the Go peer's README shows for a tcp listener on 127.0.0.1:0.
        let mut p = ParentAddrs::parse(r#"{"tcp":{"127.0.0.1":["127.0.0.1:40123"]}}"#);
        assert_eq!(
            p.pop("tcp", "127.0.0.1").as_deref(),
            Some("127.0.0.1:40123")
        );
        assert_eq!(p.pop("tcp", "127.0.0.1"), None);
        assert_eq!(p.pop("unix", "127.0.0.1"), None);
    }

    #[test]
    fn writes_as_go_does() {
        let mut p = ParentAddrs::default();
        p.push("tcp", "localhost", "127.0.0.1:1");
        p.push("tcp", "0.0.0.0", "[::]:2");
        p.push("tcp", "localhost", "127.0.0.1:3");
        p.push("tcp4", "10.0.0.1", "10.0.0.1:4");
        assert_eq!(
            p.to_value(),
            r#"{"tcp":{"127.0.0.1":["127.0.0.1:1","127.0.0.1:3"],"::":["[::]:2"]},"tcp4":{"10.0.0.1":["10.0.0.1:4"]}}"#
        );
        let mut back = ParentAddrs::parse(&p.to_value());
        assert_eq!(back, p);
        assert_eq!(back.pop("tcp", "127.0.0.1").as_deref(), Some("127.0.0.1:1"));
        assert_eq!(back.pop("tcp", "localhost").as_deref(), Some("127.0.0.1:3"));
        assert_eq!(back.pop("tcp", "0.0.0.0").as_deref(), Some("[::]:2"));
    }

    #[test]
    fn bad_values_are_ignored() {
        for v in ["", "null", "[]", "{\"tcp\":1}", "{", "\u{0}"] {
            let mut p = ParentAddrs::parse(v);
            assert_eq!(p.pop("tcp", "127.0.0.1"), None, "{v:?}");
        }
    }
}
