//! TLS for any runtime's streams (futures-rustls), and certificate helpers for tests and
//! quick starts — the counterpart of Go's `GenerateTLSConfigForServer`, with an ECDSA P-256
//! key instead of Go's RSA-1024 (`self-signed` feature).
//!
//! # Crypto provider
//!
//! Every configuration made here uses [`crypto_provider`]: the process-wide default if the
//! application installed one (`CryptoProvider::install_default`), else the provider compiled
//! in by a feature — `aws-lc-rs` when that feature is on, else `ring` (the default). With
//! neither feature and no installed default, the helpers answer
//! [`TlsError::NoCryptoProvider`].

use std::sync::Arc;

use futures_rustls::pki_types::pem::PemObject;
#[cfg(feature = "self-signed")]
use futures_rustls::pki_types::PrivatePkcs8KeyDer;
use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use futures_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use futures_rustls::rustls::crypto::{verify_tls12_signature, verify_tls13_signature};
use futures_rustls::rustls::{
    self, crypto::CryptoProvider, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig,
    SignatureScheme,
};
use futures_rustls::{TlsAcceptor, TlsConnector};

/// The TLS settings of a peer.
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) server: Option<TlsAcceptor>,
    pub(crate) client: Option<(TlsConnector, ServerName<'static>)>,
    /// The configurations themselves, for QUIC (which runs its own TLS).
    pub(crate) server_config: Option<Arc<ServerConfig>>,
    pub(crate) client_config: Option<Arc<ClientConfig>>,
}

/// Why TLS material could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Certificate generation failed (`self-signed` feature).
    #[error("certificate generation: {0}")]
    Generate(String),
    /// rustls refused the material.
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// A PEM file could not be read or holds no usable item.
    #[error("PEM: {0}")]
    Pem(String),
    /// No rustls crypto provider: the `ring` and `aws-lc-rs` features are both off and the
    /// application installed no process-wide default.
    #[error("no rustls crypto provider: enable the `ring` or `aws-lc-rs` feature, or call CryptoProvider::install_default")]
    NoCryptoProvider,
}

/// A self-signed certificate and its private key (DER).
#[cfg(feature = "self-signed")]
#[derive(Debug)]
#[non_exhaustive]
pub struct SelfSigned {
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// The PKCS#8 private key.
    pub key: PrivatePkcs8KeyDer<'static>,
}

/// Generates a self-signed certificate valid for `names` (DNS names or IP addresses).
#[cfg(feature = "self-signed")]
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, TlsError> {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let ck =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert: ck.cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()),
    })
}

/// The crypto provider of every configuration made here: the process-wide default if one is
/// installed, else `aws-lc-rs` (feature), else `ring` (feature, on by default).
pub fn crypto_provider() -> Result<Arc<CryptoProvider>, TlsError> {
    if let Some(p) = CryptoProvider::get_default() {
        return Ok(p.clone());
    }
    #[cfg(feature = "aws-lc-rs")]
    let compiled = Some(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    let compiled = Some(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    let compiled: Option<CryptoProvider> = None;
    compiled.map(Arc::new).ok_or(TlsError::NoCryptoProvider)
}

/// Every certificate in `pem` (`CERTIFICATE` sections; other sections are skipped). An
/// error if a section is malformed or there is no certificate.
pub fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate".into()));
    }
    Ok(certs)
}

/// The first private key in `pem` (PKCS#8, PKCS#1 or SEC1 sections).
pub fn private_key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| match e {
        rustls::pki_types::pem::Error::NoItemsFound => TlsError::Pem("no private key".into()),
        e => TlsError::Pem(e.to_string()),
    })
}

/// A server configuration presenting `cert` with `key`.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let cfg = ServerConfig::builder_with_provider(crypto_provider()?)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)?;
    Ok(Arc::new(cfg))
}

/// A server configuration from PEM files (certificate chain and private key), as Go's
/// `NewTLSConfigFromFile`.
pub fn server_config_from_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = certs_from_pem(cert_pem)?;
    let key = private_key_from_pem(key_pem)?;
    let cfg = ServerConfig::builder_with_provider(crypto_provider()?)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// A server configuration with a fresh self-signed certificate for `names`; returns the
