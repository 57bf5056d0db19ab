//! `tessera token …`: issue, list, revoke, rotate and introspect tokens.

use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{ClientArgs, Conn};
use super::error::CliResult;
use super::output::{self, Column, object, strings, timestamp};
use super::prompt::token_arg;
use crate::config::parse_duration;
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera token issue api-key ci --scope 'read:*' --ttl 30d\n  tessera token list --user alice"
)]
pub struct TokenArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub cmd: TokenCmd,
}

#[derive(Debug, Subcommand)]
pub enum TokenCmd {
    /// Issue a token; its secret is printed this once.
    #[command(
        subcommand,
        after_help = "Example:\n  tessera token issue api-key ci --scope 'read:*'\n  tessera token issue pat laptop --role support"
    )]
    Issue(IssueCmd),
    /// List a user's tokens (metadata only, never a secret).
    #[command(
        after_help = "Example:\n  tessera token list\n  tessera token list --user alice -o json"
    )]
    List {
        /// A user id or name; default: your own.
        #[arg(long)]
        user: Option<String>,
    },
    /// Revoke a token (and everything derived from it), or every token of a user.
    #[command(
        after_help = "Example:\n  tessera token revoke 3hT9xQ2mLp8VZk1rN0aBcD\n  echo \"$TOKEN\" | tessera token revoke --secret -\n  tessera token revoke --user alice"
    )]
    Revoke {
        /// The token's id (as `token list` shows).
        #[arg(required_unless_present_any = ["secret", "user"], conflicts_with_all = ["secret", "user"])]
        token_id: Option<String>,
        /// The token's secret; `-` reads it from standard input.
        #[arg(long, conflicts_with = "user")]
        secret: Option<String>,
        /// Every token of this user (id or name).
        #[arg(long)]
        user: Option<String>,
    },
    /// Issue a new secret for a token: same scopes, subject and expiry; the old one keeps
    /// working for `--overlap`, then is revoked.
    #[command(after_help = "Example:\n  tessera token rotate 3hT9xQ2mLp8VZk1rN0aBcD --overlap 1h")]
    Rotate {
        token_id: String,
        /// How long the old secret keeps working: 0 (default) to 7d.
        #[arg(long, default_value = "0", value_parser = overlap)]
        overlap: Duration,
    },
    /// Show what a token is and may do now; `-` reads it from standard input.
    #[command(after_help = "Example:\n  echo \"$TOKEN\" | tessera token introspect -")]
    Introspect { token: String },
}

#[derive(Debug, Subcommand)]
pub enum IssueCmd {
    /// An API key with fixed scopes (for a service, or another user with --subject).
    #[command(
        after_help = "Example:\n  tessera token issue api-key billing-sync --scope read:invoices --scope write:ledger --ttl 90d"
    )]
    ApiKey {
        name: String,
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        #[arg(long)]
        read_only: bool,
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// The user it acts as (id or name); default: yourself.
        #[arg(long, default_value = "")]
        subject: String,
    },
    /// A Personal Access Token bound to one of your roles (needs a 2FA session or a PAT).
    #[command(after_help = "Example:\n  tessera token issue pat laptop --role support --ttl 30d")]
    Pat {
        name: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        read_only: bool,
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
    },
}

fn overlap(text: &str) -> Result<Duration, String> {
    match text.trim() {
        "0" => Ok(Duration::ZERO),
        other => parse_duration(other),
    }
}

fn proto_duration(d: Duration) -> prost_types::Duration {
    prost_types::Duration {
        seconds: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        nanos: i32::try_from(d.subsec_nanos()).unwrap_or(0),
    }
}

const ISSUED: &[Column] = &[
    ("TOKEN_ID", "token_id"),
    ("KIND", "kind"),
    ("SCOPES", "scopes"),
    ("STRIPPED", "stripped_scopes"),
    ("EXPIRES", "expires_at"),
    ("TOKEN", "token"),
];

const LISTED: &[Column] = &[
    ("TOKEN_ID", "token_id"),
    ("KIND", "kind"),
    ("NAME", "name"),
    ("ROLE", "role"),
    ("SCOPES", "scopes"),
    ("READ_ONLY", "read_only"),
    ("EXPIRES", "expires_at"),
    ("LAST_USED", "last_used_at"),
    ("REVOKED", "revoked_at"),
];

const INTROSPECTED: &[Column] = &[
    ("ACTIVE", "active"),
    ("TOKEN_ID", "token_id"),
    ("KIND", "kind"),
    ("SUBJECT", "subject"),
    ("SCOPES", "scopes"),
    ("READ_ONLY", "read_only"),
    ("ROLE", "role"),
    ("CLIENT_ID", "client_id"),
    ("ISSUED", "issued_at"),
    ("EXPIRES", "expires_at"),
];

fn issued_json(r: &pb::IssueResponse) -> Value {
    object(vec![
        ("token_id", r.token_id.clone().into()),
        ("kind", r.kind.clone().into()),
        ("scopes", strings(&r.scopes)),
        ("stripped_scopes", strings(&r.stripped_scopes)),
        ("expires_at", timestamp(r.expires_at.as_ref())),
        ("token", r.token.clone().into()),
    ])
}

