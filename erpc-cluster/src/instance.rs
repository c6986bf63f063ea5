//! [`Instance`]: one node as a discovery source knows it.

/// One node: where to dial it and what it serves, as a registry announces it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Instance {
    /// `host:port` to dial.
    pub addr: String,
    /// The routes it serves (tp-micro's `uri_paths`). Empty: unknown, so every route (a
    /// static list names addresses only).
    pub routes: Vec<String>,
    /// Relative weight for balancers that use one (default 1; tp-micro has none).
    pub weight: u32,
    /// Taken out of rotation by its operator: known but never picked.
    pub draining: bool,
}

impl Instance {
    /// A node at `addr` serving every route, weight 1.
    pub fn new(addr: impl Into<String>) -> Self {
        Instance {
            addr: addr.into(),
            routes: Vec::new(),
            weight: 1,
            draining: false,
        }
    }

    /// The same node serving exactly `routes`.
    pub fn with_routes<I, S>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.routes = routes.into_iter().map(Into::into).collect();
        self
    }

    /// The same node with weight `weight`.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The same node, draining or not.
    pub fn with_draining(mut self, draining: bool) -> Self {
        self.draining = draining;
        self
    }

    /// Whether it serves `service_method` (its query, after `?`, is ignored, as tp-micro
    /// does); a node with no route list serves everything.
    pub fn serves(&self, service_method: &str) -> bool {
        let path = service_method
            .split_once('?')
            .map_or(service_method, |(p, _)| p);
        self.routes.is_empty() || self.routes.iter().any(|r| r == path)
    }

    /// Whether a balancer may pick it for `service_method`: it serves it and is not draining.
    pub fn pickable(&self, service_method: &str) -> bool {
        !self.draining && self.serves(service_method)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_match_without_query() {
        let i = Instance::new("a:1").with_routes(["/math/add"]);
        assert!(i.serves("/math/add"));
        assert!(i.serves("/math/add?x=1"));
        assert!(!i.serves("/math/sub"));
        assert!(Instance::new("b:1").serves("/anything"));
        assert!(!i.clone().with_draining(true).pickable("/math/add"));
        assert!(i.pickable("/math/add"));
    }
}
