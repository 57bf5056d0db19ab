//! Serving: health, reflection and the tessera services on a listener bound by the caller.
//!
//! `main` (or a test) binds the socket first and hands it over, so tests bind `127.0.0.1:0`
//! and connect at once, with no sleep and no port race.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::domain::app::App;
use crate::domain::app::retention::Retention;
use crate::grpc::{AccountApi, AdminApi, EnvoyAuthzApi, EnvoyAuthzServer, OAuthApi, TokenApi};
use crate::proto::v1::account_service_server::AccountServiceServer;
use crate::proto::v1::admin_service_server::AdminServiceServer;
use crate::proto::v1::o_auth_service_server::OAuthServiceServer;
use crate::proto::v1::token_service_server::TokenServiceServer;
use crate::proto::{ENVOY_FILE_DESCRIPTOR_SET, FILE_DESCRIPTOR_SET};

mod listener;
mod metrics;
mod prune;
mod shed;
pub mod tls;
mod tls_stream;

pub use listener::ConnectionLimits;
pub use metrics::serve_metrics;

/// Largest request the admin service decodes.
const MAX_ADMIN_REQUEST: usize = 64 * 1024;
/// The services whose health follows the store.
const HEALTH_NAMES: [&str; 6] = [
    "",
    "tessera.v1.TokenService",
    "tessera.v1.AdminService",
    "tessera.v1.AccountService",
    "tessera.v1.OAuthService",
    "envoy.service.auth.v3.Authorization",
];
/// A health name that is SERVING whenever the process answers, whatever the store does: for
/// liveness probes, so a database outage makes replicas unready, not restarted.
pub const LIVENESS_HEALTH_NAME: &str = "liveness";

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("building the reflection service")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("serving gRPC")]
    Transport(#[from] tonic::transport::Error),
    #[error("serving HTTP")]
    Http(#[source] std::io::Error),
    #[error("loading the TLS files")]
    Tls(#[from] tls::TlsError),
}

/// The OAuth HTTP endpoints' listener, bound by the caller like the gRPC one.
#[derive(Debug)]
pub struct HttpListener {
    pub listener: TcpListener,
    pub options: crate::http::HttpOptions,
}

/// Knobs of the running server that are not part of the domain.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// How often pending `last_used_at` values are written.
    pub usage_flush_interval: Duration,
    /// How often the store is pinged to keep health current.
    pub health_interval: Duration,
    /// How long in-flight calls may take to finish after shutdown starts; a client that
    /// never lets go of its connection must not keep the process alive.
    pub drain_timeout: Duration,
    /// Make the per-RPC span at INFO (when traces are exported) rather than DEBUG, so that
    /// without an exporter a check pays nothing for a span no one reads.
    pub info_spans: bool,
    /// Most calls served at once, across connections; past it, RESOURCE_EXHAUSTED at once
    /// (see `shed`).
    pub max_concurrent_requests: usize,
    /// HTTP/2 `SETTINGS_MAX_CONCURRENT_STREAMS`: most streams one connection may open.
    pub max_concurrent_streams: u32,
    /// Longest a call may take, its request body included: a stream that sends part of a
    /// body and stops is ended (CANCELLED) instead of pinning its buffer forever.
    pub request_timeout: Duration,
    /// Connections before any request: how many, and how long one may stay silent or idle.
    pub connections: ConnectionLimits,
    /// TLS on the gRPC and HTTP listeners (`None`: plaintext).
    pub tls: Option<tls::TlsFiles>,
    /// How often the retention pass runs (`None`: never), and what it keeps.
    pub prune_interval: Option<Duration>,
    pub retention: Retention,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            usage_flush_interval: Duration::from_secs(5),
            health_interval: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
            info_spans: true,
            max_concurrent_requests: 1024,
            max_concurrent_streams: 128,
            request_timeout: Duration::from_secs(10),
            connections: ConnectionLimits::default(),
            tls: None,
            prune_interval: None,
            retention: Retention::default(),
        }
    }
}

async fn set_health(reporter: &HealthReporter, serving: bool) {
    let status = if serving {
        ServingStatus::Serving
    } else {
        ServingStatus::NotServing
    };
    for name in HEALTH_NAMES {
        reporter.set_service_status(name, status).await;
    }
}

