//! `POST /oauth/revoke` (RFC 7009): a client revokes a token issued to it; 200 whatever
//! the token was, so that nothing about other tokens is revealed (§2.2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::Http;
use super::error::OAuthError;
use super::form::{Form, client_auth};

pub(super) async fn revoke(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, OAuthError> {
    let form = Form::parse(&headers, &body)?;
    let presented = client_auth(&headers, &form)?;
    let client = presented.client(&http.app).await?;
    let token = form.get("token");
    if token.is_empty() {
        return Err(OAuthError::invalid_request("token is required"));
    }
    // §2.1: the hint only says where to look first. Every token has its kind in its
    // prefix, so any hint (or an unknown one) finds the same token.
    let revoked = http
        .app
        .revoke_as_client(&client, token)
        .await
        .map_err(|e| presented.error(e))?;
    if revoked > 0 {
        tracing::info!(client_id = %client.id, revoked, "tokens revoked by their app");
    }
    Ok(StatusCode::OK.into_response())
}
