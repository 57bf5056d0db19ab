//! `POST /oauth/introspect` (RFC 7662): for a bearer credential holding
//! `tessera:introspect` (any token), or for a client (the tokens issued to it). An inactive
//! token is `{"active": false}` and nothing else (§2.2).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::error::OAuthError;
use super::form::{Form, client_auth};
use super::{Http, json_response};
use crate::domain::app::Introspection;
use crate::domain::token_format::TokenKind;

pub(super) async fn introspect(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, OAuthError> {
    let form = Form::parse(&headers, &body)?;
    let token = form.get("token");
    if token.is_empty() {
        return Err(OAuthError::invalid_request("token is required"));
    }
    let app = &http.app;
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            v.get(..7)
                .is_some_and(|s| s.eq_ignore_ascii_case("bearer "))
        });
    let found = match bearer {
        Some(credential) => {
            let caller = app.authenticate(Some(credential)).await?;
            app.introspect(&caller, token).await?
        }
        None => {
            let presented = client_auth(&headers, &form)?;
            let client = presented.client(app).await?;
            app.introspect_as_client(&client, token).await?
        }
    };
    let body = match found {
        None => serde_json::json!({ "active": false }),
        Some(i) => describe(&http, i).await?,
    };
    Ok(json_response(StatusCode::OK, &body))
}

/// RFC 7662 §2.2's members, and tessera's own (`tessera_kind`, `read_only`).
async fn describe(http: &Http, i: Introspection) -> Result<serde_json::Value, OAuthError> {
    let own_token = i.client_id.as_deref() == Some(i.subject.as_str());
    let username = match own_token {
        true => None,
        false => http.app.user_name(&i.subject).await?,
    };
    let mut body = serde_json::json!({
        "active": true,
        "scope": i.scopes.join(" "),
        "token_type": "Bearer",
        "iat": i.issued_at / 1000,
        "sub": i.subject,
        "iss": &*http.issuer,
        "jti": i.token_id,
        "tessera_kind": i.kind.as_str(),
        "read_only": i.read_only,
    });
    if let Some(client_id) = &i.client_id {
        body["client_id"] = client_id.clone().into();
        body["aud"] = client_id.clone().into();
    } else if i.kind == TokenKind::Session {
        body["aud"] = (&*http.session_audience).into();
    }
    if let Some(name) = username {
        body["username"] = name.into();
    }
    if let Some(exp) = i.expires_at {
        body["exp"] = (exp / 1000).into();
    }
    Ok(body)
}
