//! [`StaticDiscovery`]: a list of nodes the application gives (tests, fixed deployments,
//! Kubernetes headless services resolved by the application).

use std::sync::Arc;

use crate::directory::Directory;
use crate::discovery::Discovery;
use crate::instance::Instance;

/// A discovery source whose nodes the application sets.
#[derive(Debug, Clone)]
pub struct StaticDiscovery {
    dir: Arc<Directory>,
}

impl StaticDiscovery {
    /// These nodes.
    pub fn new(nodes: impl IntoIterator<Item = Instance>) -> Self {
        let dir = Directory::new();
        dir.replace(nodes);
        StaticDiscovery { dir }
    }

    /// Nodes at these `host:port` addresses, serving every route.
    pub fn addrs<I, S>(addrs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(addrs.into_iter().map(Instance::new))
    }

    /// Replaces the list (e.g. after resolving a headless service's name again); clients
    /// see the difference as changes.
    pub fn set(&self, nodes: impl IntoIterator<Item = Instance>) {
        self.dir.replace(nodes);
    }
}

impl Discovery for StaticDiscovery {
    fn directory(&self) -> &Arc<Directory> {
        &self.dir
    }
}