/// certificate too, so clients can trust it.
#[cfg(feature = "self-signed")]
pub fn self_signed_server(
    names: &[&str],
) -> Result<(Arc<ServerConfig>, CertificateDer<'static>), TlsError> {
    let ss = self_signed(names)?;
    let cfg = server_config(ss.cert.clone(), PrivateKeyDer::Pkcs8(ss.key))?;
    Ok((cfg, ss.cert))
}

/// A client configuration trusting exactly these certificates.
pub fn client_config_trusting(
    certs: &[CertificateDer<'static>],
) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for c in certs {
        roots.add(c.clone())?;
    }
    client_config_with_roots(roots)
}

/// A client configuration trusting the authorities in `roots` (for instance the system's,
/// loaded with `rustls-native-certs`).
pub fn client_config_with_roots(roots: RootCertStore) -> Result<Arc<ClientConfig>, TlsError> {
    let cfg = ClientConfig::builder_with_provider(crypto_provider()?)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// **Dangerous**: a client configuration that accepts any server certificate (Go's
/// `InsecureSkipVerify`; named like rustls' `dangerous()` API so that it stands out in review).
/// The connection is encrypted but the server is not authenticated: for tests and
/// self-signed development servers only.
pub fn dangerous_client_config_skip_verify() -> Result<Arc<ClientConfig>, TlsError> {
    let provider = crypto_provider()?;
    let cfg = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(all(test, feature = "self-signed"))]
mod tests {
    use super::*;
    use rustls::{ClientConnection, ServerConnection};

    /// Every provider compiled in completes a handshake with the self-signed helpers' material.
    #[test]
    fn every_compiled_provider_handshakes() {
        let providers: Vec<(&str, CryptoProvider)> = vec![
            #[cfg(feature = "ring")]
            ("ring", rustls::crypto::ring::default_provider()),
            #[cfg(feature = "aws-lc-rs")]
            ("aws-lc-rs", rustls::crypto::aws_lc_rs::default_provider()),
        ];
        assert!(!providers.is_empty());
        let ss = self_signed(&["localhost"]).unwrap();
        for (name, p) in providers {
            let p = Arc::new(p);
            let server = ServerConfig::builder_with_provider(p.clone())
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(vec![ss.cert.clone()], ss.key.clone_key().into())
                .unwrap();
            let mut roots = RootCertStore::empty();
            roots.add(ss.cert.clone()).unwrap();
            let client = ClientConfig::builder_with_provider(p)
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
            let mut c =
                ClientConnection::new(Arc::new(client), ServerName::try_from("localhost").unwrap())
                    .unwrap();
            let mut s = ServerConnection::new(Arc::new(server)).unwrap();
            for _ in 0..10 {
                let mut wire = Vec::new();
                while c.wants_write() {
                    c.write_tls(&mut wire).unwrap();
                }
                s.read_tls(&mut &wire[..]).unwrap();
                s.process_new_packets().unwrap();
                wire.clear();
                while s.wants_write() {
                    s.write_tls(&mut wire).unwrap();
                }
                c.read_tls(&mut &wire[..]).unwrap();
                c.process_new_packets().unwrap();
            }
            assert!(!c.is_handshaking() && !s.is_handshaking(), "{name}");
        }
    }

    #[test]
    fn pem_helpers() {
        assert!(matches!(certs_from_pem(b""), Err(TlsError::Pem(_))));
        assert!(matches!(
            private_key_from_pem(b"junk"),
            Err(TlsError::Pem(_))
        ));
        let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let (cert_pem, key_pem) = (ck.cert.pem(), ck.signing_key.serialize_pem());
        let certs = certs_from_pem(cert_pem.as_bytes()).unwrap();
        assert_eq!(certs, vec![ck.cert.der().clone()]);
        assert!(matches!(
            private_key_from_pem(key_pem.as_bytes()).unwrap(),
            PrivateKeyDer::Pkcs8(_)
        ));
        server_config_from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    }
}
