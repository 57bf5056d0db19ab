//! `tessera role …`: AdminService's roles.

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{ClientArgs, Conn};
use super::error::CliResult;
use super::output::{self, Column, object, strings};
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera role create reader 'read:*' --description 'reads everything'\n  tessera role list -o json"
)]
pub struct RoleArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub cmd: RoleCmd,
}

#[derive(Debug, Subcommand)]
pub enum RoleCmd {
    /// Create a role with these permissions.
    #[command(
        after_help = "Example:\n  tessera role create support 'read:contacts' 'write:tickets'"
    )]
    Create {
        name: String,
        /// Permissions, e.g. `read:contacts` or `webhook:manage:*`.
        permissions: Vec<String>,
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Show one role.
    #[command(after_help = "Example:\n  tessera role get support")]
    Get { name: String },
    /// List every role.
    #[command(after_help = "Example:\n  tessera role list -o json")]
    List,
    /// Replace a role's permissions (PATs bound to it follow at once).
    #[command(after_help = "Example:\n  tessera role set support 'read:contacts'")]
    Set {
        name: String,
        permissions: Vec<String>,
    },
    /// Delete a role no user holds; its PATs are revoked.
    #[command(after_help = "Example:\n  tessera role delete support")]
    Delete { name: String },
}

const COLUMNS: &[Column] = &[
    ("NAME", "name"),
    ("PERMISSIONS", "permissions"),
    ("DESCRIPTION", "description"),
];

pub fn role_json(r: &pb::Role) -> Value {
    object(vec![
        ("name", r.name.clone().into()),
        ("permissions", strings(&r.permissions)),
        ("description", r.description.clone().into()),
    ])
}

pub async fn run(args: RoleArgs) -> CliResult<()> {
    let conn = Conn::authed(&args.conn).await?;
    let mut admin = conn.admin();
    let out = conn.output;
    match args.cmd {
        RoleCmd::Create {
            name,
            permissions,
            description,
        } => {
            let role = admin
                .create_role(pb::CreateRoleRequest {
                    name,
                    permissions,
                    description,
                })
                .await?
                .into_inner();
            output::one(out, COLUMNS, &role_json(&role));
        }
        RoleCmd::Get { name } => {
            let role = admin
                .get_role(pb::GetRoleRequest { name })
                .await?
                .into_inner();
            output::one(out, COLUMNS, &role_json(&role));
        }
        RoleCmd::List => {
            let roles = all_pages!(
                admin
                    .list_roles(|page_token| pb::ListRolesRequest {
                        page_size: 0,
                        page_token,
                    })
                    .roles
            );
            let items: Vec<Value> = roles.iter().map(role_json).collect();
            output::list(out, COLUMNS, &items);
        }
        RoleCmd::Set { name, permissions } => {
            let role = admin
                .set_role_permissions(pb::SetRolePermissionsRequest { name, permissions })
                .await?
                .into_inner();
            output::one(out, COLUMNS, &role_json(&role));
        }
        RoleCmd::Delete { name } => {
            admin
                .delete_role(pb::DeleteRoleRequest { name: name.clone() })
                .await?;
            output::one(
                out,
                &[("DELETED", "deleted")],
                &object(vec![("deleted", name.into())]),
            );
        }
    }
    Ok(())
}
