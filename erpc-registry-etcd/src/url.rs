//! [`EtcdUrl`]: `etcd://host:port[,host:port…][/namespace]`, as the CLI takes it.

use crate::error::RegistryError;
use crate::record::DEFAULT_NAMESPACE;

/// Where the registry is: etcd endpoints and the key namespace.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EtcdUrl {
    /// `http://host:port` of each endpoint.
    pub endpoints: Vec<String>,
    /// The key namespace (default `TP-SRV@`).
    pub namespace: String,
}

impl EtcdUrl {
    /// Parses `etcd://h1:p1,h2:p2/NAMESPACE`; the namespace after the first `/` is taken as
    /// it is (default `TP-SRV@`).
    pub fn parse(url: &str) -> Result<Self, RegistryError> {
        let bad = |reason: &str| RegistryError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let rest = url
            .strip_prefix("etcd://")
            .ok_or_else(|| bad("the scheme must be etcd://"))?;
        let (hosts, namespace) = match rest.split_once('/') {
            Some((h, ns)) if !ns.is_empty() => (h, ns.to_owned()),
            Some((h, _)) => (h, DEFAULT_NAMESPACE.to_owned()),
            None => (rest, DEFAULT_NAMESPACE.to_owned()),
        };
        let mut endpoints = Vec::new();
        for h in hosts.split(',') {
            let ok = h.rsplit_once(':').is_some_and(|(host, port)| {
                !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0)
            });
            if !ok {
                return Err(bad("each endpoint must be host:port"));
            }
            endpoints.push(format!("http://{h}"));
        }
        Ok(EtcdUrl {
            endpoints,
            namespace,
        })
    }

    /// Connects a client to the endpoints.
    pub async fn connect(&self) -> Result<etcd_client::Client, RegistryError> {
        let opts = etcd_client::ConnectOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(3))
            .with_keep_alive(
                std::time::Duration::from_secs(2),
                std::time::Duration::from_secs(2),
            );
        Ok(etcd_client::Client::connect(&self.endpoints, Some(opts)).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let u = EtcdUrl::parse("etcd://127.0.0.1:2379").unwrap();
        assert_eq!(u.endpoints, ["http://127.0.0.1:2379"]);
        assert_eq!(u.namespace, "TP-SRV@");
        let u = EtcdUrl::parse("etcd://a:1,b:2/MY@").unwrap();
        assert_eq!(u.endpoints, ["http://a:1", "http://b:2"]);
        assert_eq!(u.namespace, "MY@");
        for bad in [
            "http://a:1",
            "etcd://",
            "etcd://a",
            "etcd://a:x",
            "etcd://a:1,",
        ] {
            assert!(EtcdUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
