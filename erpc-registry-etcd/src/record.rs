//! The node record in etcd, in tp-micro's layout: key `<namespace><host:port>` (namespace
//! `TP-SRV@` by default), value JSON `{"uri_paths":[…]}` plus fields of ours that Go's
//! `encoding/json` ignores.

use erpc_cluster::Instance;
use serde::{Deserialize, Serialize};

use crate::error::RegistryError;

/// tp-micro's service namespace (the key prefix).
pub const DEFAULT_NAMESPACE: &str = "TP-SRV@";

/// Largest value read from etcd (1 MiB; etcd's own default request limit is 1.5 MiB).
pub const MAX_RECORD_BYTES: usize = 1 << 20;

/// Most routes one record may list.
pub const MAX_ROUTES: usize = 65_536;

/// Largest weight accepted.
pub const MAX_WEIGHT: u32 = 1_000_000;

/// What a node announces. `uri_paths` is tp-micro's; the other fields are ours (absent in
/// a record Go wrote, ignored by Go in ours).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NodeRecord {
    /// Every registered route except `/heartbeat`.
    pub uri_paths: Vec<String>,
    /// The network (`tcp`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// The wire protocol the node's peer uses, by its `Protocol::name` (`raw`, `json`, …;
    /// `websocket` on network `ws`; a protocol of the user's own by its name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Relative weight (1 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    /// Whether the node speaks TLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<bool>,
    /// The application's version string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Taken out of rotation by its operator (absent: false). Go's clients do not know the
    /// field and keep picking the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub draining: Option<bool>,
}

impl NodeRecord {
    /// A record listing `routes`, minus `/heartbeat` (as tp-micro registers).
    pub fn new(routes: impl IntoIterator<Item = String>) -> Self {
        NodeRecord {
            uri_paths: routes.into_iter().filter(|r| r != "/heartbeat").collect(),
            network: None,
            protocol: None,
            weight: None,
            tls: None,
            version: None,
            draining: None,
        }
    }

    /// The JSON value stored in etcd.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a record always serialises")
    }

    /// Reads the value at `key`, checking it: at most [`MAX_RECORD_BYTES`], JSON with a
    /// `uri_paths` array of non-empty strings (at most [`MAX_ROUTES`]), a weight in
    /// `1..=MAX_WEIGHT`.
    pub fn parse(key: &str, value: &[u8]) -> Result<Self, RegistryError> {
        let bad = |reason: String| RegistryError::BadRecord {
            key: key.to_owned(),
            reason,
        };
        if value.len() > MAX_RECORD_BYTES {
            return Err(bad(format!(
                "value of {} bytes (at most {MAX_RECORD_BYTES})",
                value.len()
            )));
        }
        let rec: NodeRecord =
            serde_json::from_slice(value).map_err(|e| bad(format!("not a node record: {e}")))?;
        if rec.uri_paths.len() > MAX_ROUTES {
            return Err(bad(format!(
                "{} uri_paths (at most {MAX_ROUTES})",
                rec.uri_paths.len()
            )));
        }
        if rec.uri_paths.iter().any(String::is_empty) {
            return Err(bad("an empty uri_path".into()));
        }
        if let Some(w) = rec.weight {
            if w == 0 || w > MAX_WEIGHT {
                return Err(bad(format!("weight {w} (1..={MAX_WEIGHT})")));
            }
        }
        Ok(rec)
    }

    /// The node as discovery presents it.
    pub fn instance(&self, addr: &str) -> Instance {
        Instance::new(addr)
            .with_routes(self.uri_paths.iter().cloned())
            .with_weight(self.weight.unwrap_or(1))
            .with_draining(self.draining.unwrap_or(false))
    }
}

/// The key of the node at `addr`.
pub fn node_key(namespace: &str, addr: &str) -> String {
    format!("{namespace}{addr}")
}

/// The `host:port` of a node key: after the namespace, a non-empty host and a port in
/// `1..=65535`.
pub fn addr_of<'k>(namespace: &str, key: &'k str) -> Result<&'k str, RegistryError> {
    let bad = |reason: &str| RegistryError::BadRecord {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    let addr = key
        .strip_prefix(namespace)
        .ok_or_else(|| bad("key outside the namespace"))?;
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| bad("no port after the host"))?;
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(bad("bad host"));
    }
    match port.parse::<u16>() {
        Ok(p) if p != 0 => Ok(addr),
        _ => Err(bad("bad port")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tp_micro_value_is_read_and_ours_is_a_superset() {
        let go = br#"{"uri_paths":["/group/home/test","/math/add"]}"#;
        let rec = NodeRecord::parse("TP-SRV@10.0.0.1:9090", go).unwrap();
        assert_eq!(rec.uri_paths, ["/group/home/test", "/math/add"]);
        let i = rec.instance("10.0.0.1:9090");
        assert_eq!((i.weight, i.draining), (1, false));
        let mut ours = NodeRecord::new(["/heartbeat".to_owned(), "/math/add".to_owned()]);
        ours.weight = Some(3);
        ours.draining = Some(true);
        let json: serde_json::Value = serde_json::from_str(&ours.to_json()).unwrap();
        assert_eq!(json["uri_paths"], serde_json::json!(["/math/add"]));
        assert_eq!(json["draining"], true);
    }

    #[test]
    fn bad_values_are_errors() {
        for (v, why) in [
            (&b"not json"[..], "not a node record"),
            (br#"{"uri_paths":"x"}"#, "not a node record"),
            (br#"{}"#, "not a node record"),
            (br#"{"uri_paths":[""]}"#, "empty"),
            (br#"{"uri_paths":[],"weight":0}"#, "weight 0"),
            (br#"{"uri_paths":[],"weight":99999999}"#, "weight"),
            (br#"{"uri_paths":[],"weight":-1}"#, "not a node record"),
        ] {
            let e = NodeRecord::parse("k", v).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        }
        let big = vec![b' '; MAX_RECORD_BYTES + 1];
        assert!(NodeRecord::parse("k", &big).is_err());
    }

    #[test]
    fn keys() {
        assert_eq!(node_key("TP-SRV@", "1.2.3.4:5"), "TP-SRV@1.2.3.4:5");
        assert_eq!(addr_of("TP-SRV@", "TP-SRV@1.2.3.4:5").unwrap(), "1.2.3.4:5");
        assert_eq!(addr_of("TP-SRV@", "TP-SRV@[::1]:80").unwrap(), "[::1]:80");
        for k in [
            "TP-SRV@",
            "TP-SRV@host",
            "TP-SRV@:80",
            "TP-SRV@h:0",
            "TP-SRV@h:99999",
            "X@h:1",
        ] {
            assert!(addr_of("TP-SRV@", k).is_err(), "{k}");
        }
    }
}
