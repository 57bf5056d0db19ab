//! The audit trail for every SQL backend: the staged event written inside a change's
//! transaction ([`audit_in`]), events with no change of their own, and the listing.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::rows::Columns;
use super::schema::audit as q;
use super::{SqlBackend, SqlStore, SqlTx};
use crate::domain::audit::{self, Actor, AuditQuery, Event, Outcome, StoredEvent};
use crate::domain::ports::{AuditStore, StoreError, StoreResult};

/// Inserts the event staged for this write (see `domain::audit::scope`) inside `tx`, just
/// before it commits; nothing when none is staged or an earlier transaction wrote it.
pub async fn audit_in<B: SqlBackend, X: SqlTx>(tx: &mut X) -> StoreResult<()> {
    let Some(event) = audit::staged() else {
        return Ok(());
    };
    if let Some(st) = q::insert_events([&event]) {
        tx.execute(B::render(&st)).await?;
    }
    audit::written();
    Ok(())
}

#[async_trait]
impl<B: SqlBackend> AuditStore for SqlStore<B> {
    async fn append_event(&self, event: &Event) -> StoreResult<()> {
        let Some(st) = q::insert_events([event]) else {
            return Ok(());
        };
        self.execute(B::render(&st), |e| e.into_store()).await?;
        Ok(())
    }

    async fn list_events(&self, query: &AuditQuery) -> StoreResult<Vec<StoredEvent>> {
        let rows = self.fetch_all(B::render(&q::list_events(query))).await?;
        rows.iter().map(stored_event).collect()
    }
}

fn stored_event(row: &impl Columns) -> StoreResult<StoredEvent> {
    let fields: BTreeMap<String, String> = serde_json::from_str(&row.text("fields")?)
        .map_err(|e| StoreError::Internal(Box::new(e)))?;
    let outcome = match row.text("result")?.as_str() {
        "failure" => Outcome::Failure,
        _ => Outcome::Success,
    };
    Ok(StoredEvent {
        seq: row.int("seq")?,
        event: Event {
            at: row.int("at")?,
            action: row.text("action")?,
            outcome,
            actor: Actor {
                token_id: row.text("actor_token_id")?,
                subject: row.text("actor_subject")?,
                kind: row.text("actor_kind")?,
                peer: row.text("peer")?,
            },
            request_id: row.text("request_id")?,
            target_type: row.text("target_type")?,
            target_id: row.text("target_id")?,
            fields,
        },
    })
}
