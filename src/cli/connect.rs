//! Reaching a running tessera: `--server` (`TESSERA_SERVER`), and the credential sent with
//! every call: `TESSERA_TOKEN`, else the session `tessera login` saved for that server.

use clap::Args;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::error::{CliError, CliResult};
use super::output::Output;
use super::session_file;
use crate::proto::v1::admin_service_client::AdminServiceClient;
use crate::proto::v1::token_service_client::TokenServiceClient;

/// The variable holding a credential (an API key, a PAT or a session token) for the CLI.
pub const TOKEN_ENV: &str = "TESSERA_TOKEN";

/// Where to connect and how to print; on every client command and its subcommands.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// The server's gRPC address.
    #[arg(
        long,
        env = "TESSERA_SERVER",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub server: String,
    /// `table` for people, `json` for scripts.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// For an https:// server: PEM CA certificates to trust instead of the system's.
    #[arg(long, env = "TESSERA_CA_FILE", global = true)]
    pub ca_file: Option<std::path::PathBuf>,
    /// For a server that wants mutual TLS: this client's PEM certificate...
    #[arg(
        long,
        env = "TESSERA_CLIENT_CERT_FILE",
        global = true,
        requires = "client_key_file"
    )]
    pub client_cert_file: Option<std::path::PathBuf>,
    /// ...and its PEM private key.
    #[arg(
        long,
        env = "TESSERA_CLIENT_KEY_FILE",
        global = true,
        requires = "client_cert_file"
    )]
    pub client_key_file: Option<std::path::PathBuf>,
    /// The name the server's certificate must carry, when it is not the one in --server
    /// (a probe dialing 127.0.0.1 for a certificate made out to the Service's DNS name).
    #[arg(long, env = "TESSERA_TLS_SERVER_NAME", global = true)]
    pub tls_server_name: Option<String>,
}

/// Adds `authorization: Bearer …` to every call that has a credential.
#[derive(Clone)]
pub struct Bearer(Option<MetadataValue<Ascii>>);

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(value) = &self.0 {
            req.metadata_mut().insert("authorization", value.clone());
        }
        Ok(req)
    }
}

type Authed = InterceptedService<Channel, Bearer>;
pub type AdminClient = AdminServiceClient<Authed>;

/// An open connection and the credential its calls carry.
pub struct Conn {
    channel: Channel,
    bearer: Bearer,
    pub output: Output,
}

impl Conn {
    /// Connected, with the caller's credential (or an error naming how to get one).
    pub async fn authed(args: &ClientArgs) -> CliResult<Conn> {
        let token = credential(&args.server)?;
        Conn::open(args, Some(&token)).await
    }

    /// Connected without a credential (for `login`).
    pub async fn anonymous(args: &ClientArgs) -> CliResult<Conn> {
        Conn::open(args, None).await
    }

    async fn open(args: &ClientArgs, token: Option<&str>) -> CliResult<Conn> {
        let server = args.server.trim_end_matches('/').to_owned();
        let tls = server.starts_with("https://");
        if !tls && !server.starts_with("http://") {
            return Err(CliError::Usage(format!(
                "--server {server}: give an http:// or https:// URL, e.g. http://127.0.0.1:50051"
            )));
        }
        let bearer = match token {
            None => Bearer(None),
            Some(t) => Bearer(Some(format!("Bearer {t}").parse().map_err(|_| {
                CliError::Local(format!("{TOKEN_ENV} holds characters no token has"))
            })?)),
        };
        let mut endpoint = Endpoint::from_shared(server.clone())
            .map_err(|_| CliError::Usage(format!("--server {server} is not a URL")))?
            .connect_timeout(std::time::Duration::from_secs(5));
        if tls {
            endpoint =
                endpoint
                    .tls_config(tls_config(args)?)
                    .map_err(|source| CliError::Connect {
                        server: server.clone(),
                        source,
                    })?;
        } else if args.ca_file.is_some() || args.client_cert_file.is_some() {
            return Err(CliError::Usage(format!(
                "--server {server} is plaintext: TLS settings need an https:// URL"
            )));
        }
        let channel = endpoint
            .connect()
            .await
            .map_err(|source| CliError::Connect { server, source })?;
        Ok(Conn {
            channel,
            bearer,
            output: args.output,
        })
    }

    pub fn admin(&self) -> AdminClient {
        AdminServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }

    /// The channel itself, for services that take no credential (health).
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn tokens(&self) -> TokenServiceClient<Authed> {
        TokenServiceClient::with_interceptor(self.channel.clone(), self.bearer.clone())
    }
}

/// The CA (the given file, else the system's trust store), and this client's certificate
/// when one is given.
fn tls_config(args: &ClientArgs) -> CliResult<ClientTlsConfig> {
    let read = |path: &std::path::Path| {
        std::fs::read(path).map_err(CliError::io(format!("reading {}", path.display())))
    };
    let mut config = match &args.ca_file {
        Some(path) => ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(path)?)),
        None => ClientTlsConfig::new().with_native_roots(),
    };
    if let (Some(cert), Some(key)) = (&args.client_cert_file, &args.client_key_file) {
        config = config.identity(Identity::from_pem(read(cert)?, read(key)?));
    }
    if let Some(name) = &args.tls_server_name {
        config = config.domain_name(name.clone());
    }
    Ok(config)
}

/// `TESSERA_TOKEN`, else a saved session for this very server that has not expired.
fn credential(server: &str) -> CliResult<String> {
    if let Some(token) = std::env::var(TOKEN_ENV)
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(token.trim().to_owned());
    }
    let none = || {
        CliError::Local(format!(
            "no credential for {server}: set {TOKEN_ENV} or run `tessera login`"
        ))
    };
    let saved = session_file::load()?.ok_or_else(none)?;
    if saved.server.trim_end_matches('/') != server.trim_end_matches('/') {
        return Err(none());
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if saved.expires_at != 0 && saved.expires_at <= now {
        return Err(CliError::Local(format!(
            "the session for {server} expired: run `tessera login`"
        )));
    }
    Ok(saved.token)
}
