//! The `quic` network's runtime-independent part (feature `quic`): quinn's client and server
//! configurations made from the peer's rustls ones, with the ALPN list, keep-alive, idle
//! timeout and QUIC version of a [`QuicConfig`]; the [`QuicStream`] and [`QuicListener`] over
//! any quinn runtime. The adapters bring the quinn runtime (erpc-runtime-tokio's and
//! erpc-runtime-async-std's feature `quic`).
//!
//! On the wire, as Go eRPC's `quic` network: one QUIC connection per session, carrying one
//! bidirectional stream (the dialer opens it, the acceptor accepts it) with the protocol's
//! frames, exactly as a TCP connection would. QUIC has TLS 1.3 inside, so the peer's TLS
//! configuration is required on both sides and no TLS is layered on the stream.
//!
//! # QUIC versions
//!
//! quinn speaks QUIC version 1 (RFC 9000) and the drafts 29 to 34; a listener accepts any of
//! them. A dialer offers [`QuicConfig::version`]: [`QUIC_V1`] by default, or [`QUIC_DRAFT_29`]
//! (`0xff00001d`), the only version of quic-go v0.18, which Go eRPC's `quic` network is built on.

use std::sync::Arc;
use std::time::Duration;

use futures_rustls::rustls;
use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};

mod listener;
mod stream;

pub use listener::QuicListener;
pub use quinn;
pub use quinn::{ClientConfig as QuinnClientConfig, ServerConfig as QuinnServerConfig};
pub use stream::QuicStream;

/// QUIC version 1 (RFC 9000), the default.
pub const QUIC_V1: u32 = 0x0000_0001;
/// QUIC draft 29, the version quic-go v0.18 (Go eRPC's) speaks.
pub const QUIC_DRAFT_29: u32 = 0xff00_001d;
/// The ALPN protocols offered by default: those of Go eRPC's TLS helpers.
pub const DEFAULT_ALPN: [&str; 2] = ["http/1.1", "h2"];
/// Keep-alive period by default (a PING when nothing else was sent for this long).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);
/// Idle timeout by default: a connection that heard nothing for this long is closed (quic-go's
/// default too). Keep-alive keeps a live peer's connection open; a vanished one ends here.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Handshakes a listener runs or holds for `accept` at once, at most; a connection past it is
/// refused.
pub const DEFAULT_ACCEPT_BACKLOG: usize = 128;
/// How long an accepted handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The QUIC settings of a peer (`PeerBuilder::quic`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[allow(clippy::exhaustive_structs)] // built with struct update syntax (`..QuicConfig::default()`), as PeerConfig
pub struct QuicConfig {
    /// ALPN protocols offered (dialer) or accepted (listener), most preferred first; empty:
    /// none. Default [`DEFAULT_ALPN`].
    pub alpn: Vec<Vec<u8>>,
    /// Keep-alive period; `None`: no keep-alive. Default [`DEFAULT_KEEP_ALIVE`].
    pub keep_alive: Option<Duration>,
    /// Idle timeout. Default [`DEFAULT_IDLE_TIMEOUT`].
    pub idle_timeout: Duration,
    /// The version a dialer offers ([`QUIC_V1`], [`QUIC_DRAFT_29`], …). Default [`QUIC_V1`].
    pub version: u32,
    /// Handshakes a listener runs or holds at once. Default [`DEFAULT_ACCEPT_BACKLOG`].
    pub accept_backlog: usize,
}

impl Default for QuicConfig {
    fn default() -> Self {
        QuicConfig {
            alpn: DEFAULT_ALPN.iter().map(|p| p.as_bytes().to_vec()).collect(),
            keep_alive: Some(DEFAULT_KEEP_ALIVE),
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            version: QUIC_V1,
            accept_backlog: DEFAULT_ACCEPT_BACKLOG,
        }
    }
}

/// Why a QUIC configuration could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QuicError {
    /// The peer has no TLS configuration for this side: QUIC needs one.
    #[error("the quic network needs TLS: configure {0}")]
    NoTls(&'static str),
    /// The rustls configuration cannot run QUIC (no TLS 1.3, or no AES-128-GCM suite).
    #[error("TLS configuration unusable for QUIC: {0}")]
    Unusable(String),
    /// quinn does not speak this version.
    #[error("unsupported QUIC version {0:#010x}")]
    Version(u32),
    /// A duration out of QUIC's range.
    #[error("QUIC idle timeout out of range: {0:?}")]
    IdleTimeout(Duration),
}

/// What a dialer hands its adapter: quinn's client configuration and the name the server's
/// certificate is checked against.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QuicDial {
    /// quinn's client configuration.
    pub client: QuinnClientConfig,
    /// The TLS server name.
    pub server_name: String,
}

/// What a listener hands its adapter: quinn's server configuration and the handshake bounds.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct QuicListen {
    /// quinn's server configuration.
    pub server: QuinnServerConfig,
    /// Handshakes run or held for `accept` at once, at most.
    pub accept_backlog: usize,
    /// How long a handshake may take.
    pub handshake_timeout: Duration,
}

