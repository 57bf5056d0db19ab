//! The retention port for every SQL backend: one bounded DELETE per call.

use async_trait::async_trait;

use super::schema::retention as q;
use super::{SqlBackend, SqlStore};
use crate::domain::clock::Millis;
use crate::domain::ports::{Prunable, RetentionStore, StoreResult};

#[async_trait]
impl<B: SqlBackend> RetentionStore for SqlStore<B> {
    async fn prune(&self, what: Prunable, before: Millis, limit: u32) -> StoreResult<u32> {
        let st = match what {
            Prunable::Tokens => B::render(&q::prune_tokens(before, limit)),
            Prunable::Grants => B::render(&q::prune_grants(before, limit)),
            Prunable::Codes => B::render(&q::prune_codes(before, limit)),
            Prunable::LoginFailures => B::render(&q::prune_login_failures(before, limit)),
            Prunable::AuditEvents => B::render(&super::schema::audit::prune_events(before, limit)),
        };
        let deleted = self.execute(st, |e| e.into_store()).await?;
        Ok(u32::try_from(deleted).unwrap_or(u32::MAX))
    }
}
