//! Health probes for every SQL backend.

use async_trait::async_trait;

use super::schema::changes as q;
use super::{SqlBackend, SqlStore};
use crate::domain::clock::Millis;
use crate::domain::ports::{StoreError, StoreHealth, StoreResult};

/// The probe row's key. One row for every replica: a probe is one small write a second.
const PROBE_ROW: &str = "health";

/// A token id no token can have (ids are base62), for a check read that finds nothing.
const PROBE_TOKEN: &str = "-health-probe-";

#[async_trait]
impl<B: SqlBackend> StoreHealth for SqlStore<B> {
    /// The check path's own read, of a token that does not exist: it touches the tokens,
    /// users, user_roles and roles tables, so a lock or a missing table fails it.
    async fn probe_reads(&self) -> StoreResult<()> {
        self.bounded(async {
            // Through the pool, like every other read but the check's fast path, so the
            // probe sees what the pool sees.
            let st = super::Statement::keyed(&self.hot.token_access, PROBE_TOKEN);
            self.backend.fetch_all(st).await?;
            Ok(())
        })
        .await
    }

    /// Fails while a real write failed for want of the database in the last few seconds
    /// (and none succeeded since), else commits the probe row.
    async fn probe_writes(&self, now: Millis) -> StoreResult<()> {
        if let Some(age) = self.write_faults.held() {
            return Err(StoreError::Unavailable(
                format!("a write failed for want of the database {age:?} ago").into(),
            ));
        }
        let st = B::render(&q::upsert_health_probe(PROBE_ROW, now));
        self.execute(st, |e| e.into_store()).await.map(|_| ())
    }
}
