//! The cluster client against real peers on loopback (tokio adapter), nodes from a static list.

mod cluster;
