//! `GET /metrics` on its own listener (`--metrics-listen`), never the OAuth one: the
//! Prometheus text format, with the same connection limits as every other listener.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;

use super::ConnectionLimits;
use super::listener::HttpIncoming;
use crate::domain::app::App;

/// Serves `/metrics` for `app` until the task is dropped or aborted.
pub async fn serve_metrics(
    listener: TcpListener,
    app: Arc<App>,
    limits: ConnectionLimits,
) -> std::io::Result<()> {
    let routes = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(app);
    let incoming = HttpIncoming::new(listener, limits, None, std::future::pending())?;
    axum::serve(incoming, routes).await
}

async fn scrape(State(app): State<Arc<App>>) -> Response {
    let text = app.metrics().encode(app.cached_tokens());
    (
        [
            (header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}
