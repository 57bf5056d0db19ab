//! `tessera user …`: AdminService's users.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{AdminClient as Admin, ClientArgs, Conn};
use super::error::{CliError, CliResult};
use super::output::{self, Column, object, strings, timestamp};
use super::prompt::Secrets;
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera user create alice --role support\n  tessera user set-password alice"
)]
pub struct UserArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub cmd: UserCmd,
}

#[derive(Debug, Subcommand)]
pub enum UserCmd {
    /// Create a user holding these roles.
    #[command(after_help = "Example:\n  tessera user create alice --role support --role billing")]
    Create {
        name: String,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Show one user (by id or name).
    #[command(after_help = "Example:\n  tessera user get alice")]
    Get { user: String },
    /// List every user.
    #[command(after_help = "Example:\n  tessera user list -o json")]
    List,
    /// Replace a user's roles.
    #[command(after_help = "Example:\n  tessera user set-roles alice support")]
    SetRoles { user: String, roles: Vec<String> },
    /// Disable a user: their tokens stop working at once.
    #[command(after_help = "Example:\n  tessera user disable alice")]
    Disable { user: String },
    /// Enable a disabled user.
    #[command(after_help = "Example:\n  tessera user enable alice")]
    Enable { user: String },
    /// Set a user's password (typed twice, not echoed); their sessions end.
    #[command(
        after_help = "Example:\n  tessera user set-password alice\n  printf '%s\\n' \"$PW\" | tessera user set-password alice --password-stdin"
    )]
    SetPassword {
        user: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
}

const COLUMNS: &[Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("ROLES", "roles"),
    ("DISABLED", "disabled"),
    ("PASSWORD", "has_password"),
    ("TOTP", "totp_enabled"),
    ("CREATED", "created_at"),
];

pub fn user_json(u: &pb::User) -> Value {
    object(vec![
        ("id", u.id.clone().into()),
        ("name", u.name.clone().into()),
        ("roles", strings(&u.roles)),
        ("disabled", u.disabled.into()),
        ("has_password", u.has_password.into()),
        ("totp_enabled", u.totp_enabled.into()),
        ("created_at", timestamp(u.created_at.as_ref())),
    ])
}

async fn all_users(admin: &mut Admin) -> CliResult<Vec<pb::User>> {
    Ok(all_pages!(
        admin
            .list_users(|page_token| pb::ListUsersRequest {
                page_size: 0,
                page_token,
            })
            .users
    ))
}

/// The id of the user named by `user`: an id, else a name.
pub async fn resolve(admin: &mut Admin, user: &str) -> CliResult<String> {
    match admin.get_user(pb::GetUserRequest { id: user.into() }).await {
        Ok(found) => return Ok(found.into_inner().id),
        Err(s)
            if matches!(
                s.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ) => {}
        Err(s) => return Err(s.into()),
    }
    all_users(admin)
        .await?
        .into_iter()
        .find(|u| u.name.eq_ignore_ascii_case(user))
        .map(|u| u.id)
        .ok_or_else(|| {
            CliError::Status(tonic::Status::not_found(format!("user {user:?} not found")))
        })
}

pub async fn run(args: UserArgs) -> CliResult<()> {
    let conn = Conn::authed(&args.conn).await?;
    let mut admin = conn.admin();
    let out = conn.output;
    let user = match args.cmd {
        UserCmd::Create { name, roles } => {
            admin
                .create_user(pb::CreateUserRequest { name, roles })
                .await?
        }
        UserCmd::Get { user } => {
            let id = resolve(&mut admin, &user).await?;
            admin.get_user(pb::GetUserRequest { id }).await?
        }
        UserCmd::List => {
            let items: Vec<Value> = all_users(&mut admin).await?.iter().map(user_json).collect();
            output::list(out, COLUMNS, &items);
            return Ok(());
        }
        UserCmd::SetRoles { user, roles } => {
            let id = resolve(&mut admin, &user).await?;
            admin
                .set_user_roles(pb::SetUserRolesRequest { id, roles })
                .await?
        }
        UserCmd::Disable { user } => {
            let id = resolve(&mut admin, &user).await?;
            admin.disable_user(pb::DisableUserRequest { id }).await?
        }
        UserCmd::Enable { user } => {
            let id = resolve(&mut admin, &user).await?;
            admin.enable_user(pb::EnableUserRequest { id }).await?
        }
        UserCmd::SetPassword {
            user,
            password_stdin,
        } => {
            let id = resolve(&mut admin, &user).await?;
            let password = Secrets::new(password_stdin).new_password()?;
            admin
                .set_user_password(pb::SetUserPasswordRequest { id, password })
                .await?
        }
    };
    output::one(out, COLUMNS, &user_json(user.get_ref()));
    Ok(())
}
