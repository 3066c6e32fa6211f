//! TLS for the server: a certificate chain and its private key read from PEM files into a rustls
//! configuration (aws-lc-rs provider, TLS 1.2 and 1.3, ALPN `http/1.1` only). Every way the files
//! can be wrong is its own [`TlsError`] naming the file and the fix; nothing here logs key
//! material, and the key's bytes are dropped once rustls holds the signing key.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls;

/// A server's TLS identity, ready for [`crate::serve`]: a certificate chain and its matching key.
#[derive(Clone)]
pub struct TlsSettings {
    config: Arc<rustls::ServerConfig>,
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSettings").finish_non_exhaustive()
    }
}

/// Why TLS settings could not be built from the files given.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read.
    #[error(
        "cannot read the TLS file {}: {source} (check [server] tls_cert and tls_key, and that the daemon's user may read the file)",
        path.display()
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file is not PEM, or holds no certificate.
    #[error(
        "no certificate in {}{}: tls_cert must be a PEM file with the server's certificate first (-----BEGIN CERTIFICATE-----), then its intermediate certificates",
        path.display(),
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    NoCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What the PEM parser said, when it refused the file.
        detail: Option<String>,
    },
    /// The certificate cannot be parsed as X.509.
    #[error(
        "the certificate in {} cannot be used: {source} (tls_cert must hold a valid X.509 certificate in PEM)",
        path.display()
    )]
    BadCertificate {
        /// The certificate file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The key file holds no private key (an encrypted key counts as none).
    #[error(
        "no private key in {}{}: tls_key must be a PEM file with an unencrypted PKCS#8 (-----BEGIN PRIVATE KEY-----), PKCS#1 (RSA) or SEC1 (EC) private key; decrypt an encrypted one first (e.g. `openssl pkey -in key.pem -out key-plain.pem`)",
        path.display(),
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    NoKey {
        /// The key file.
        path: PathBuf,
        /// What the PEM parser said, when it refused the file.
        detail: Option<String>,
    },
    /// The private key is of a kind the TLS library cannot sign with.
    #[error(
        "the private key in {} is not supported: {source} (use an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key)",
        path.display()
    )]
    UnsupportedKey {
        /// The key file.
        path: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
    /// The private key is not the certificate's.
    #[error(
        "the private key in {} does not belong to the certificate in {}: set tls_key to the key the certificate was issued for (the first certificate in tls_cert must be the server's own)",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the pair for another reason.
    #[error(
        "cannot use the certificate {} with the key {}: {source}",
        cert.display(),
        key.display()
    )]
    Rustls {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

impl TlsSettings {
    /// Reads a PEM certificate chain (the server's certificate first) and its PEM private key
    /// (PKCS#8, PKCS#1 or SEC1, unencrypted), and checks that the key is the certificate's.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsSettings, TlsError> {
        let cert_pem = read(cert)?;
        let chain = certificates(cert, &cert_pem)?;
        let key_pem = read(key)?;
        let key_der = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
            path: key.to_path_buf(),
            detail: pem_detail(&e),
        })?;
        drop(key_pem);
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let signing = provider
            .key_provider
            .load_private_key(key_der.clone_key())
            .map_err(|source| TlsError::UnsupportedKey {
                path: key.to_path_buf(),
                source,
            })?;
        let certified = rustls::sign::CertifiedKey::new(chain.clone(), signing);
        match certified.keys_match() {
            Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {}
            Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
                return Err(TlsError::KeyMismatch {
                    cert: cert.to_path_buf(),
                    key: key.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(TlsError::BadCertificate {
                    path: cert.to_path_buf(),
                    source,
                });
            }
        }
        let rustls_error = |source| TlsError::Rustls {
            cert: cert.to_path_buf(),
            key: key.to_path_buf(),
            source,
        };
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(rustls_error)?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)
            .map_err(rustls_error)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsSettings {
            config: Arc::new(config),
        })
    }

    /// The rustls configuration, for the accept loop.
    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Every certificate in the file, in order; at least one.
fn certificates(path: &Path, text: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_certificate = |detail| TlsError::NoCertificate {
        path: path.to_path_buf(),
        detail,
    };
    let chain = CertificateDer::pem_slice_iter(text)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certificate(pem_detail(&e)))?;
    if chain.is_empty() {
        return Err(no_certificate(None));
    }
    Ok(chain)
}

/// The PEM parser's complaint in words, or none when the file simply held nothing of the kind.
fn pem_detail(e: &pem::Error) -> Option<String> {
    match e {
        pem::Error::NoItemsFound => None,
        other => Some(other.to_string()),
    }
}
