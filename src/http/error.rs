//! The one mapping from domain errors to HTTP answers of the OAuth endpoints: RFC 6749
//! §5.2 JSON with its status, `WWW-Authenticate` on a 401 (RFC 6749 §5.2, RFC 6750 §3).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::error::{Error, chain};
use crate::domain::oauth_grant::OAuthErrorCode;

/// An error answer: the RFC 6749 code, a description without secrets, and how the client
/// authenticated (a 401 names the scheme it should use).
#[derive(Debug)]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    /// The `WWW-Authenticate` challenge of a 401.
    pub challenge: Option<&'static str>,
    /// Seconds for `Retry-After` (RFC 9110 §10.2.3) on a 429 that knows when to ask again.
    pub retry_after: Option<u64>,
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            status,
            code,
            description: description.into(),
            challenge: None,
            retry_after: None,
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        OAuthError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// The client used HTTP Basic: a 401 must challenge for it again.
    pub fn with_basic_challenge(mut self) -> Self {
        if self.status == StatusCode::UNAUTHORIZED {
            self.challenge = Some("Basic realm=\"tessera\"");
        }
        self
    }
}

fn status_of(code: OAuthErrorCode) -> StatusCode {
    match code {
        OAuthErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
        OAuthErrorCode::AccessDenied => StatusCode::FORBIDDEN,
        OAuthErrorCode::InvalidRequest
        | OAuthErrorCode::InvalidGrant
        | OAuthErrorCode::UnauthorizedClient
        | OAuthErrorCode::UnsupportedGrantType
        | OAuthErrorCode::UnsupportedResponseType
        | OAuthErrorCode::InvalidScope => StatusCode::BAD_REQUEST,
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> OAuthError {
        match e {
            Error::OAuth { code, description } => {
                OAuthError::new(status_of(code), code.as_str(), description)
            }
            e @ Error::InvalidArgument { .. } => OAuthError::invalid_request(e.to_string()),
            Error::Unauthenticated | Error::LoginFailed => {
                let mut e = OAuthError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_token",
                    "missing or invalid credential",
                );
                e.challenge = Some("Bearer realm=\"tessera\"");
                e
            }
            Error::PermissionDenied(m) => {
                OAuthError::new(StatusCode::FORBIDDEN, "insufficient_scope", m)
            }
            Error::NotFound(m) | Error::AlreadyExists(m) | Error::FailedPrecondition(m) => {
                OAuthError::invalid_request(m)
            }
            Error::ResourceExhausted(m) => {
                OAuthError::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", m)
            }
            Error::Throttled { retry_after, .. } => {
                let mut answer = OAuthError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "temporarily_unavailable",
                    e.to_string(),
                );
                answer.retry_after = Some(retry_after.as_secs().max(1));
                answer
            }
            Error::Unavailable(source) => {
                tracing::warn!(error = %chain(source.as_ref()), "store unavailable");
                OAuthError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    "the store cannot be reached; try again later",
                )
            }
            Error::Internal(source) => {
                tracing::error!(error = %chain(source.as_ref()), "internal error");
                OAuthError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error",
                )
            }
        }
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.code,
            "error_description": self.description,
        });
        let mut response = super::json_response(self.status, &body);
        if let Some(challenge) = self.challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
