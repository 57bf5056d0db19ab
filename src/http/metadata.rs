//! Discovery: RFC 8414 authorization server metadata and the JWK Set (RFC 7517) of the
//! keys that sign session JWTs.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;

use super::error::OAuthError;
use super::{Http, json_response};

pub(super) async fn metadata(State(http): State<Http>) -> Response {
    let iss: &str = &http.issuer;
    let body = serde_json::json!({
        "issuer": iss,
        "authorization_endpoint": format!("{iss}/oauth/authorize"),
        "token_endpoint": format!("{iss}/oauth/token"),
        "revocation_endpoint": format!("{iss}/oauth/revoke"),
        "introspection_endpoint": format!("{iss}/oauth/introspect"),
        "jwks_uri": format!("{iss}/.well-known/jwks.json"),
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none", "bearer"],
    });
    json_response(StatusCode::OK, &body)
}

pub(super) async fn jwks(State(http): State<Http>) -> Result<Response, OAuthError> {
    let keys: Vec<_> = http
        .app
        .jwks()
        .await?
        .into_iter()
        .map(|k| {
            serde_json::json!({
                "kid": k.kid, "kty": "OKP", "crv": "Ed25519", "x": k.x, "alg": "EdDSA", "use": "sig",
            })
        })
        .collect();
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({ "keys": keys }),
    ))
}
