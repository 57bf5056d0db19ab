//! The port for the audit trail. Events of changes are written by the change's own
//! transaction (see `domain::audit`); this port adds the few that have no change to ride
//! with, and the listing.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::audit::{AuditQuery, Event, StoredEvent};

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Keeps an event of an action that writes nothing else (a denied authorization).
    async fn append_event(&self, event: &Event) -> StoreResult<()>;
    /// Events matching `query`, newest first, at most `query.limit`.
    async fn list_events(&self, query: &AuditQuery) -> StoreResult<Vec<StoredEvent>>;
}