fn token_json(t: &pb::TokenInfo) -> Value {
    object(vec![
        ("token_id", t.token_id.clone().into()),
        ("kind", t.kind.clone().into()),
        ("name", t.name.clone().into()),
        ("subject", t.subject.clone().into()),
        ("role", t.role.clone().into()),
        ("scopes", strings(&t.scopes)),
        ("read_only", t.read_only.into()),
        ("issued_at", timestamp(t.issued_at.as_ref())),
        ("expires_at", timestamp(t.expires_at.as_ref())),
        ("last_used_at", timestamp(t.last_used_at.as_ref())),
        ("revoked_at", timestamp(t.revoked_at.as_ref())),
        ("parent_token_id", t.parent_token_id.clone().into()),
    ])
}

fn introspected_json(r: &pb::IntrospectResponse) -> Value {
    object(vec![
        ("active", r.active.into()),
        ("token_id", r.token_id.clone().into()),
        ("kind", r.kind.clone().into()),
        ("subject", r.subject.clone().into()),
        ("scopes", strings(&r.scopes)),
        ("read_only", r.read_only.into()),
        ("role", r.role.clone().into()),
        ("client_id", r.client_id.clone().into()),
        ("issued_at", timestamp(r.issued_at.as_ref())),
        ("expires_at", timestamp(r.expires_at.as_ref())),
    ])
}

/// A new secret, shown once, with a reminder on stderr (which a pipe does not capture).
fn show_issued(out: output::Output, r: &pb::IssueResponse) {
    output::one(out, ISSUED, &issued_json(r));
    eprintln!("Store the token now: it is not shown again.");
}

pub async fn run(args: TokenArgs) -> CliResult<()> {
    let conn = Conn::authed(&args.conn).await?;
    let mut tokens = conn.tokens();
    let out = conn.output;
    match args.cmd {
        TokenCmd::Issue(cmd) => {
            let grant = match cmd {
                IssueCmd::ApiKey {
                    name,
                    scopes,
                    read_only,
                    ttl,
                    subject,
                } => pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                    name,
                    scopes,
                    read_only,
                    ttl: ttl.map(proto_duration),
                    subject: match subject.as_str() {
                        "" => subject,
                        named => super::users::resolve(&mut conn.admin(), named).await?,
                    },
                }),
                IssueCmd::Pat {
                    name,
                    role,
                    read_only,
                    ttl,
                } => pb::issue_request::Grant::Pat(pb::PatGrant {
                    name,
                    role,
                    read_only,
                    ttl: ttl.map(proto_duration),
                }),
            };
            let issued = tokens
                .issue(pb::IssueRequest { grant: Some(grant) })
                .await?
                .into_inner();
            show_issued(out, &issued);
        }
        TokenCmd::List { user } => {
            let mut admin = conn.admin();
            let subject = match user {
                Some(u) => super::users::resolve(&mut admin, &u).await?,
                None => String::new(),
            };
            let tokens = all_pages!(
                admin
                    .list_tokens(|page_token| pb::ListTokensRequest {
                        subject: subject.clone(),
                        page_size: 0,
                        page_token,
                    })
                    .tokens
            );
            let items: Vec<Value> = tokens.iter().map(token_json).collect();
            output::list(out, LISTED, &items);
        }
        TokenCmd::Revoke {
            token_id,
            secret,
            user,
        } => {
            use pb::revoke_request::Target;
            let target = match (token_id, secret, user) {
                (Some(id), _, _) => Target::TokenId(id),
                (None, Some(secret), _) => Target::Token(token_arg(secret)?),
                (None, None, Some(user)) => {
                    Target::Subject(super::users::resolve(&mut conn.admin(), &user).await?)
                }
                (None, None, None) => unreachable_args()?,
            };
            let revoked = tokens
                .revoke(pb::RevokeRequest {
                    target: Some(target),
                })
                .await?
                .into_inner()
                .revoked;
            output::one(
                out,
                &[("REVOKED", "revoked")],
                &object(vec![("revoked", revoked.into())]),
            );
        }
        TokenCmd::Rotate { token_id, overlap } => {
            let issued = tokens
                .rotate(pb::RotateRequest {
                    token_id,
                    overlap: Some(proto_duration(overlap)),
                })
                .await?
                .into_inner();
            show_issued(out, &issued);
        }
        TokenCmd::Introspect { token } => {
            let token = token_arg(token)?;
            let r = tokens
                .introspect(pb::IntrospectRequest { token })
                .await?
                .into_inner();
            output::one(out, INTROSPECTED, &introspected_json(&r));
        }
    }
    Ok(())
}

/// clap requires one of the three; this answers if that ever changes.
fn unreachable_args<T>() -> CliResult<T> {
    Err(super::error::CliError::Usage(
        "give a token id, --secret or --user".into(),
    ))
}
