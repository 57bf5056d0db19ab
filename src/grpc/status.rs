//! The one mapping from domain errors to gRPC statuses.
//!
//! Exhaustive on purpose (no `_` arm): a new error variant must decide its status here.
//! Faults are logged with their cause chain and answered with a generic message.

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::domain::error::{Error, chain};

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let status = match &e {
            Error::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
            Error::Unauthenticated => Status::unauthenticated(
                "missing or invalid credential: send `authorization: Bearer <token>`",
            ),
            Error::LoginFailed => {
                Status::unauthenticated("login failed: wrong username, password or code")
            }
            Error::PermissionDenied(m) => Status::permission_denied(m.clone()),
            Error::NotFound(m) => Status::not_found(format!("{m} not found")),
            Error::AlreadyExists(m) => Status::already_exists(format!("{m} already exists")),
            Error::FailedPrecondition(m) => Status::failed_precondition(m.clone()),
            Error::ResourceExhausted(m) => Status::resource_exhausted(m.clone()),
            // google.rpc.RetryInfo in the status details, which gRPC client libraries read.
            Error::Throttled { retry_after, .. } => Status::with_error_details(
                Code::ResourceExhausted,
                e.to_string(),
                ErrorDetails::with_retry_info(Some(*retry_after)),
            ),
            Error::OAuth { code, .. } => {
                use crate::domain::oauth_grant::OAuthErrorCode as C;
                let code = match code {
                    C::InvalidClient => Code::Unauthenticated,
                    C::UnauthorizedClient | C::AccessDenied => Code::PermissionDenied,
                    C::InvalidRequest
                    | C::InvalidGrant
                    | C::UnsupportedGrantType
                    | C::UnsupportedResponseType
                    | C::InvalidScope => Code::InvalidArgument,
                };
                Status::new(code, e.to_string())
            }
            Error::Unavailable(source) => {
                tracing::warn!(error = %chain(source.as_ref()), "store unavailable");
                Status::unavailable("store unavailable, retry later")
            }
            Error::Internal(source) => {
                tracing::error!(error = %chain(source.as_ref()), "internal error");
                Status::internal("internal error")
            }
        };
        tracing::Span::current().record("grpc.code", code_name(status.code()));
        status
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
