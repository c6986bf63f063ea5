//! [`Discovery`]: where a cluster client learns its nodes.

use std::fmt;
use std::sync::Arc;

use crate::directory::{Changes, Directory};
use crate::instance::Instance;

/// A source of nodes: a registry watcher (`erpc-registry-etcd`'s `EtcdDiscovery`), a fixed
/// list ([`StaticDiscovery`](crate::StaticDiscovery)), or the application's own.
///
/// An implementation keeps a [`Directory`] up to date however it learns (a watch, a
/// periodic DNS lookup); readers only ever look at the directory, so the trait has no async
/// method and works the same on every runtime.
pub trait Discovery: Send + Sync + fmt::Debug + 'static {
    /// The directory this source keeps current.
    fn directory(&self) -> &Arc<Directory>;

    /// The nodes a call to `service_method` may go to now (serving it, not draining).
    fn instances(&self, service_method: &str) -> Vec<Arc<Instance>> {
        self.directory().instances(service_method)
    }

    /// The changes from now on.
    fn changes(&self) -> Changes {
        self.directory().changes()
    }
}
