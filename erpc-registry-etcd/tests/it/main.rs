//! The registry, discovery and cluster client against a real etcd (Debian's `etcd` on
//! loopback; skipped without the binary unless `CI=true`).

mod etcd;
mod registry;
