//! The errors a caller can act on. The gRPC layer maps each variant to one status code.

use super::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A malformed request; `field` names the offending request field.
    #[error("{field}: {message}")]
    InvalidArgument { field: String, message: String },
    /// The caller's own credential is missing or not active.
    #[error("missing or invalid credential")]
    Unauthenticated,
    /// A login failed: unknown user, wrong password, missing or wrong code, disabled user,
    /// all alike, so the answer tells an attacker nothing.
    #[error("login failed")]
    LoginFailed,
    /// The caller's credential is valid but not allowed to do this.
    #[error("{0}")]
    PermissionDenied(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    #[error("{0}")]
    FailedPrecondition(String),
    /// A quota or a limit on load: retrying the same call will not help until something
    /// is freed (a token revoked, load gone).
    #[error("{0}")]
    ResourceExhausted(String),
    /// Refused for now, with when to ask again: a locked-out username, too many of one
    /// user's logins in flight, a full hashing queue. Callers get the delay in a form
    /// their libraries read (gRPC's `RetryInfo`, HTTP's `Retry-After`).
    #[error("{reason}; retry in {} s", retry_after.as_secs())]
    Throttled {
        reason: String,
        retry_after: std::time::Duration,
    },
    /// The store cannot be reached; retrying later may work.
    #[error("service unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// An OAuth grant or authorization failed with an RFC 6749 error code; the description
    /// says why, without a secret.
    #[error("{}: {description}", code.as_str())]
    OAuth {
        code: super::oauth_grant::OAuthErrorCode,
        description: String,
    },
    /// A fault of ours; details go to the log, not to the caller.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field: field.into(),
            message: message.into(),
        }
    }

    pub fn denied(message: impl Into<String>) -> Error {
        Error::PermissionDenied(message.into())
    }

    pub fn oauth(
        code: super::oauth_grant::OAuthErrorCode,
        description: impl Into<String>,
    ) -> Error {
        Error::OAuth {
            code,
            description: description.into(),
        }
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::NotFound { entity, key } => Error::NotFound(format!("{entity} {key:?}")),
            StoreError::Conflict { entity, key } => {
                Error::AlreadyExists(format!("{entity} {key:?}"))
            }
            e @ StoreError::InUse { .. } => Error::FailedPrecondition(e.to_string()),
            StoreError::OverQuota { key, limit, .. } => Error::ResourceExhausted(format!(
                "user {key:?} holds {limit} active tokens, the most --max-tokens-per-user \
                 allows; revoke some, or let them expire, first"
            )),
            StoreError::InvalidCursor => {
                Error::invalid("page_token", "not a page token from this listing")
            }
            StoreError::Unavailable(source) => Error::Unavailable(source),
            StoreError::Internal(source) => Error::Internal(source),
        }
    }
}

impl From<super::token_format::RandomError> for Error {
    fn from(e: super::token_format::RandomError) -> Error {
        Error::Internal(Box::new(e))
    }
}

/// An error and its sources, joined for one log field: "disk is full" must reach the log,
/// not only "store unavailable".
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
