//! How the CLI fails: one line on stderr and an exit code a script can branch on.

use std::process::ExitCode;

/// Exit codes: 0 success (and `check`: allowed), 1 `check`: denied, 2 a usage error (clap's,
/// or arguments that do not go together), 3 the server answered with an error, 4 a local
/// failure (no credential, the terminal, the session file, no server to reach).
pub const EXIT_DENIED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_SERVER: u8 = 3;
pub const EXIT_LOCAL: u8 = 4;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The server's answer: printed with its gRPC code, as grpcurl would name it.
    #[error("{}: {}", code_name(.0.code()), .0.message())]
    Status(#[from] tonic::Status),
    #[error("cannot reach {server}: {source}")]
    Connect {
        server: String,
        #[source]
        source: tonic::transport::Error,
    },
    /// Arguments that do not go together, or an input refused before any call.
    #[error("{0}")]
    Usage(String),
    /// Something on this machine: no credential, an expired or unreadable session.
    #[error("{0}")]
    Local(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> CliError {
        let what = what.into();
        move |source| CliError::Io { what, source }
    }

    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            // A status tonic made itself (the connection broke mid-call) carries the
            // transport error as its source; one the server sent has none.
            CliError::Status(s) if std::error::Error::source(s).is_some() => EXIT_LOCAL,
            CliError::Status(_) => EXIT_SERVER,
            CliError::Usage(_) => EXIT_USAGE,
            CliError::Connect { .. } | CliError::Local(_) | CliError::Io { .. } => EXIT_LOCAL,
        })
    }
}

/// The canonical name of a gRPC code (`NOT_FOUND`), as in the gRPC spec and grpcurl.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code as C;
    match code {
        C::Ok => "OK",
        C::Cancelled => "CANCELLED",
        C::Unknown => "UNKNOWN",
        C::InvalidArgument => "INVALID_ARGUMENT",
        C::DeadlineExceeded => "DEADLINE_EXCEEDED",
        C::NotFound => "NOT_FOUND",
        C::AlreadyExists => "ALREADY_EXISTS",
        C::PermissionDenied => "PERMISSION_DENIED",
        C::ResourceExhausted => "RESOURCE_EXHAUSTED",
        C::FailedPrecondition => "FAILED_PRECONDITION",
        C::Aborted => "ABORTED",
        C::OutOfRange => "OUT_OF_RANGE",
        C::Unimplemented => "UNIMPLEMENTED",
        C::Internal => "INTERNAL",
        C::Unavailable => "UNAVAILABLE",
        C::DataLoss => "DATA_LOSS",
        C::Unauthenticated => "UNAUTHENTICATED",
    }
}

pub type CliResult<T> = Result<T, CliError>;
