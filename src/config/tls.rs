//! TLS on the gRPC and HTTP listeners (see `server::tls`).

use std::path::PathBuf;

use clap::Args;

use crate::server::tls::TlsFiles;

#[derive(Debug, Args)]
pub struct TlsArgs {
    /// PEM certificate chain the gRPC and HTTP listeners serve (TLS 1.2 and 1.3, rustls);
    /// re-read when it changes, for new connections, without a restart. Unset: plaintext.
    #[arg(long, env = "TESSERA_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of that certificate (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "TESSERA_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<PathBuf>,
    /// PEM CA certificates for mutual TLS: a caller without a client certificate one of
    /// them signed is refused at the handshake.
    #[arg(long, env = "TESSERA_TLS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub tls_client_ca_file: Option<PathBuf>,
}

impl TlsArgs {
    pub fn files(&self) -> Option<TlsFiles> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca_file.clone(),
            }),
            _ => None,
        }
    }
}
