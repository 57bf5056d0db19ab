//! `tessera check TOKEN SCOPE…`: the Authorize call, for scripts: exit 0 when allowed, 1
//! when not (invalid token or missing scope), 3 when the check itself failed.

use std::process::ExitCode;

use clap::Args;

use super::connect::{ClientArgs, Conn};
use super::error::{CliResult, EXIT_DENIED};
use super::output::{self, object, strings};
use super::prompt::token_arg;
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera check \"$TOKEN\" read:contacts && echo allowed\n  echo \"$TOKEN\" | tessera check - write:tickets --mutating"
)]
pub struct CheckArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    /// The token to check; `-` reads it from standard input.
    pub token: String,
    /// The scopes it needs (all of them, unless --any).
    #[arg(required = true)]
    pub scopes: Vec<String>,
    /// Any one of the scopes is enough.
    #[arg(long)]
    pub any: bool,
    /// The call changes data: a read-only token is denied.
    #[arg(long)]
    pub mutating: bool,
}

pub async fn run(args: CheckArgs) -> CliResult<ExitCode> {
    let token = token_arg(args.token)?;
    let conn = Conn::authed(&args.conn).await?;
    let r = conn
        .tokens()
        .authorize(pb::AuthorizeRequest {
            token,
            required_scopes: args.scopes,
            r#match: if args.any {
                pb::Match::Any
            } else {
                pb::Match::All
            }
            .into(),
            mutating: args.mutating,
        })
        .await?
        .into_inner();
    let decision = pb::Decision::try_from(r.decision).unwrap_or(pb::Decision::Unspecified);
    let name = match decision {
        pb::Decision::Allow => "allow",
        pb::Decision::Unauthenticated => "unauthenticated",
        pb::Decision::PermissionDenied => "permission_denied",
        pb::Decision::Unspecified => "unspecified",
    };
    let v = object(vec![
        ("decision", name.into()),
        ("http_status", r.http_status.into()),
        ("reason", r.reason.clone().into()),
        ("subject", r.subject.clone().into()),
        ("token_id", r.token_id.clone().into()),
        ("missing_scopes", strings(&r.missing_scopes)),
    ]);
    output::one(
        conn.output,
        &[
            ("DECISION", "decision"),
            ("HTTP_STATUS", "http_status"),
            ("REASON", "reason"),
            ("SUBJECT", "subject"),
            ("TOKEN_ID", "token_id"),
            ("MISSING", "missing_scopes"),
        ],
        &v,
    );
    Ok(match decision {
        pb::Decision::Allow => ExitCode::SUCCESS,
        _ => ExitCode::from(EXIT_DENIED),
    })
}
