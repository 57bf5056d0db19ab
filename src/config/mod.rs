//! Settings from flags, each with a `TESSERA_*` environment fallback (which map straight onto
//! container env and Secret entries). No tonic or sqlx types here.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod audit;
mod bench;
mod retention;
mod tls;

pub use audit::AuditArgs;
pub use bench::{BenchArgs, BenchSeedArgs, SoakArgs};
pub use retention::RetentionArgs;
pub use tls::TlsArgs;

#[derive(Debug, Parser)]
#[command(
    name = "tessera",
    version,
    about = "A gRPC token service: issue, introspect, revoke and authorize bearer tokens",
    after_help = "Example:\n  tessera serve --database-url sqlite://tessera.db\n  TESSERA_TOKEN=$(cat tessera.db.admin-key) tessera role list"
)]
pub struct Cli {
    /// Log line format on stderr.
    #[arg(long, env = "TESSERA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations and serve gRPC and the OAuth HTTP endpoints until SIGTERM or SIGINT.
    Serve(Box<ServeArgs>),
    /// Apply pending migrations and exit.
    Migrate(StoreArgs),
    /// Create role `admin` (`*`) and user `admin` when missing and print a new admin API key
    /// as the only line on stdout.
    Bootstrap(BootstrapArgs),
    /// Load-test a running server; prints a markdown table with ratios to the empty call.
    Bench(BenchArgs),
    /// Fill a store with N API keys through the store (for benchmarks); prints the admin key.
    BenchSeed(BenchSeedArgs),
    /// A long mixed load against replicas (see scripts/soak.sh); prints a markdown report.
    Soak(SoakArgs),
    #[command(flatten)]
    Client(crate::cli::ClientCommand),
    /// Print a shell completion script.
    #[command(
        after_help = "Example:\n  tessera completion bash > /etc/bash_completion.d/tessera\n  tessera completion zsh > \"${fpath[1]}/_tessera\""
    )]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// Where data lives: `sqlite://PATH` (created if missing; one replica only) or
    /// `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=require` (several replicas; TLS as the
    /// URL's sslmode says).
    #[arg(
        long,
        env = "TESSERA_DATABASE_URL",
        default_value = "sqlite://tessera.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Most open database connections per process.
    #[arg(long, env = "TESSERA_DATABASE_POOL_SIZE", default_value_t = 4)]
    pub database_pool_size: u32,
    /// Postgres: longest a statement may run, and longest a call waits for a connection,
    /// before it fails with UNAVAILABLE.
    #[arg(long, env = "TESSERA_DATABASE_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub database_statement_timeout: Duration,
}

impl StoreArgs {
    /// The store's settings; `serve` also sets how the change feed is followed.
    pub fn settings(&self) -> crate::store::StoreSettings {
        crate::store::StoreSettings {
            pool_size: self.database_pool_size,
            statement_timeout: self.database_statement_timeout,
            ..crate::store::StoreSettings::new(self.database_url.clone())
        }
    }
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub hashing: HashArgs,
    /// File holding a password (12 to 1,024 bytes) to set for the admin user, so an
    /// operator can log in.
    #[arg(long)]
    pub admin_password_file: Option<PathBuf>,
}

/// The environment variable holding the HMAC server key itself. It has no flag on purpose:
/// a flag's value is visible to every user of the machine through `ps`.
pub const TOKEN_HMAC_KEY_ENV: &str = "TESSERA_TOKEN_HMAC_KEY";

