//! The router: service method → route, with eRPC's two tables (calls and pushes), groups
//! (sub-routes) with their own plugins, and unknown-call / unknown-push fallbacks.
//!
//! The core only maps names to [`RouteId`]s; a runtime adapter keeps the handler of each id.
//! Lookup is exact byte equality (no case folding, no path cleaning, no query parsing), as in
//! Go.
//!
//! ```
//! use erpc_proto::router::{Mapper, Router, RouteKind};
//! let mut router = Router::new(Mapper::Http);
//! let add = router.add_call("/math/add").unwrap();
//! let mut math = router.group("Math");
//! let sub = math.add_call("Sub").unwrap(); // mapped: /math/sub
//! let fallback = router.set_unknown_call();
//! assert_eq!(router.lookup(RouteKind::Call, "/math/add").unwrap().id(), add);
//! assert_eq!(router.lookup(RouteKind::Call, "/math/sub").unwrap().id(), sub);
//! assert_eq!(router.lookup(RouteKind::Call, "/math/add?x=1").unwrap().id(), fallback);
//! assert!(router.lookup(RouteKind::Push, "/math/add").is_none());
//! ```

mod mapper;

use std::sync::Arc;

use rustc_hash::FxHashMap;

pub use mapper::Mapper;

use crate::plugin::{Plugin, PluginError, Plugins};

/// Identifies a registered route; the adapter maps it to a handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(clippy::exhaustive_structs)] // a newtype over the index
pub struct RouteId(pub u32);

/// Which table a route lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::exhaustive_enums)] // a route takes calls or pushes, as in eRPC
pub enum RouteKind {
    /// Call handlers (answered with a REPLY).
    Call,
    /// Push handlers (never answered).
    Push,
}

/// A registered route.
#[derive(Clone, Debug)]
pub struct Route {
    id: RouteId,
    service_method: Arc<str>,
    plugins: Plugins,
    unknown: bool,
}

impl Route {
    /// The id.
    pub fn id(&self) -> RouteId {
        self.id
    }

    /// The registered service method (empty for unknown handlers).
    pub fn service_method(&self) -> &str {
        &self.service_method
    }

    /// The route's own plugins (its groups' plugins, outer first); the session runs the
    /// global plugins before them.
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// Whether this is the unknown-call or unknown-push fallback.
    pub fn is_unknown(&self) -> bool {
        self.unknown
    }
}

/// Why a route could not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouteError {
    /// The service method is already registered in this table.
    #[error("handler conflict: {0:?} is already registered")]
    Conflict(String),
    /// The service method is empty (eRPC rejects such messages with 400).
    #[error("empty service method")]
    Empty,
    /// Plugins of a group clash.
    #[error(transparent)]
    Plugin(#[from] PluginError),
}

/// Service method → route tables.
#[derive(Debug, Clone, Default)]
pub struct Router {
    mapper: Mapper,
    calls: FxHashMap<Arc<str>, Route>,
    pushes: FxHashMap<Arc<str>, Route>,
    unknown_call: Option<Route>,
    unknown_push: Option<Route>,
    next_id: u32,
}

impl Router {
    /// An empty router using `mapper` for named registrations and groups.
    pub fn new(mapper: Mapper) -> Self {
        Router {
            mapper,
            ..Router::default()
        }
    }

    /// The mapper.
    pub fn mapper(&self) -> Mapper {
        self.mapper
    }

    fn next_id(&mut self) -> RouteId {
        let id = RouteId(self.next_id);
        self.next_id += 1;
        id
    }

    fn insert(
        &mut self,
        kind: RouteKind,
        sm: String,
        plugins: Plugins,
    ) -> Result<RouteId, RouteError> {
        if sm.is_empty() {
            return Err(RouteError::Empty);
        }
        let id = self.next_id();
        let sm: Arc<str> = sm.into();
        let table = match kind {
            RouteKind::Call => &mut self.calls,
            RouteKind::Push => &mut self.pushes,
        };
        if table.contains_key(&sm) {
            return Err(RouteError::Conflict(sm.to_string()));
        }
        table.insert(
            sm.clone(),
            Route {
                id,
                service_method: sm,
                plugins,
                unknown: false,
            },
        );
        Ok(id)
    }

    /// Registers a call route at exactly this service method (no mapping).
    pub fn add_call(&mut self, service_method: &str) -> Result<RouteId, RouteError> {
        self.insert(RouteKind::Call, service_method.to_owned(), Plugins::new())
    }

    /// Registers a push route at exactly this service method (no mapping).
    pub fn add_push(&mut self, service_method: &str) -> Result<RouteId, RouteError> {
        self.insert(RouteKind::Push, service_method.to_owned(), Plugins::new())
    }

