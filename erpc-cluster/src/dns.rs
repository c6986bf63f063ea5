//! [`DnsDiscovery`]: the addresses a name resolves to, looked up again periodically
//! (Kubernetes headless services: one A/AAAA record per ready pod).

use std::io;
use std::net::ToSocketAddrs;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::directory::Directory;
use crate::discovery::Discovery;
use crate::instance::Instance;

/// Shortest re-resolution period accepted (100 ms).
pub const MIN_DNS_INTERVAL: Duration = Duration::from_millis(100);

/// A discovery source that resolves `host:port` with the system resolver, then again every
/// `interval`, on a thread of its own (so it needs no runtime, and a slow resolver blocks
/// nobody). Every address found is a node serving every route. A failed lookup keeps the
/// last set (and is logged). The thread stops when the value is dropped.
#[derive(Debug)]
pub struct DnsDiscovery {
    dir: Arc<Directory>,
    stop: Mutex<Option<mpsc::Sender<()>>>,
}

fn lookup(target: &str) -> io::Result<Vec<Instance>> {
    let mut addrs: Vec<String> = target.to_socket_addrs()?.map(|a| a.to_string()).collect();
    addrs.sort();
    addrs.dedup();
    Ok(addrs.into_iter().map(Instance::new).collect())
}

impl DnsDiscovery {
    /// Resolves `target` (`name:port`) now (an error if that fails) and every `interval`
    /// after (at least [`MIN_DNS_INTERVAL`]).
    pub fn start(target: impl Into<String>, interval: Duration) -> io::Result<Self> {
        let target = target.into();
        let interval = interval.max(MIN_DNS_INTERVAL);
        let dir = Directory::new();
        dir.replace(lookup(&target)?);
        let (tx, rx) = mpsc::channel::<()>();
        let d = Arc::clone(&dir);
        std::thread::Builder::new()
            .name("erpc-dns-discovery".into())
            .spawn(move || loop {
                match rx.recv_timeout(interval) {
                    Err(RecvTimeoutError::Timeout) => match lookup(&target) {
                        Ok(nodes) => d.replace(nodes),
                        Err(e) => tracing::warn!(%target, error = %e, "dns discovery: lookup failed, keeping the last set"),
                    },
                    _ => return,
                }
            })?;
        Ok(DnsDiscovery {
            dir,
            stop: Mutex::new(Some(tx)),
        })
    }
}

impl Drop for DnsDiscovery {
    fn drop(&mut self) {
        // Dropping the sender wakes the thread, which then ends.
        self.stop.lock().unwrap_or_else(|p| p.into_inner()).take();
        self.dir.close();
    }
}

impl Discovery for DnsDiscovery {
    fn directory(&self) -> &Arc<Directory> {
        &self.dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_and_refuses_bad_names() {
        let d = DnsDiscovery::start("127.0.0.1:9090", Duration::from_millis(100)).unwrap();
        assert_eq!(d.instances("/x")[0].addr, "127.0.0.1:9090");
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(d.directory().all().len(), 1, "re-resolving keeps the set");
        assert!(DnsDiscovery::start("no-port", Duration::from_secs(1)).is_err());
    }
}