/// Serves gRPC on `listener` and, when given, the OAuth HTTP endpoints on theirs, until
/// `shutdown` completes; then drains in-flight calls on both and writes pending usage.
pub async fn run(
    listener: TcpListener,
    http: Option<HttpListener>,
    app: Arc<App>,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServeError> {
    // Loaded before anything listens: a server never starts with TLS it cannot serve.
    let (grpc_tls, http_tls) = match &options.tls {
        Some(files) => (
            Some(tls::TlsSource::load(files.clone(), b"h2")?),
            Some(tls::TlsSource::load(files.clone(), b"http/1.1")?),
        ),
        None => (None, None),
    };
    let (reporter, health) = tonic_health::server::health_reporter();
    let (reads, writes) = tokio::join!(app.ready(), app.writable());
    set_health(&reporter, reads && writes).await;
    reporter
        .set_service_status(LIVENESS_HEALTH_NAME, ServingStatus::Serving)
        .await;

    let reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(ENVOY_FILE_DESCRIPTOR_SET)
        .build_v1()?;
    let reflection_v1alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(ENVOY_FILE_DESCRIPTOR_SET)
        .build_v1alpha()?;

    let drain_timeout = options.drain_timeout;
    let info_spans = options.info_spans;
    // Two tasks, so a slow usage flush (a silent database) never delays health.
    let health_task = tokio::spawn(keep_health(
        app.clone(),
        reporter.clone(),
        options.health_interval,
    ));
    let prune_task = options
        .prune_interval
        .map(|every| tokio::spawn(prune::prune_loop(app.clone(), every, options.retention)));
    let stop_flushing = Arc::new(tokio::sync::Notify::new());
    let flush_task = tokio::spawn(flush_usage(
        app.clone(),
        options.usage_flush_interval,
        stop_flushing.clone(),
    ));

    let tokens = TokenServiceServer::new(TokenApi::new(app.clone()))
        .max_decoding_message_size(crate::grpc::MAX_TOKEN_MESSAGE_BYTES);
    let admin = AdminServiceServer::new(AdminApi::new(app.clone()))
        .max_decoding_message_size(MAX_ADMIN_REQUEST);
    let account = AccountServiceServer::new(AccountApi::new(app.clone()))
        .max_decoding_message_size(MAX_ADMIN_REQUEST);
    let oauth = OAuthServiceServer::new(OAuthApi::new(app.clone()))
        .max_decoding_message_size(MAX_ADMIN_REQUEST);
    let envoy = EnvoyAuthzServer::new(
        EnvoyAuthzApi::new(app.clone()),
        crate::grpc::ENVOY_CHECK_BYTES,
    );

    // Shutdown starts when `shutdown` completes. In order: health turns NOT_SERVING (so
    // balancers and watchers move away first), the listener closes (a new connection is
    // refused at once, not left waiting for the drain), and in-flight calls drain, within
    // a deadline.
    let stopping = Arc::new(tokio::sync::Notify::new());
    let stop_accepting = Arc::new(tokio::sync::Notify::new());
    let stop_http = Arc::new(tokio::sync::Notify::new());
    let stop_signal = {
        let (stopping, stop_accepting) = (stopping.clone(), stop_accepting.clone());
        let stop_http = stop_http.clone();
        let health_updates = health_task.abort_handle();
        async move {
            shutdown.await;
            health_updates.abort();
            set_health(&reporter, false).await;
            stop_accepting.notify_one();
            stop_http.notify_one();
            stopping.notify_one();
        }
    };
    // The HTTP listener closes with the gRPC one, and its open connections drain.
    let http_task = match http {
        None => None,
        Some(h) => {
            let routes = crate::http::router(app.clone(), &h.options, info_spans);
            let closing = Arc::new(tokio::sync::Notify::new());
            let incoming =
                listener::HttpIncoming::new(h.listener, options.connections.clone(), http_tls, {
                    let closing = closing.clone();
                    async move { closing.notified().await }
                })
                .map_err(ServeError::Http)?;
            Some(tokio::spawn(
                axum::serve(
                    incoming,
                    routes.into_make_service_with_connect_info::<crate::http::Peer>(),
                )
                .with_graceful_shutdown(async move {
                    stop_http.notified().await;
                    closing.notify_one();
                })
                .into_future(),
            ))
        }
    };
    let incoming = listener::accept(
        listener,
        options.connections.clone(),
        grpc_tls,
        async move {
            stop_accepting.notified().await;
        },
    );
    let drain_deadline = async {
        stopping.notified().await;
        tokio::time::sleep(drain_timeout).await;
    };

    let serving = Server::builder()
        .max_concurrent_streams(options.max_concurrent_streams)
        .timeout(options.request_timeout)
        .layer(shed::ShedLayer::new(options.max_concurrent_requests))
        .layer(crate::grpc::CallerFirstLayer::new(app.clone()))
        .trace_fn(move |req| {
            let method = req.uri().path();
            macro_rules! rpc_span {
                ($level:expr) => {
                    tracing::span!(
                        $level,
                        "rpc",
                        otel.name = method.trim_start_matches('/'),
                        otel.kind = "server",
                        rpc.system = "grpc",
                        method = %method,
                        caller = tracing::field::Empty,
                        decision = tracing::field::Empty,
                        kind = tracing::field::Empty,
                        token_id = tracing::field::Empty,
                        grpc.code = tracing::field::Empty,
                    )
                };
            }
            if info_spans {
                rpc_span!(tracing::Level::INFO)
            } else {
                rpc_span!(tracing::Level::DEBUG)
            }
        })
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(tokens)
        .add_service(admin)
        .add_service(account)
        .add_service(oauth)
        .add_service(envoy)
        .serve_with_incoming_shutdown(incoming, stop_signal);
    let served = tokio::select! {
        served = serving => served,
        () = drain_deadline => {
            tracing::warn!(timeout = ?drain_timeout, "in-flight calls did not finish in time; stopping anyway");
            Ok(())
        }
    };

    health_task.abort();
    // Each batch is one statement on its own: stopping between two loses nothing.
    if let Some(task) = prune_task {
        task.abort();
    }
    if let Some(mut task) = http_task {
        match tokio::time::timeout(drain_timeout, &mut task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(ServeError::Http(e)),
            Ok(Err(e)) => tracing::error!(error = %e, "the HTTP server task failed"),
            Err(_) => {
                tracing::warn!("in-flight HTTP requests did not finish in time; stopping anyway");
                task.abort();
            }
        }
    }
    // Stopped between flushes rather than aborted mid-way, which would lose the batch it had
    // taken; a flush still running after the drain timeout (a huge batch) is aborted.
    stop_flushing.notify_one();
    let mut flush_task = flush_task;
    if tokio::time::timeout(drain_timeout, &mut flush_task)
        .await
        .is_err()
    {
        tracing::warn!("the usage flush did not finish in time; stopping it");
        flush_task.abort();
    }
    if let Err(e) = app.flush_usage().await {
        tracing::warn!(error = %e, "could not write last-used times at shutdown");
    }
    Ok(served?)
}

/// Keeps health in step with the store: SERVING while it answers a real read of the check
/// path's tables and commits a write; NOT_SERVING while either fails, and SERVING again as
/// soon as both succeed. Each probe is bounded by the store's deadline.
async fn keep_health(app: Arc<App>, reporter: HealthReporter, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut serving = true;
    loop {
        ticker.tick().await;
        let (reads, writes) = tokio::join!(app.ready(), app.writable());
        let ready = reads && writes;
        if ready != serving {
            tracing::warn!(serving = ready, reads, writes, "store health changed");
            serving = ready;
        }
        set_health(&reporter, ready).await;
    }
}

/// Writes `last_used_at` batches until told to stop (between batches, never during one).
async fn flush_usage(app: Arc<App>, every: Duration, stop: Arc<tokio::sync::Notify>) {
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            () = stop.notified() => return,
        }
        if let Err(e) = app.flush_usage().await {
            tracing::warn!(error = %crate::domain::error::chain(&e), "could not write last-used times; will retry");
        }
    }
}
