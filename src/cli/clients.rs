//! `tessera client …`: the OAuth app registry.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::Value;

use super::connect::{ClientArgs, Conn};
use super::error::CliResult;
use super::output::{self, Column, object, strings, timestamp};
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera client create 'Acme CRM' --type confidential --redirect-uri https://crm.example/cb --scope read:contacts\n  tessera client list"
)]
pub struct ClientCmdArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub cmd: ClientCmd,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AppType {
    /// A browser or native app: no secret, PKCE required.
    Public,
    /// A server-side app holding a secret.
    Confidential,
}

#[derive(Debug, Subcommand)]
pub enum ClientCmd {
    /// Register an app; a confidential app's secret is printed this once.
    #[command(
        after_help = "Example:\n  tessera client create 'Acme CRM' --type confidential --redirect-uri https://crm.example/cb --scope read:contacts --grant-type authorization_code --grant-type refresh_token"
    )]
    Create {
        name: String,
        #[arg(long = "type", value_enum)]
        app_type: AppType,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// The most an app may be granted.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// `authorization_code`, `refresh_token`, `client_credentials`; default: the server's.
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
    },
    /// Show one app.
    #[command(after_help = "Example:\n  tessera client get app_3hT9xQ2mLp8VZk1rN0aBcD")]
    Get { client_id: String },
    /// List every app.
    #[command(after_help = "Example:\n  tessera client list -o json")]
    List,
    /// Change an app: only the settings given are replaced.
    #[command(
        after_help = "Example:\n  tessera client update app_3hT9xQ2mLp8VZk1rN0aBcD --scope read:contacts --scope read:deals"
    )]
    Update {
        client_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
    },
    /// Issue a confidential app a new secret, printed this once.
    #[command(after_help = "Example:\n  tessera client rotate-secret app_3hT9xQ2mLp8VZk1rN0aBcD")]
    RotateSecret { client_id: String },
    /// Turn an app off (its tokens stop working) or on again.
    #[command(after_help = "Example:\n  tessera client disable app_3hT9xQ2mLp8VZk1rN0aBcD")]
    Disable { client_id: String },
    #[command(after_help = "Example:\n  tessera client enable app_3hT9xQ2mLp8VZk1rN0aBcD")]
    /// Turn a disabled app on again.
    Enable { client_id: String },
    /// Delete an app and revoke every token issued to it.
    #[command(after_help = "Example:\n  tessera client delete app_3hT9xQ2mLp8VZk1rN0aBcD")]
    Delete { client_id: String },
}

const COLUMNS: &[Column] = &[
    ("CLIENT_ID", "client_id"),
    ("NAME", "name"),
    ("TYPE", "type"),
    ("REDIRECT_URIS", "redirect_uris"),
    ("SCOPES", "scopes"),
    ("GRANT_TYPES", "grant_types"),
    ("DISABLED", "disabled"),
    ("CREATED", "created_at"),
];

fn with_secret() -> Vec<Column> {
    let mut columns = COLUMNS.to_vec();
    columns.push(("STRIPPED", "stripped_scopes"));
    columns.push(("CLIENT_SECRET", "client_secret"));
    columns
}

fn client_json(c: &pb::Client) -> Value {
    let kind = match pb::ClientType::try_from(c.r#type) {
        Ok(pb::ClientType::Public) => "public",
        Ok(pb::ClientType::Confidential) => "confidential",
        _ => "unspecified",
    };
    object(vec![
        ("client_id", c.client_id.clone().into()),
        ("name", c.name.clone().into()),
        ("type", kind.into()),
        ("redirect_uris", strings(&c.redirect_uris)),
        ("scopes", strings(&c.scopes)),
        ("grant_types", strings(&c.grant_types)),
        ("disabled", c.disabled.into()),
        ("created_at", timestamp(c.created_at.as_ref())),
    ])
}

/// The app with what only this answer carries: scopes the server removed, and a new secret.
fn answer_json(client: Option<&pb::Client>, stripped: &[String], secret: &str) -> Value {
    let mut v = client.map_or_else(|| object(vec![]), client_json);
    v["stripped_scopes"] = strings(stripped);
    if !secret.is_empty() {
        v["client_secret"] = secret.into();
    }
    v
}

