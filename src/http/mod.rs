//! The OAuth 2 HTTP endpoints, for OAuth client libraries as they are: token (RFC 6749),
//! revocation (RFC 7009), introspection (RFC 7662), authorization (the built-in sign-in and
//! consent pages of `ui`, or a hand-off to the
//! product's consent page) and discovery (RFC 8414, the JWK Set). They call the same use
//! cases as gRPC and never the store.

mod authorize;
mod error;
/// Public for the fuzz targets (`fuzz/fuzz_targets/oauth_inputs.rs`).
pub mod form;
mod introspect;
mod metadata;
mod revoke;
mod token;
mod ui;

pub use ui::{UiOptions, accent_color};

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::domain::app::App;
use crate::domain::audit;
use crate::request_id::{REQUEST_ID, request_id_header};

/// Largest request body read.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What the endpoints need besides the application.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The issuer URL the metadata and introspection name, without a trailing slash.
    pub issuer: String,
    /// The product's consent page (`--consent-url`).
    pub consent_url: Option<String>,
    /// The `aud` of session JWTs, for introspection.
    pub session_audience: String,
    /// Longest a request may take (`--request-timeout`, as for gRPC).
    pub request_timeout: Duration,
    /// The built-in sign-in and consent pages, used when `consent_url` is unset.
    pub ui: UiOptions,
}

#[derive(Debug, Clone)]
struct Http {
    app: Arc<App>,
    issuer: Arc<str>,
    consent_url: Option<Arc<str>>,
    session_audience: Arc<str>,
    ui: Arc<ui::Ui>,
}

/// A JSON answer that no cache keeps (RFC 6749 §5.1).
fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// The deadline and the span of every request: at INFO when traces are exported, else at
/// DEBUG, so that without an exporter a request pays nothing for a span no one reads (as
/// for gRPC).
async fn deadline(
    State((limit, info_spans)): State<(Duration, bool)>,
    request: Request,
    next: Next,
) -> Response {
    macro_rules! http_span {
        ($level:expr) => {
            tracing::span!(
                $level,
                "http",
                otel.kind = "server",
                http.method = %request.method(),
                http.path = %request.uri().path(),
            )
        };
    }
    let span = match info_spans {
        true => http_span!(tracing::Level::INFO),
        false => http_span!(tracing::Level::DEBUG),
    };
    let context = audit::RequestContext::new(
        request
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok()),
        request
            .extensions()
            .get::<axum::extract::ConnectInfo<Peer>>()
            .map(|info| info.0.0),
    );
    let request_id = request_id_header(&context.request_id);
    let call = audit::in_request(
        context,
        tracing::Instrument::instrument(next.run(request), span),
    );
    let mut response = match tokio::time::timeout(limit, call).await {
        Ok(response) => response,
        Err(_) => error::OAuthError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the request took longer than the server's deadline",
        )
        .into_response(),
    };
    if let Some(id) = request_id {
        response.headers_mut().insert(REQUEST_ID, id);
    }
    response
}

/// The address a request came from, as the listener accepted it (for audit events).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub std::net::SocketAddr);

/// The endpoints' routes; `info_spans`: see [`deadline`].
pub fn router(app: Arc<App>, options: &HttpOptions, info_spans: bool) -> Router {
    let http = Http {
        app,
        issuer: options.issuer.trim_end_matches('/').into(),
        consent_url: options.consent_url.as_deref().map(Into::into),
        session_audience: options.session_audience.as_str().into(),
        ui: Arc::new(ui::Ui::new(&options.ui)),
    };
    let mut routes = Router::new();
    if options.consent_url.is_none() {
        routes = routes
            .route("/oauth/ui/sign-in", post(ui::sign_in))
            .route("/oauth/ui/consent", post(ui::consent))
            .route("/oauth/ui/sign-out", post(ui::sign_out))
            .route("/oauth/ui/style.css", get(ui::stylesheet));
    }
    routes
        .route("/oauth/token", post(token::token))
        .route("/oauth/revoke", post(revoke::revoke))
        .route("/oauth/introspect", post(introspect::introspect))
        .route("/oauth/authorize", get(authorize::authorize))
        .route(
            "/.well-known/oauth-authorization-server",
            get(metadata::metadata),
        )
        .route("/.well-known/jwks.json", get(metadata::jwks))
        .with_state(http)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            (options.request_timeout, info_spans),
            deadline,
        ))
}
