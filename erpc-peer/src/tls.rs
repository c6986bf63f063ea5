//! TLS for any runtime's streams (futures-rustls), and certificate helpers for tests and
//! quick starts — the counterpart of Go's `GenerateTLSConfigForServer`, with an ECDSA P-256
//! key instead of Go's RSA-1024.

use std::sync::Arc;

use futures_rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use futures_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use futures_rustls::rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature};
use futures_rustls::rustls::{
    self, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme,
};
use futures_rustls::{TlsAcceptor, TlsConnector};

/// The TLS settings of a peer.
#[derive(Clone, Default)]
pub(crate) struct TlsSettings {
    pub(crate) server: Option<TlsAcceptor>,
    pub(crate) client: Option<(TlsConnector, ServerName<'static>)>,
}

/// Why TLS material could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Certificate generation failed.
    #[error("certificate generation: {0}")]
    Generate(String),
    /// rustls refused the material.
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
    /// A PEM file could not be read or holds no usable item.
    #[error("PEM: {0}")]
    Pem(String),
}

/// A self-signed certificate and its private key (DER).
#[derive(Debug)]
pub struct SelfSigned {
    /// The certificate.
    pub cert: CertificateDer<'static>,
    /// The PKCS#8 private key.
    pub key: PrivatePkcs8KeyDer<'static>,
}

/// Generates a self-signed certificate valid for `names` (DNS names or IP addresses).
pub fn self_signed(names: &[&str]) -> Result<SelfSigned, TlsError> {
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let ck =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    Ok(SelfSigned {
        cert: ck.cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()),
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(ring::default_provider())
}

/// A server configuration presenting `cert` with `key`.
pub fn server_config(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<ServerConfig>, TlsError> {
    let cfg = ServerConfig::builder_with_provider(provider())
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
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| TlsError::Pem(e.to_string()))?
        .ok_or_else(|| TlsError::Pem("no private key".into()))?;
    if certs.is_empty() {
        return Err(TlsError::Pem("no certificate".into()));
    }
    let cfg = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(cfg))
}

/// A server configuration with a fresh self-signed certificate for `names`; returns the
/// certificate too, so clients can trust it.
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
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

/// A client configuration that accepts any server certificate (Go's `InsecureSkipVerify`).
/// The connection is encrypted but the server is not authenticated: for tests and
/// self-signed development servers only.
pub fn client_config_insecure() -> Result<Arc<ClientConfig>, TlsError> {
    let cfg = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(NoVerify(provider())))
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

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
