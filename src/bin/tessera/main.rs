//! The `tessera` binary: parse settings, start telemetry, open the store, bind, serve.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{CommandFactory, Parser};
use std::process::ExitCode;
use tessera::config::{Cli, Command, HashArgs, LoginArgs, PatIssuersArg, ServeArgs, StoreArgs};
use tessera::domain::app::{App, CacheConfig, Limits, LoginConfig, PatIssuers};
use tessera::domain::clock::SystemClock;
use tessera::domain::ports::Store;
use tessera::domain::secret_hash::SecretHasher;
use tessera::server::{self, ConnectionLimits, ServeOptions};
use tessera::store::{Backend, StoreSettings};

mod key_files;

use key_files::{beside, hmac_key, read_key_file, server_keys, warn_if_exposed, write_secret_file};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Command::Completion { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "tessera", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), &script);
            return ExitCode::SUCCESS;
        }
        Command::Client(command) => {
            // The CLI logs nothing: its output is its answer, its errors one line each.
            return match tokio::runtime::Runtime::new() {
                Ok(runtime) => runtime.block_on(tessera::cli::run(command)),
                Err(e) => {
                    eprintln!("error: starting the async runtime: {e}");
                    ExitCode::from(tessera::cli::error::EXIT_LOCAL)
                }
            };
        }
        other => other,
    };
    match server_main(cli.log_format, command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:?}");
            ExitCode::FAILURE
        }
    }
}

/// The server's commands: serve, migrate, bootstrap and the benchmarks.
fn server_main(log_format: tessera::config::LogFormat, command: Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let telemetry = tessera::telemetry::init(log_format)?;
        match command {
            Command::Serve(args) => serve(*args, telemetry.exporting()).await,
            Command::Migrate(args) => {
                open_store(&args).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Command::Bench(args) => bench(args).await,
            Command::Soak(args) => {
                let admin_key = std::fs::read_to_string(&args.admin_key_file)
                    .with_context(|| format!("reading {}", args.admin_key_file.display()))?
                    .trim()
                    .to_owned();
                let report = tessera::bench::soak(tessera::bench::SoakOptions {
                    addrs: args.addr,
                    admin_key,
                    duration: args.duration,
                    window: args.window,
                    concurrency: args.concurrency,
                })
                .await?;
                print!("{}", report.markdown());
                Ok(())
            }
            Command::BenchSeed(args) => {
                let backend = open_store(&args.store).await?;
                let app = one_shot_app(backend.store(), &args.hashing)?;
                let started = std::time::Instant::now();
                let key = tessera::bench::seed(&app, args.tokens, args.secrets_out.as_deref()).await?;
                tracing::info!(tokens = args.tokens, seconds = started.elapsed().as_secs_f64(), "store seeded");
                println!("{key}");
                Ok(())
            }
            Command::Bootstrap(args) => {
                let backend = open_store(&args.store).await?;
                let app = one_shot_app(backend.store(), &args.hashing)?;
                let done = app.bootstrap().await.context("bootstrap")?;
                tracing::info!(user_id = %done.user_id, token_id = %done.token_id, "admin key issued");
                if let Some(path) = &args.admin_password_file {
                    let password = read_key_file(path, "admin password")?;
                    let password = String::from_utf8(password).context("the admin password is not UTF-8")?;
                    app.set_password_at_bootstrap(&done.user_id, password).await.context("setting the admin password")?;
                    tracing::info!(user_id = %done.user_id, "admin password set");
                }
                println!("{}", done.key);
                Ok(())
            }
            Command::Client(_) | Command::Completion { .. } => {
                bail!("not a server command")
            }
        }
    })
}

async fn open_store(args: &StoreArgs) -> anyhow::Result<Backend> {
    open_with(&args.settings()).await
}

async fn open_with(settings: &StoreSettings) -> anyhow::Result<Backend> {
    let backend = Backend::open(settings)
        .await
        .with_context(|| format!("opening {}", settings.redacted_url()))?;
    backend.migrate().await.context("applying migrations")?;
    Ok(backend)
}