#[derive(Debug, Args)]
pub struct HashArgs {
    /// File holding the server key for HMAC-SHA256 token hashes (a mounted Secret, say);
    /// the key may instead be given in TESSERA_TOKEN_HMAC_KEY. Without either, plain SHA-256.
    /// Changing the key makes every existing token invalid.
    #[arg(long, env = "TESSERA_TOKEN_HMAC_KEY_FILE")]
    pub token_hmac_key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address the gRPC services listen on.
    #[arg(long, env = "TESSERA_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Address the OAuth HTTP endpoints (/oauth/token, /oauth/authorize, ...) listen on.
    #[arg(long, env = "TESSERA_HTTP_LISTEN", default_value = "127.0.0.1:8080")]
    pub http_listen: SocketAddr,
    /// Address `/metrics` (Prometheus text format) listens on, never the OAuth listener's;
    /// empty turns it off.
    #[arg(long, env = "TESSERA_METRICS_LISTEN", default_value = "127.0.0.1:9464")]
    pub metrics_listen: OptionalAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub hashing: HashArgs,
    /// Most tokens kept in the in-process cache in front of the store; 0 turns it off
    /// (every check reads the store).
    #[arg(long, env = "TESSERA_CACHE_CAPACITY", default_value_t = 100_000)]
    pub cache_capacity: usize,
    /// How long a cached entry is trusted: the bound on how late a change made outside this
    /// process (another replica, a direct database edit) is seen. Changes made through this
    /// process are seen by the very next check regardless.
    #[arg(long, env = "TESSERA_CACHE_TTL", default_value = "5s", value_parser = parse_duration)]
    pub cache_ttl: Duration,
    /// Postgres: how often the change revision is polled, the fallback that catches change
    /// notices a replica missed (they are then applied within two intervals).
    #[arg(long, env = "TESSERA_CHANGE_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub change_poll_interval: Duration,
    /// How often the store is pinged to keep the health status current.
    #[arg(long, env = "TESSERA_HEALTH_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub health_interval: Duration,
    /// How often `last_used_at` values are written in one batch, e.g. `5s`, `500ms`.
    #[arg(long, env = "TESSERA_USAGE_FLUSH_INTERVAL", default_value = "5s", value_parser = parse_duration)]
    pub usage_flush_interval: Duration,
    /// Most active tokens (neither revoked nor expired) one user may hold; Issue beyond it
    /// answers RESOURCE_EXHAUSTED naming this flag.
    #[arg(long, env = "TESSERA_MAX_TOKENS_PER_USER", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tokens_per_user: u32,
    /// Most calls served at once; beyond it a call is answered RESOURCE_EXHAUSTED at once,
    /// not queued (health and reflection are never refused).
    #[arg(long, env = "TESSERA_MAX_CONCURRENT_REQUESTS", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_requests: u32,
    /// Most HTTP/2 streams one connection may have open (SETTINGS_MAX_CONCURRENT_STREAMS).
    #[arg(long, env = "TESSERA_MAX_CONCURRENT_STREAMS", default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_concurrent_streams: u32,
    /// Longest a call may take, reading its request included.
    #[arg(long, env = "TESSERA_REQUEST_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub request_timeout: Duration,
    /// Most connections open at once; one more is closed as soon as it is accepted. Keep it
    /// below the process's file-descriptor limit (`ulimit -n`).
    #[arg(long, env = "TESSERA_MAX_CONNECTIONS", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// How long a new connection may take to send the HTTP/2 preface.
    #[arg(long, env = "TESSERA_HANDSHAKE_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub handshake_timeout: Duration,
    /// How long a connection may go without reading or writing a byte before it is closed.
    #[arg(long, env = "TESSERA_IDLE_TIMEOUT", default_value = "5m", value_parser = parse_duration)]
    pub idle_timeout: Duration,
    #[command(flatten)]
    pub logins: LoginArgs,
    #[command(flatten)]
    pub oauth: OAuthArgs,
    #[command(flatten)]
    pub retention: RetentionArgs,
    #[command(flatten)]
    pub audit: AuditArgs,
    #[command(flatten)]
    pub tls: TlsArgs,
}

/// tessera as an OAuth 2 authorization server.
#[derive(Debug, Args)]
pub struct OAuthArgs {
    /// How long a client's previous secret keeps working after RotateClientSecret, for
    /// rolling the new one out (`0` ends it at once; at most 30 days, e.g. `90m` or `7d`).
    #[arg(long, env = "TESSERA_CLIENT_SECRET_GRACE", default_value = "0", value_parser = parse_grace)]
    pub client_secret_grace: Duration,
    /// How long an authorization code waits for its exchange.
    #[arg(long, env = "TESSERA_AUTHORIZATION_CODE_TTL", default_value = "60s", value_parser = parse_duration)]
    pub authorization_code_ttl: Duration,
    /// An OAuth access token's lifetime.
    #[arg(long, env = "TESSERA_ACCESS_TOKEN_TTL", default_value = "1h", value_parser = parse_duration)]
    pub access_token_ttl: Duration,
    /// A refresh token's lifetime; each refresh hands out a new one.
    #[arg(long, env = "TESSERA_REFRESH_TOKEN_TTL", default_value = "30d", value_parser = parse_duration)]
    pub refresh_token_ttl: Duration,
    /// When an authorization ends, however often its tokens are refreshed.
    #[arg(long, env = "TESSERA_REFRESH_FAMILY_LIFETIME", default_value = "90d", value_parser = parse_duration)]
    pub refresh_family_lifetime: Duration,
    /// How long a used refresh token may be presented again (a client's retry after a lost
    /// answer) before a reuse counts as theft and revokes its family (`0`; at most 60s).
    #[arg(long, env = "TESSERA_REFRESH_REUSE_GRACE", default_value = "0", value_parser = parse_reuse_grace)]
    pub refresh_reuse_grace: Duration,
    /// The product's consent page: `GET /oauth/authorize` sends the browser there with the
    /// query unchanged once the client and redirect URI check out. Unset, tessera shows its
    /// own sign-in and consent pages.
    #[arg(long, env = "TESSERA_CONSENT_URL")]
    pub consent_url: Option<String>,
    /// The product's name on the built-in sign-in and consent pages (used when
    /// `--consent-url` is unset).
    #[arg(long, env = "TESSERA_UI_TITLE", default_value = "tessera")]
    pub ui_title: String,
    /// The built-in pages' accent colour: `#rgb`, `#rrggbb` or a CSS colour name.
    #[arg(long, env = "TESSERA_UI_ACCENT_COLOR", default_value = "#2f5bd3", value_parser = crate::http::accent_color)]
    pub ui_accent_color: String,
    /// The issuer URL the OAuth metadata names (RFC 8414), the public base of the HTTP
    /// listener, e.g. `https://auth.example.com`; unset, `http://` and the bound address.
    #[arg(long, env = "TESSERA_OAUTH_ISSUER")]
    pub oauth_issuer: Option<String>,
}

