//! [`RegistryError`]: what can go wrong talking to the registry.

/// An error of the etcd registry or discovery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// etcd refused or could not be reached.
    #[error("etcd: {0}")]
    Etcd(#[from] etcd_client::Error),
    /// A registry URL that is not `etcd://host:port[,host:port…][/namespace]`.
    #[error("bad registry URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A key or value in etcd that is not a node record (bad JSON, absurd values, a key
    /// that is not `<namespace><host:port>`).
    #[error("bad node record at {key:?}: {reason}")]
    BadRecord {
        /// The etcd key.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The lease is gone or no longer kept alive (what the registrar then recovers from).
    #[error("lease lost: {0}")]
    LeaseLost(&'static str),
    /// A setting out of range (a TTL under 1 s or over a day, …).
    #[error("bad registry setting: {0}")]
    BadConfig(String),
}