fn login_config(args: &LoginArgs) -> LoginConfig {
    LoginConfig {
        issuer: args.issuer.clone(),
        audience: args.session_audience.clone(),
        session_ttl: args.session_ttl,
        pat_issuers: match args.pat_issuers {
            PatIssuersArg::TwoFa => PatIssuers::TwoFactor,
            PatIssuersArg::Session => PatIssuers::Session,
            PatIssuersArg::Any => PatIssuers::Any,
        },
        ..LoginConfig::default()
    }
}

/// The application for a one-shot command (bootstrap, bench-seed): default cache and limits.
fn one_shot_app(store: Arc<dyn Store>, hashing: &HashArgs) -> anyhow::Result<Arc<App>> {
    Ok(Arc::new(build_app(
        store,
        hashing,
        &CacheConfig::default(),
        Limits::default(),
    )?))
}

fn build_app(
    store: Arc<dyn Store>,
    hashing: &HashArgs,
    cache: &CacheConfig,
    limits: Limits,
) -> anyhow::Result<App> {
    let hasher = SecretHasher::new(hmac_key(hashing)?.as_deref());
    Ok(App::with_cache(store, hasher, Arc::new(SystemClock), cache).with_limits(limits))
}

async fn serve(args: ServeArgs, exporting_traces: bool) -> anyhow::Result<()> {
    let shutdown = shutdown_signal()?;
    let settings = StoreSettings {
        change_poll_interval: args.change_poll_interval,
        ..args.store.settings()
    };
    let backend = open_with(&settings).await?;
    let cache = CacheConfig {
        capacity: args.cache_capacity,
        ttl: args.cache_ttl,
        negative_ttl: args.cache_ttl,
        ..CacheConfig::default()
    };
    let limits = Limits {
        max_tokens_per_user: args.max_tokens_per_user,
    };
    let sqlite_path = match &backend {
        Backend::Sqlite(sqlite) => sqlite.path().map(Path::to_path_buf),
        _ => None,
    };
    if let Some(db) = &sqlite_path {
        for suffix in ["", "-wal", "-shm"] {
            warn_if_exposed(&beside(Some(db), suffix), "database");
        }
        warn_if_exposed(&beside(Some(db), ".admin-key"), "admin key");
    }
    if let Some(tls) = args.tls.files() {
        warn_if_exposed(&tls.key, "TLS key");
    }
    let keys = server_keys(&args.logins, sqlite_path.as_deref())?;
    let metrics = Arc::new(tessera::metrics::Metrics::new());
    let store = tessera::store::metered(backend.store(), metrics.clone());
    let app = Arc::new(
        build_app(store, &args.hashing, &cache, limits)?
            .with_logins(login_config(&args.logins), keys)
            .with_oauth(args.oauth.config())
            .with_audit_decisions(args.audit.audit_decisions)
            .with_metrics(metrics.clone()),
    );
    app.ensure_signing_key()
        .await
        .context("making the first session signing key")?;
    // Replicas on one Postgres hear each other's changes; the feed stops when dropped.
    let _feed = backend.follow_changes(app.clone(), metrics);
    // Only a single-file SQLite store bootstraps itself: it has one replica and a place for
    // the key file beside the database. On Postgres, replicas starting together would race,
    // and a container's filesystem is no place for a secret: run `tessera bootstrap` once.
    if let Backend::Sqlite(sqlite) = &backend {
        if app.is_empty().await? {
            let done = app
                .bootstrap()
                .await
                .context("bootstrapping an empty store")?;
            let path = beside(sqlite.path(), ".admin-key");
            write_secret_file(&path, &done.key).context(
                "saving the first admin key failed; run `tessera bootstrap` to print a new one",
            )?;
            tracing::warn!(path = %path.display(), token_id = %done.token_id,
                "empty store: created user admin; its API key is in this file (mode 0600)");
        }
    } else if app.is_empty().await.unwrap_or(false) {
        tracing::warn!("empty store: run `tessera bootstrap` once to create the admin key");
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let http_listener = tokio::net::TcpListener::bind(args.http_listen)
        .await
        .with_context(|| format!("binding {}", args.http_listen))?;
    let http_addr = http_listener.local_addr()?;
    let metrics_listener = match args.metrics_listen.0 {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?,
        ),
        None => None,
    };
    let metrics_addr = match &metrics_listener {
        Some(l) => l.local_addr()?.to_string(),
        None => "off".to_owned(),
    };
    if args.tls.files().is_none() {
        for addr in [listener.local_addr()?, http_addr] {
            if !addr.ip().is_loopback() {
                tracing::warn!(listen = %addr, "plaintext on a non-loopback address: tokens cross the network readable; set --tls-cert-file and --tls-key-file, or terminate TLS in front");
            }
        }
    }
    tracing::info!(listen = %listener.local_addr()?, http_listen = %http_addr,
        metrics_listen = %metrics_addr, tls = args.tls.files().is_some(),
        database = %settings.redacted_url(), "tessera serving");
    let options = ServeOptions {
        usage_flush_interval: args.usage_flush_interval,
        health_interval: args.health_interval,
        info_spans: exporting_traces,
        max_concurrent_requests: usize::try_from(args.max_concurrent_requests)
            .unwrap_or(usize::MAX),
        max_concurrent_streams: args.max_concurrent_streams,
        request_timeout: args.request_timeout,
        connections: ConnectionLimits {
            max_connections: usize::try_from(args.max_connections).unwrap_or(usize::MAX),
            handshake_timeout: args.handshake_timeout,
            idle_timeout: args.idle_timeout,
        },
        tls: args.tls.files(),
        prune_interval: args.retention.interval(),
        retention: args.retention.retention(),
        ..ServeOptions::default()
    };
    let issuer = args
        .oauth
        .oauth_issuer
        .clone()
        .unwrap_or_else(|| match args.tls.files() {
            Some(_) => format!("https://{http_addr}"),
            None => format!("http://{http_addr}"),
        });
    let ui = tessera::http::UiOptions {
        title: args.oauth.ui_title.clone(),
        accent_color: args.oauth.ui_accent_color.clone(),
        // A browser keeps a Secure cookie only over HTTPS, or on plain-HTTP loopback.
        secure_cookies: issuer.starts_with("https://") || !http_addr.ip().is_loopback(),
    };
    let http = server::HttpListener {
        listener: http_listener,
        options: tessera::http::HttpOptions {
            issuer,
            consent_url: args.oauth.consent_url.clone(),
            session_audience: args.logins.session_audience.clone(),
            request_timeout: args.request_timeout,
            ui,
        },
    };
    // Scrapes answer until the process ends: a drain is worth watching.
    let metrics_task = metrics_listener.map(|l| {
        tokio::spawn(server::serve_metrics(
            l,
            app.clone(),
            options.connections.clone(),
        ))
    });
    server::run(listener, Some(http), app, options, shutdown).await?;
    if let Some(task) = metrics_task {
        task.abort();
    }
    backend.close().await;
    tracing::info!("tessera stopped");
    Ok(())
}

