//! [`Directory`]: the current set of nodes of a discovery source, and [`Changes`], the
//! stream of what changed in it.
//!
//! A subscriber does not queue events: it remembers the set it last saw and, when woken,
//! gets the difference to the current one. So a slow subscriber costs memory proportional
//! to the set (bounded by the registry), never to how many updates it missed.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use event_listener::Event;

use crate::instance::Instance;

/// What changed between two looks at a [`Directory`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A node appeared.
    Added(Instance),
    /// A known node announced something new (routes, weight, draining).
    Updated(Instance),
    /// A node left (its `addr`).
    Removed(String),
}

struct State {
    version: u64,
    closed: bool,
    nodes: BTreeMap<String, Arc<Instance>>,
}

/// The nodes a discovery source knows now, by address. Discovery implementations write it;
/// cluster clients read it and subscribe to its [`Changes`].
pub struct Directory {
    state: Mutex<State>,
    event: Event,
}

impl fmt::Debug for Directory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("Directory")
            .field("version", &s.version)
            .field("nodes", &s.nodes.len())
            .field("closed", &s.closed)
            .finish()
    }
}

impl Default for Directory {
    fn default() -> Self {
        Directory {
            state: Mutex::new(State {
                version: 0,
                closed: false,
                nodes: BTreeMap::new(),
            }),
            event: Event::new(),
        }
    }
}

impl Directory {
    /// An empty directory.
    pub fn new() -> Arc<Self> {
        Arc::new(Directory::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn bump(&self, mut s: MutexGuard<'_, State>) {
        s.version += 1;
        drop(s);
        self.event.notify(usize::MAX);
    }

    /// Replaces the whole set (after a full listing).
    pub fn replace(&self, nodes: impl IntoIterator<Item = Instance>) {
        let fresh: BTreeMap<_, _> = nodes
            .into_iter()
            .map(|i| (i.addr.clone(), Arc::new(i)))
            .collect();
        let mut s = self.lock();
        if s.nodes != fresh {
            s.nodes = fresh;
            self.bump(s);
        }
    }

    /// Adds a node or replaces the one at its address.
    pub fn upsert(&self, node: Instance) {
        let mut s = self.lock();
        if s.nodes.get(&node.addr).map(|n| &**n) != Some(&node) {
            s.nodes.insert(node.addr.clone(), Arc::new(node));
            self.bump(s);
        }
    }

    /// Removes the node at `addr`; whether there was one.
    pub fn remove(&self, addr: &str) -> bool {
        let mut s = self.lock();
        let had = s.nodes.remove(addr).is_some();
        if had {
            self.bump(s);
        }
        had
    }

    /// Every node known now (draining ones included), by address.
    pub fn all(&self) -> Vec<Instance> {
        self.lock().nodes.values().map(|i| (**i).clone()).collect()
    }

    /// The nodes a balancer may pick for `service_method` (serving it, not draining),
    /// shared (no copy of their route lists: this runs on every call).
    pub fn instances(&self, service_method: &str) -> Vec<Arc<Instance>> {
        self.lock()
            .nodes
            .values()
            .filter(|i| i.pickable(service_method))
            .cloned()
            .collect()
    }

    /// Ends every [`Changes`] stream (their `next` answers `None`); the set stays readable.
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        self.bump(s);
    }

    /// A stream of the changes from now on (it starts from the current set: the first
    /// `next` waits for a change).
    pub fn changes(self: &Arc<Self>) -> Changes {
        let s = self.lock();
        Changes {
            dir: Arc::clone(self),
            seen: s.nodes.clone(),
            version: s.version,
        }
    }
}

/// What changed in a [`Directory`], one batch per [`next`](Changes::next).
#[derive(Debug)]
pub struct Changes {
    dir: Arc<Directory>,
    seen: BTreeMap<String, Arc<Instance>>,
    version: u64,
}

impl Changes {
    /// Waits until the set differs from the one last seen and answers the difference
    /// (never empty); `None` once the directory is closed. Runtime-agnostic: it waits on an
    /// `event-listener` event, so any executor (tokio, smol, async-std,
    /// `futures::executor::block_on` on a thread) can drive it.
    pub async fn next(&mut self) -> Option<Vec<Change>> {
        loop {
            let listener = self.dir.event.listen();
            if let Some(batch) = self.poll_now() {
                return batch;
            }
            listener.await;
        }
    }

    /// The difference now, without waiting: `None` when nothing changed, `Some(None)` once
    /// closed.
    fn poll_now(&mut self) -> Option<Option<Vec<Change>>> {
        let s = self.dir.lock();
        if s.closed {
            return Some(None);
        }
        if s.version == self.version {
            return None;
        }
        self.version = s.version;
        let mut out = Vec::new();
        for (addr, node) in &s.nodes {
            match self.seen.get(addr) {
                None => out.push(Change::Added((**node).clone())),
                Some(old) if old != node => out.push(Change::Updated((**node).clone())),
                Some(_) => {}
            }
        }
        for addr in self.seen.keys() {
            if !s.nodes.contains_key(addr) {
                out.push(Change::Removed(addr.clone()));
            }
        }
        self.seen = s.nodes.clone();
        (!out.is_empty()).then_some(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt;

    #[test]
    fn changes_are_differences() {
        let dir = Directory::new();
        dir.upsert(Instance::new("a:1"));
        let mut ch = dir.changes();
        assert!(ch.next().now_or_never().is_none(), "nothing changed yet");
        dir.upsert(Instance::new("b:1"));
        dir.upsert(Instance::new("a:1").with_draining(true));
        dir.upsert(Instance::new("c:1"));
        dir.remove("c:1");
        let batch = ch.next().now_or_never().unwrap().unwrap();
        assert_eq!(
            batch,
            vec![
                Change::Updated(Instance::new("a:1").with_draining(true)),
                Change::Added(Instance::new("b:1")),
            ]
        );
        dir.replace([Instance::new("b:1")]);
        assert_eq!(
            ch.next().now_or_never().unwrap().unwrap(),
            vec![Change::Removed("a:1".into())]
        );
        assert_eq!(dir.instances("/x").len(), 1);
        dir.close();
        assert_eq!(ch.next().now_or_never().unwrap(), None);
    }
}
