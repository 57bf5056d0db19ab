//! `tessera audit list`: AdminService's audit trail, newest first.

use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::connect::{ClientArgs, Conn};
use super::error::CliResult;
use super::output::{self, Column, object};
use crate::proto::v1 as pb;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  tessera audit list --action token.revoke --since 24h\n  tessera audit list --subject usr_NiNiunUwri9HFDBaKdYI -o json"
)]
pub struct AuditArgs {
    #[command(flatten)]
    pub conn: ClientArgs,
    #[command(subcommand)]
    pub cmd: AuditCmd,
}

#[derive(Debug, Subcommand)]
pub enum AuditCmd {
    /// The newest events (needs `tessera:audit:read`).
    #[command(after_help = "Example:\n  tessera audit list --since 1h --limit 20")]
    List {
        /// Events by this user, or on it (a user id, or any target id).
        #[arg(long, default_value = "")]
        subject: String,
        /// Exactly this action, e.g. `token.issue`, `user.disable`, `login`.
        #[arg(long, default_value = "")]
        action: String,
        /// Only events of the last DURATION, e.g. `15m`, `24h`, `7d`.
        #[arg(long, value_parser = crate::config::parse_duration)]
        since: Option<Duration>,
        /// At most this many events (the newest).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        limit: u32,
    },
}

const COLUMNS: &[Column] = &[
    ("SEQ", "seq"),
    ("AT", "at"),
    ("ACTION", "action"),
    ("RESULT", "result"),
    ("ACTOR", "actor"),
    ("TARGET", "target"),
    ("REQUEST_ID", "request_id"),
];

fn event_json(e: &pb::AuditEvent) -> Value {
    let actor = e.actor.clone().unwrap_or_default();
    let fields: serde_json::Map<String, Value> = e
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().into()))
        .collect();
    object(vec![
        ("seq", e.seq.into()),
        ("at", output::timestamp(e.at.as_ref())),
        ("action", e.action.clone().into()),
        ("result", e.result.clone().into()),
        ("actor", actor.subject.clone().into()),
        ("actor_token_id", actor.token_id.into()),
        ("actor_kind", actor.kind.into()),
        ("peer", actor.peer.into()),
        (
            "target",
            format!("{}:{}", e.target_type, e.target_id).into(),
        ),
        ("request_id", e.request_id.clone().into()),
        ("fields", Value::Object(fields)),
    ])
}

pub async fn run(args: AuditArgs) -> CliResult<()> {
    let conn = Conn::authed(&args.conn).await?;
    let mut admin = conn.admin();
    let AuditCmd::List {
        subject,
        action,
        since,
        limit,
    } = args.cmd;
    let since = since.map(|ago| {
        let at = SystemTime::now()
            .checked_sub(ago)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        prost_types::Timestamp::from(at)
    });
    let mut events = Vec::new();
    let mut page_token = String::new();
    while events.len() < limit as usize {
        let page = admin
            .list_audit_events(pb::ListAuditEventsRequest {
                subject: subject.clone(),
                action: action.clone(),
                since,
                until: None,
                page_size: limit.min(1000),
                page_token,
            })
            .await?
            .into_inner();
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    events.truncate(limit as usize);
    let items: Vec<Value> = events.iter().map(event_json).collect();
    output::list(conn.output, COLUMNS, &items);
    Ok(())
}