async fn bench(args: tessera::config::BenchArgs) -> anyhow::Result<()> {
    let admin_key = std::fs::read_to_string(&args.admin_key_file)
        .with_context(|| format!("reading {}", args.admin_key_file.display()))?
        .trim()
        .to_owned();
    let options = tessera::bench::BenchOptions {
        addr: args.addr,
        cold_addr: args.cold_addr,
        http_addr: args.http_addr,
        admin_key,
        concurrency: args.concurrency,
        connections: args.connections,
        warmup: args.warmup,
        duration: args.duration,
        rounds: args.rounds,
        only: args.only,
    };
    if let Some(path) = args.fill_from {
        let secrets: Vec<String> = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .lines()
            .map(str::to_owned)
            .collect();
        let total = secrets.len();
        let allowed = tessera::bench::fill(&options, secrets).await?;
        println!("{allowed} of {total} tokens allowed");
        return Ok(());
    }
    if args.overload {
        let rows = tessera::bench::overload(&options).await?;
        print!("{}", tessera::bench::overload_markdown(&rows));
        return Ok(());
    }
    let rows = tessera::bench::run_bench(&options).await?;
    print!("{}", tessera::bench::markdown(&rows, &options));
    Ok(())
}

/// Registers the SIGTERM and SIGINT handlers now and returns a future that completes on
/// either. Registering before the server reports that it is serving matters: a signal that
/// arrives in between must start a clean drain, not kill the process outright.
#[cfg(unix)]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let mut int = signal(SignalKind::interrupt()).context("installing the SIGINT handler")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutdown signal received; draining in-flight calls");
    })
}

#[cfg(not(unix))]
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    Ok(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("shutdown signal received; draining in-flight calls");
    })
}
