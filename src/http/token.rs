//! `POST /oauth/token` (RFC 6749 §4.1.3, §4.4, §6): the three grants, answered with the
//! §5.1 JSON and `Cache-Control: no-store`.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::error::OAuthError;
use super::form::{Form, client_auth};
use super::{Http, json_response};
use crate::domain::app::Issued;
use crate::domain::app::oauth::{CodeExchange, RefreshRequest};
use crate::domain::clock::Millis;

pub(super) async fn token(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, OAuthError> {
    // The grants count themselves; what is refused before one starts is counted here.
    let mut started = false;
    let answer = grant(&http, &headers, &body, &mut started).await;
    if let (Err(e), false) = (&answer, started) {
        http.app.metrics().oauth_grant(grant_label(&body), e.code);
    }
    answer
}

/// What a request refused before its grant started names as its grant type: one of the
/// three, `missing`, or `unsupported` (a label never takes what the client sent).
fn grant_label(body: &[u8]) -> &'static str {
    let sent = form_urlencoded::parse(body)
        .find(|(k, _)| k == "grant_type")
        .map(|(_, v)| v);
    match sent.as_deref() {
        Some("authorization_code") => "authorization_code",
        Some("refresh_token") => "refresh_token",
        Some("client_credentials") => "client_credentials",
        None | Some("") => "missing",
        Some(_) => "unsupported",
    }
}

async fn grant(
    http: &Http,
    headers: &HeaderMap,
    body: &[u8],
    started: &mut bool,
) -> Result<Response, OAuthError> {
    let form = Form::parse(headers, body)?;
    let presented = client_auth(headers, &form)?;
    let client = presented.auth.clone();
    let app = &http.app;
    *started = matches!(
        form.get("grant_type"),
        "authorization_code" | "refresh_token" | "client_credentials"
    );
    let issued = match form.get("grant_type") {
        "" => return Err(OAuthError::invalid_request("grant_type is required")),
        "authorization_code" => {
            app.exchange_code(CodeExchange {
                client,
                code: form.get("code").to_owned(),
                redirect_uri: form.get("redirect_uri").to_owned(),
                code_verifier: form.get("code_verifier").to_owned(),
            })
            .await
        }
        "refresh_token" => {
            app.refresh(RefreshRequest {
                client,
                refresh_token: form.get("refresh_token").to_owned(),
                scopes: form.scopes(),
            })
            .await
        }
        "client_credentials" => app.client_credentials(client, form.scopes()).await,
        _ => {
            return Err(OAuthError::new(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "grant_type must be authorization_code, refresh_token or client_credentials",
            ));
        }
    };
    let issued = issued.map_err(|e| presented.error(e))?;
    Ok(answer(issued, app.now()))
}

/// RFC 6749 §5.1.
fn answer(issued: Issued, now: Millis) -> Response {
    let mut body = serde_json::json!({
        "access_token": issued.token,
        "token_type": "Bearer",
        "scope": issued.scopes.join(" "),
    });
    if let Some(at) = issued.expires_at {
        // Whole seconds left, rounded up: an hour's token says 3600 however late in its
        // first millisecond the answer is written.
        body["expires_in"] = ((at - now).max(0).saturating_add(999) / 1000).into();
    }
    if let Some(refresh) = issued.refresh {
        body["refresh_token"] = refresh.token.into();
    }
    json_response(StatusCode::OK, &body)
}
