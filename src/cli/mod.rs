//! The operator CLI: the `tessera` binary as a client of a running server, over the generated
//! gRPC clients (never by opening the database). One file per resource, like the services:
//! `roles`, `users`, `tokens`, `clients`, `audit`, `check`, `session` (login, logout); `connect` holds
//! the server and credential, `output` the table and JSON printing, `error` the exit codes.
//!
//! A secret is printed only by the command that creates it (`token issue`, `token rotate`,
//! `client create`, `client rotate-secret`), once; `login` keeps its session in a 0600 file
//! and prints no token.

/// Every item of a paged List RPC, page after page:
/// `all_pages!(admin.list_roles(|page_token| pb::ListRolesRequest { page_size: 0, page_token }).roles)`.
macro_rules! all_pages {
    ($client:ident . $method:ident (|$token:ident| $request:expr) . $field:ident) => {{
        let mut items = Vec::new();
        let mut $token = String::new();
        loop {
            let page = $client.$method($request).await?.into_inner();
            items.extend(page.$field);
            if page.next_page_token.is_empty() {
                break;
            }
            $token = page.next_page_token;
        }
        items
    }};
}

mod audit;
mod check;
mod clients;
pub mod connect;
pub mod error;
mod health;
mod output;
mod prompt;
mod roles;
mod session;
mod session_file;
mod tokens;
mod users;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub use error::CliError;
use output::object;

/// The client subcommands, flattened into `tessera`'s own.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Roles: named permission sets (create, get, list, set, delete).
    Role(roles::RoleArgs),
    /// Users (create, get, list, set-roles, disable, enable, set-password).
    User(users::UserArgs),
    /// Tokens (issue api-key|pat, list, revoke, rotate, introspect).
    Token(tokens::TokenArgs),
    /// OAuth apps (create, get, list, update, rotate-secret, disable, enable, delete).
    Client(clients::ClientCmdArgs),
    /// The session signing key (rotate).
    Key(KeyArgs),
    /// The audit trail: who changed what, newest first (list).
    Audit(audit::AuditArgs),
    /// Check a token for scopes: exit 0 when allowed, 1 when not.
    Check(check::CheckArgs),
    /// Ask the server's gRPC health: exit 0 when SERVING, 1 when not (for probes).
    Health(health::HealthArgs),
    /// Sign in with password and TOTP code; the session is kept for later commands.
    Login(session::LoginArgs),
    /// End the saved session and forget it.
    Logout(session::LogoutArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  tessera key rotate")]
pub struct KeyArgs {
    #[command(flatten)]
    pub conn: connect::ClientArgs,
    #[command(subcommand)]
    pub cmd: KeyCmd,
}

#[derive(Debug, Subcommand)]
pub enum KeyCmd {
    /// Make a new session signing key current; sessions signed by the old one stay valid
    /// until they expire.
    #[command(after_help = "Example:\n  tessera key rotate -o json")]
    Rotate,
}

/// Runs one client command; errors are printed as one line with their gRPC code.
pub async fn run(command: ClientCommand) -> ExitCode {
    match dispatch(command).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn dispatch(command: ClientCommand) -> error::CliResult<ExitCode> {
    match command {
        ClientCommand::Role(args) => roles::run(args).await?,
        ClientCommand::User(args) => users::run(args).await?,
        ClientCommand::Token(args) => tokens::run(args).await?,
        ClientCommand::Client(args) => clients::run(args).await?,
        ClientCommand::Audit(args) => audit::run(args).await?,
        ClientCommand::Key(args) => {
            let conn = connect::Conn::authed(&args.conn).await?;
            match args.cmd {
                KeyCmd::Rotate => {
                    let r = conn
                        .admin()
                        .rotate_signing_key(crate::proto::v1::RotateSigningKeyRequest {})
                        .await?
                        .into_inner();
                    let v = object(vec![("kid", r.kid.into())]);
                    output::one(conn.output, &[("KID", "kid")], &v);
                }
            }
        }
        ClientCommand::Check(args) => return check::run(args).await,
        ClientCommand::Health(args) => return health::run(args).await,
        ClientCommand::Login(args) => session::login(args).await?,
        ClientCommand::Logout(args) => session::logout(args).await?,
    }
    Ok(ExitCode::SUCCESS)
}
