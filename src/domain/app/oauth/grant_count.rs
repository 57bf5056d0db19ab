//! Every grant's outcome counted, by grant type and the RFC 6749 §5.2 error it answers with,
//! whichever door it came through (`/oauth/token` or `TokenService.Issue`).

use crate::domain::app::{App, Issued};
use crate::domain::error::{Error, Result};

impl App {
    pub(super) fn count_grant(
        &self,
        grant_type: &'static str,
        outcome: Result<Issued>,
    ) -> Result<Issued> {
        let error = outcome.as_ref().err().map_or("none", error_code);
        self.metrics.oauth_grant(grant_type, error);
        outcome
    }
}

/// The §5.2 code of a failed grant: at the token endpoint an unauthenticated caller is a
/// client that failed to authenticate.
fn error_code(e: &Error) -> &'static str {
    match e {
        Error::OAuth { code, .. } => code.as_str(),
        Error::InvalidArgument { .. }
        | Error::NotFound(_)
        | Error::AlreadyExists(_)
        | Error::FailedPrecondition(_) => "invalid_request",
        Error::Unauthenticated | Error::LoginFailed => "invalid_client",
        Error::PermissionDenied(_) => "insufficient_scope",
        Error::ResourceExhausted(_) | Error::Throttled { .. } | Error::Unavailable(_) => {
            "temporarily_unavailable"
        }
        Error::Internal(_) => "server_error",
    }
}