pub async fn run(args: ClientCmdArgs) -> CliResult<()> {
    let conn = Conn::authed(&args.conn).await?;
    let mut admin = conn.admin();
    let out = conn.output;
    match args.cmd {
        ClientCmd::Create {
            name,
            app_type,
            redirect_uris,
            scopes,
            grant_types,
        } => {
            let r#type = match app_type {
                AppType::Public => pb::ClientType::Public,
                AppType::Confidential => pb::ClientType::Confidential,
            };
            let r = admin
                .create_client(pb::CreateClientRequest {
                    name,
                    r#type: r#type.into(),
                    redirect_uris,
                    scopes,
                    grant_types,
                })
                .await?
                .into_inner();
            let v = answer_json(r.client.as_ref(), &r.stripped_scopes, &r.client_secret);
            output::one(out, &with_secret(), &v);
            if !r.client_secret.is_empty() {
                eprintln!("Store the client secret now: it is not shown again.");
            }
        }
        ClientCmd::Get { client_id } => {
            let c = admin.get_client(pb::GetClientRequest { client_id }).await?;
            output::one(out, COLUMNS, &client_json(c.get_ref()));
        }
        ClientCmd::List => {
            let clients = all_pages!(
                admin
                    .list_clients(|page_token| pb::ListClientsRequest {
                        page_size: 0,
                        page_token,
                    })
                    .clients
            );
            let items: Vec<Value> = clients.iter().map(client_json).collect();
            output::list(out, COLUMNS, &items);
        }
        ClientCmd::Update {
            client_id,
            name,
            redirect_uris,
            scopes,
            grant_types,
        } => {
            let mut paths = Vec::new();
            for (given, path) in [
                (name.is_some(), "name"),
                (!redirect_uris.is_empty(), "redirect_uris"),
                (!scopes.is_empty(), "scopes"),
                (!grant_types.is_empty(), "grant_types"),
            ] {
                if given {
                    paths.push(path.to_owned());
                }
            }
            if paths.is_empty() {
                return Err(super::error::CliError::Usage(
                    "nothing to change: give --name, --redirect-uri, --scope or --grant-type"
                        .into(),
                ));
            }
            let r = admin
                .update_client(pb::UpdateClientRequest {
                    client_id,
                    name: name.unwrap_or_default(),
                    redirect_uris,
                    scopes,
                    grant_types,
                    update_mask: Some(prost_types::FieldMask { paths }),
                })
                .await?
                .into_inner();
            let mut columns = COLUMNS.to_vec();
            columns.push(("STRIPPED", "stripped_scopes"));
            output::one(
                out,
                &columns,
                &answer_json(r.client.as_ref(), &r.stripped_scopes, ""),
            );
        }
        ClientCmd::RotateSecret { client_id } => {
            let r = admin
                .rotate_client_secret(pb::RotateClientSecretRequest { client_id })
                .await?
                .into_inner();
            let v = answer_json(r.client.as_ref(), &[], &r.client_secret);
            output::one(out, &with_secret(), &v);
            eprintln!("Store the client secret now: it is not shown again.");
        }
        ClientCmd::Disable { client_id } => {
            let c = admin
                .disable_client(pb::DisableClientRequest { client_id })
                .await?;
            output::one(out, COLUMNS, &client_json(c.get_ref()));
        }
        ClientCmd::Enable { client_id } => {
            let c = admin
                .enable_client(pb::EnableClientRequest { client_id })
                .await?;
            output::one(out, COLUMNS, &client_json(c.get_ref()));
        }
        ClientCmd::Delete { client_id } => {
            let r = admin
                .delete_client(pb::DeleteClientRequest {
                    client_id: client_id.clone(),
                })
                .await?
                .into_inner();
            let v = object(vec![
                ("deleted", client_id.into()),
                ("revoked", r.revoked.into()),
            ]);
            output::one(out, &[("DELETED", "deleted"), ("REVOKED", "revoked")], &v);
        }
    }
    Ok(())
}