    /// Registers a route at exactly this service method with its own plugins.
    pub fn add_route(
        &mut self,
        kind: RouteKind,
        service_method: &str,
        plugins: Vec<Arc<dyn Plugin>>,
    ) -> Result<RouteId, RouteError> {
        self.insert(kind, service_method.to_owned(), Plugins::from_vec(plugins)?)
    }

    /// Sets (or replaces) the unknown-call fallback and returns its id.
    pub fn set_unknown_call(&mut self) -> RouteId {
        let id = self.next_id();
        self.unknown_call = Some(Route {
            id,
            service_method: "".into(),
            plugins: Plugins::new(),
            unknown: true,
        });
        id
    }

    /// Sets (or replaces) the unknown-push fallback and returns its id.
    pub fn set_unknown_push(&mut self) -> RouteId {
        let id = self.next_id();
        self.unknown_push = Some(Route {
            id,
            service_method: "".into(),
            plugins: Plugins::new(),
            unknown: true,
        });
        id
    }

    /// A group at `mapper(root, prefix)` (`/prefix` with the HTTP mapper) whose routes get
    /// names through the mapper.
    pub fn group(&mut self, prefix: &str) -> Group<'_> {
        let root = self.mapper.root();
        let prefix = self.mapper.map(&root, prefix);
        Group {
            router: self,
            prefix,
            plugins: Plugins::new(),
        }
    }

    /// The root as a group, for mapped names without a prefix (`AaBb` → `/aa_bb`).
    pub fn root(&mut self) -> Group<'_> {
        let prefix = self.mapper.root();
        Group {
            router: self,
            prefix,
            plugins: Plugins::new(),
        }
    }

    /// Finds the route for a service method: exact match, else the unknown fallback.
    pub fn lookup(&self, kind: RouteKind, service_method: &str) -> Option<&Route> {
        let (table, unknown) = match kind {
            RouteKind::Call => (&self.calls, &self.unknown_call),
            RouteKind::Push => (&self.pushes, &self.unknown_push),
        };
        table.get(service_method).or(unknown.as_ref())
    }

    /// Every registered route of a table (fallback excluded), in no particular order.
    pub fn routes(&self, kind: RouteKind) -> impl Iterator<Item = &Route> {
        match kind {
            RouteKind::Call => self.calls.values(),
            RouteKind::Push => self.pushes.values(),
        }
    }
}

/// A sub-route: a prefix and plugins shared by the routes registered through it.
#[derive(Debug)]
pub struct Group<'r> {
    router: &'r mut Router,
    prefix: String,
    plugins: Plugins,
}

impl Group<'_> {
    /// The group's prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Adds plugins to this group (after the parent's).
    pub fn with_plugins(mut self, plugins: Vec<Arc<dyn Plugin>>) -> Result<Self, RouteError> {
        self.plugins = self.plugins.extended(&plugins)?;
        Ok(self)
    }

    /// A nested group at `mapper(prefix, name)`, inheriting this group's plugins.
    pub fn group(&mut self, name: &str) -> Group<'_> {
        let prefix = self.router.mapper.map(&self.prefix, name);
        Group {
            plugins: self.plugins.clone(),
            router: self.router,
            prefix,
        }
    }

    /// The route `mapper(prefix, name)` would give.
    pub fn route_of(&self, name: &str) -> String {
        self.router.mapper.map(&self.prefix, name)
    }

    /// Registers a call route at `mapper(prefix, name)`.
    pub fn add_call(&mut self, name: &str) -> Result<RouteId, RouteError> {
        let sm = self.route_of(name);
        self.router
            .insert(RouteKind::Call, sm, self.plugins.clone())
    }

    /// Registers a push route at `mapper(prefix, name)`.
    pub fn add_push(&mut self, name: &str) -> Result<RouteId, RouteError> {
        let sm = self.route_of(name);
        self.router
            .insert(RouteKind::Push, sm, self.plugins.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_and_tables() {
        let mut r = Router::new(Mapper::Http);
        r.add_call("/a").unwrap();
        assert_eq!(r.add_call("/a"), Err(RouteError::Conflict("/a".into())));
        r.add_push("/a").unwrap();
        assert_eq!(r.add_call(""), Err(RouteError::Empty));
        assert!(r.lookup(RouteKind::Call, "/b").is_none());
        let id = r.set_unknown_push();
        assert_eq!(r.lookup(RouteKind::Push, "/b").unwrap().id(), id);
        assert!(r.lookup(RouteKind::Push, "/b").unwrap().is_unknown());
    }

    #[test]
    fn groups_compose() {
        let mut r = Router::new(Mapper::Http);
        let mut g = r.group("srv");
        let mut m = g.group("math_v2");
        m.add_call("Add__2").unwrap();
        assert!(r.lookup(RouteKind::Call, "/srv/math/v2/add_2").is_some());
        let mut r = Router::new(Mapper::Rpc);
        r.group("Hello").add_call("Say").unwrap();
        assert!(r.lookup(RouteKind::Call, "Hello.Say").is_some());
    }
}
