//! `GET /oauth/authorize` (RFC 6749 §4.1.1): checks the client and the redirect URI, then
//! hands the browser to the product's consent page with the query unchanged. A bad client
//! or redirect URI gets a plain error page, never a redirect (§4.1.2.1).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Http;
use super::form::Form;
use crate::domain::error::Error;

/// A plain page for the person at the browser; the message never carries a secret.
fn page(status: StatusCode, message: &str) -> Response {
    let escaped = message
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Authorization failed</title>\
         </head><body><h1>This app's request cannot be handled</h1><p>{escaped}</p></body></html>"
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(super) async fn authorize(State(http): State<Http>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    let form = match Form::from_pairs(query.as_bytes()) {
        Ok(form) => form,
        Err(e) => return page(StatusCode::BAD_REQUEST, &e.description),
    };
    match http
        .app
        .verified_redirect(form.get("client_id"), form.get("redirect_uri"))
        .await
    {
        Ok(_) => {}
        Err(e @ Error::InvalidArgument { .. }) => {
            return page(StatusCode::BAD_REQUEST, &e.to_string());
        }
        Err(Error::Unavailable(_)) => {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "The authorization server cannot reach its store; try again later.",
            );
        }
        Err(e) => {
            tracing::error!(error = %crate::domain::error::chain(&e), "authorize failed");
            return page(StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    }
    let Some(consent) = &http.consent_url else {
        return page(
            StatusCode::SERVICE_UNAVAILABLE,
            "No consent page is configured: start tessera with --consent-url.",
        );
    };
    let separator = if consent.contains('?') { '&' } else { '?' };
    let target = format!("{consent}{separator}{query}");
    match HeaderValue::from_str(&target) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => page(StatusCode::BAD_REQUEST, "the query cannot be forwarded"),
    }
}
