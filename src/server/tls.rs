//! TLS on the listeners, re-read when the files change.
//!
//! tonic's `ServerTlsConfig` is fixed once the server is built, so the accept loop runs
//! rustls itself (the same tokio-rustls tonic uses). Every new connection asks
//! [`TlsSource::acceptor`], which compares the files' modification times and sizes with
//! the ones it loaded and, when they changed (cert-manager renewed the Secret, an operator
//! copied new files), builds a new config for this and later connections. Open connections
//! keep the config they were accepted with, so nothing is dropped. A set of files that does
//! not load (a key copied before its certificate) leaves the old config serving, logged,
//! and is tried again at the next connection.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};

/// The PEM files of one listener's TLS.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Mutual TLS: a caller must present a certificate this CA signed, or the handshake
    /// fails.
    pub client_ca: Option<PathBuf>,
}

impl TlsFiles {
    fn paths(&self) -> impl Iterator<Item = &Path> {
        [Some(&self.cert), Some(&self.key), self.client_ca.as_ref()]
            .into_iter()
            .flatten()
            .map(PathBuf::as_path)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("{path} holds no certificate")]
    NoCertificate { path: PathBuf },
    #[error("the client CA file: {0}")]
    ClientCa(#[source] rustls::server::VerifierBuilderError),
    #[error("the certificate and key: {0}")]
    Config(#[source] rustls::Error),
}

/// What identifies a file's content well enough to notice a replacement: its modification
/// time and size (a rename of `..data`, as kubelet does, changes both of the target).
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

struct Loaded {
    stamps: Vec<Stamp>,
    acceptor: TlsAcceptor,
}

/// One listener's TLS config, reloaded when its files change.
pub struct TlsSource {
    files: TlsFiles,
    alpn: Vec<Vec<u8>>,
    loaded: Mutex<Loaded>,
}

impl std::fmt::Debug for TlsSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSource")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl TlsSource {
    /// Loads the files now: a listener never starts with TLS it cannot serve. `alpn` is the
    /// protocol the listener speaks (`h2` for gRPC, `http/1.1` for the HTTP endpoints).
    pub fn load(files: TlsFiles, alpn: &[u8]) -> Result<Arc<TlsSource>, TlsError> {
        let alpn = vec![alpn.to_vec()];
        let stamps = files.paths().map(stamp).collect();
        let acceptor = build(&files, &alpn)?;
        Ok(Arc::new(TlsSource {
            files,
            alpn,
            loaded: Mutex::new(Loaded { stamps, acceptor }),
        }))
    }

    /// The acceptor for a new connection: the files' current content, or the last that
    /// loaded.
    pub fn acceptor(&self) -> TlsAcceptor {
        let stamps: Vec<Stamp> = self.files.paths().map(stamp).collect();
        let mut loaded = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if stamps != loaded.stamps {
            match build(&self.files, &self.alpn) {
                Ok(acceptor) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS files changed: new connections get the new certificate");
                    *loaded = Loaded { stamps, acceptor };
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS files changed but do not load; still serving the previous certificate");
                }
            }
        }
        loaded.acceptor.clone()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let read = |source| TlsError::Read {
        path: path.to_owned(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(read)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(read)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(certs)
}

fn build(files: &TlsFiles, alpn: &[Vec<u8>]) -> Result<TlsAcceptor, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs = read_certs(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|source| TlsError::Read {
        path: files.key.clone(),
        source,
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Config)?;
    let builder = match &files.client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certs(ca)? {
                roots.add(cert).map_err(TlsError::Config)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(TlsError::ClientCa)?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(TlsError::Config)?;
    config.alpn_protocols = alpn.to_vec();
    Ok(TlsAcceptor::from(Arc::new(config)))
}