impl OAuthArgs {
    pub fn config(&self) -> crate::domain::app::oauth::OAuthConfig {
        crate::domain::app::oauth::OAuthConfig {
            client_secret_grace: self.client_secret_grace,
            code_ttl: self.authorization_code_ttl,
            access_ttl: self.access_token_ttl,
            refresh_ttl: self.refresh_token_ttl,
            family_lifetime: self.refresh_family_lifetime,
            refresh_reuse_grace: self.refresh_reuse_grace,
        }
    }
}

/// `--refresh-reuse-grace`: zero, or up to a minute.
fn parse_reuse_grace(text: &str) -> Result<Duration, String> {
    let d = parse_grace(text)?;
    if d > crate::domain::app::oauth::MAX_REFRESH_REUSE_GRACE {
        return Err("at most 60s".to_owned());
    }
    Ok(d)
}

/// A grace period: a duration like [`parse_duration`]'s, or zero, at most 30 days.
fn parse_grace(text: &str) -> Result<Duration, String> {
    let d = match text.trim().trim_end_matches(['s', 'm', 'h', 'd']) {
        "0" => Duration::ZERO,
        _ => parse_duration(text)?,
    };
    if d > crate::domain::app::oauth::MAX_CLIENT_SECRET_GRACE {
        return Err("at most 30 days (43200m)".to_owned());
    }
    Ok(d)
}

/// The environment variable holding the server secret itself (no flag, as for the HMAC key:
/// a flag's value is visible to every user of the machine through `ps`).
pub const SECRET_KEY_ENV: &str = "TESSERA_SECRET_KEY";

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// File holding the server secret (at least 32 bytes; a mounted Secret, say), from which
    /// the keys sealing TOTP seeds and signing keys are derived; it may instead be given in
    /// TESSERA_SECRET_KEY. Without either, on SQLite the first `serve` generates one into
    /// `<database>.secret-key` (mode 0600); on Postgres logins answer FAILED_PRECONDITION.
    #[arg(long, env = "TESSERA_SECRET_KEY_FILE")]
    pub secret_key_file: Option<PathBuf>,
    /// The `iss` of session JWTs.
    #[arg(long, env = "TESSERA_ISSUER", default_value = "tessera")]
    pub issuer: String,
    /// The `aud` of session JWTs.
    #[arg(long, env = "TESSERA_SESSION_AUDIENCE", default_value = "tessera")]
    pub session_audience: String,
    /// The longest a login session lives; a login may ask for less.
    #[arg(long, env = "TESSERA_SESSION_TTL", default_value = "60m", value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// Which credentials may mint a PAT: `2fa` (a session from a login with a TOTP code, or
    /// a PAT), `session` (any session, or a PAT), `any` (API keys too).
    #[arg(long, env = "TESSERA_PAT_ISSUERS", value_enum, default_value_t = PatIssuersArg::TwoFa)]
    pub pat_issuers: PatIssuersArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PatIssuersArg {
    #[value(name = "2fa")]
    TwoFa,
    Session,
    Any,
}

/// Parses `250ms`, `5s`, `2m`, `1h`, `30d` or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 5s or 2m"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        "d" => Duration::from_secs(n.saturating_mul(86_400)),
        _ => return Err(format!("{text:?}: unit must be ms, s, m, h or d")),
    };
    if d.is_zero() {
        return Err("must be positive".to_owned());
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("0s").is_err());
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert!(parse_duration("5y").is_err());
        assert_eq!(parse_reuse_grace("0"), Ok(Duration::ZERO));
        assert!(parse_reuse_grace("61s").is_err());
        assert_eq!(parse_grace("0"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_grace("90m"), Ok(Duration::from_secs(5400)));
        assert!(parse_grace("43201m").is_err());
    }
}

/// A listen address, or nothing (an empty value): for listeners that can be turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalAddr(pub Option<SocketAddr>);

impl std::str::FromStr for OptionalAddr {
    type Err = std::net::AddrParseError;

    fn from_str(s: &str) -> Result<OptionalAddr, Self::Err> {
        match s.trim() {
            "" => Ok(OptionalAddr(None)),
            addr => addr.parse().map(|a| OptionalAddr(Some(a))),
        }
    }
}
