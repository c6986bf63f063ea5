//! `erpc serve --proxy-to ADDR [--proxy-proto P]`: Go's plugin/proxy in front of one
//! upstream peer (unknown calls and pushes forwarded, see `erpc_peer::plugins::Proxy`).

use erpc_runtime_tokio::plugins::{Proxy, Upstream};
use erpc_runtime_tokio::{builder, PeerBuilder, PeerConfig, WireProtocol};

use crate::client::BoxError;

/// Registers the proxy to `addr` on `b`: a client peer speaking `proto` with `config` (the
/// server's limits) dials the upstream on the first forwarded message and again whenever
/// its session is gone.
pub(crate) fn install(
    b: PeerBuilder,
    addr: &str,
    proto: WireProtocol,
    config: PeerConfig,
) -> Result<PeerBuilder, BoxError> {
    let client = builder(PeerConfig {
        protocol: proto,
        ..config
    })
    .build()?;
    Ok(b.service(Proxy::new(Upstream::new(client, addr))))
}
