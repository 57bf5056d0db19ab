//! `GET /oauth/authorize` (RFC 6749 §4.1.1): with `--consent-url`, checks the client and the
//! redirect URI, then hands the browser to the product's consent page with the query
//! unchanged; without, shows tessera's own sign-in and consent pages (`ui`). A bad client
//! or redirect URI gets an error page, never a redirect (§4.1.2.1).

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Http;
use super::form::Form;
use super::ui::{self, error_page};
use crate::domain::error::Error;

pub(super) async fn authorize(
    State(http): State<Http>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let title = http.ui.title();
    let query = query.unwrap_or_default();
    let form = match Form::from_pairs(query.as_bytes()) {
        Ok(form) => form,
        Err(e) => return error_page(title, StatusCode::BAD_REQUEST, &e.description),
    };
    let Some(consent) = &http.consent_url else {
        return ui::authorize(&http, &headers, &form).await;
    };
    match http
        .app
        .verified_redirect(form.get("client_id"), form.get("redirect_uri"))
        .await
    {
        Ok(_) => {}
        Err(e @ Error::InvalidArgument { .. }) => {
            return error_page(title, StatusCode::BAD_REQUEST, &e.to_string());
        }
        Err(Error::Unavailable(_)) => {
            return error_page(
                title,
                StatusCode::SERVICE_UNAVAILABLE,
                "The authorization server cannot reach its store; try again later.",
            );
        }
        Err(e) => {
            tracing::error!(error = %crate::domain::error::chain(&e), "authorize failed");
            return error_page(title, StatusCode::INTERNAL_SERVER_ERROR, "internal error");
        }
    }
    let separator = if consent.contains('?') { '&' } else { '?' };
    let target = format!("{consent}{separator}{query}");
    match HeaderValue::from_str(&target) {
        Ok(location) => {
            let mut response = StatusCode::FOUND.into_response();
            response.headers_mut().insert(header::LOCATION, location);
            response
        }
        Err(_) => error_page(
            title,
            StatusCode::BAD_REQUEST,
            "the query cannot be forwarded",
        ),
    }
}