impl QuicConfig {
    fn transport(&self) -> Result<Arc<quinn::TransportConfig>, QuicError> {
        let mut t = quinn::TransportConfig::default();
        t.keep_alive_interval(self.keep_alive);
        let idle = quinn::IdleTimeout::try_from(self.idle_timeout)
            .map_err(|_| QuicError::IdleTimeout(self.idle_timeout))?;
        t.max_idle_timeout(Some(idle));
        Ok(Arc::new(t))
    }

    /// quinn's client configuration from `tls` (cloned: ALPN set to [`alpn`](Self::alpn)).
    pub fn client(&self, tls: &rustls::ClientConfig) -> Result<QuinnClientConfig, QuicError> {
        if !quinn_proto::DEFAULT_SUPPORTED_VERSIONS.contains(&self.version) {
            return Err(QuicError::Version(self.version));
        }
        let mut tls = tls.clone();
        tls.alpn_protocols = self.alpn.clone();
        let tls = Arc::new(tls);
        // rustls says whether the configuration can run QUIC (TLS 1.3, a QUIC suite) when a
        // QUIC connection is made: make one that is never used rather than fail later.
        let probe = rustls::pki_types::ServerName::try_from("probe.invalid").expect("a valid name");
        rustls::quic::ClientConnection::new(
            tls.clone(),
            rustls::quic::Version::V1,
            probe,
            Vec::new(),
        )
        .map_err(|e| QuicError::Unusable(e.to_string()))?;
        let crypto =
            QuicClientConfig::try_from(tls).map_err(|e| QuicError::Unusable(e.to_string()))?;
        let mut c = QuinnClientConfig::new(Arc::new(crypto));
        c.transport_config(self.transport()?);
        c.version(self.version);
        Ok(c)
    }

    /// quinn's server configuration from `tls` (cloned: ALPN set to [`alpn`](Self::alpn)).
    pub fn server(&self, tls: &rustls::ServerConfig) -> Result<QuinnServerConfig, QuicError> {
        let mut tls = tls.clone();
        tls.alpn_protocols = self.alpn.clone();
        let tls = Arc::new(tls);
        rustls::quic::ServerConnection::new(tls.clone(), rustls::quic::Version::V1, Vec::new())
            .map_err(|e| QuicError::Unusable(e.to_string()))?;
        let crypto =
            QuicServerConfig::try_from(tls).map_err(|e| QuicError::Unusable(e.to_string()))?;
        let mut s = QuinnServerConfig::with_crypto(Arc::new(crypto));
        s.transport_config(self.transport()?);
        Ok(s)
    }

    /// What a dialer needs, from the peer's TLS client settings (`None`: an error).
    pub fn dial(&self, tls: Option<(&rustls::ClientConfig, &str)>) -> Result<QuicDial, QuicError> {
        let (tls, name) = tls.ok_or(QuicError::NoTls("a TLS client (PeerBuilder::tls_client)"))?;
        Ok(QuicDial {
            client: self.client(tls)?,
            server_name: name.to_owned(),
        })
    }

    /// What a listener needs, from the peer's TLS server settings (`None`: an error).
    pub fn listen(&self, tls: Option<&rustls::ServerConfig>) -> Result<QuicListen, QuicError> {
        let tls = tls.ok_or(QuicError::NoTls("a TLS server (PeerBuilder::tls_server)"))?;
        Ok(QuicListen {
            server: self.server(tls)?,
            accept_backlog: self.accept_backlog.max(1),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        })
    }
}

#[cfg(all(test, feature = "self-signed"))]
mod tests {
    use super::*;

    #[test]
    fn configs_from_the_tls_helpers() {
        let (server, cert) = crate::tls::self_signed_server(&["localhost"]).unwrap();
        let client = crate::tls::client_config_trusting(&[cert]).unwrap();
        let q = QuicConfig::default();
        q.listen(Some(&server)).unwrap();
        let d = q.dial(Some((&client, "localhost"))).unwrap();
        assert_eq!(d.server_name, "localhost");
        let draft = QuicConfig {
            version: QUIC_DRAFT_29,
            ..QuicConfig::default()
        };
        draft.dial(Some((&client, "localhost"))).unwrap();
        let bad = QuicConfig {
            version: 0x1234,
            ..QuicConfig::default()
        };
        assert!(matches!(
            bad.dial(Some((&client, "localhost"))),
            Err(QuicError::Version(0x1234))
        ));
        assert!(matches!(q.listen(None), Err(QuicError::NoTls(_))));
        assert!(matches!(q.dial(None), Err(QuicError::NoTls(_))));
    }

    #[test]
    fn tls12_only_is_refused() {
        let (server, _) = crate::tls::self_signed_server(&["localhost"]).unwrap();
        let mut server = (*server).clone();
        server.alpn_protocols.clear();
        QuicConfig::default().server(&server).unwrap();
        let provider = crate::tls::crypto_provider().unwrap();
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS12])
            .unwrap()
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth();
        assert!(matches!(
            QuicConfig::default().client(&tls),
            Err(QuicError::Unusable(_))
        ));
    }
}
