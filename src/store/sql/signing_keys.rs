//! The signing-key port for every SQL backend.

use async_trait::async_trait;

use super::rows::signing_key_from_row;
use super::schema::signing_keys as q;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish};
use crate::domain::clock::Millis;
use crate::domain::model::StoredSigningKey;
use crate::domain::ports::{Entity, SigningKeyStore, StoreError, StoreResult};

#[async_trait]
impl<B: SqlBackend> SigningKeyStore for SqlStore<B> {
    async fn signing_keys(&self, now: Millis) -> StoreResult<Vec<StoredSigningKey>> {
        self.fetch_all(B::render(&q::select_live(now)))
            .await?
            .iter()
            .map(signing_key_from_row)
            .collect()
    }

    async fn signing_key(&self, kid: &str) -> StoreResult<Option<StoredSigningKey>> {
        match self
            .fetch_optional(B::render(&q::select_by_kid(kid)))
            .await?
        {
            Some(row) => Ok(Some(signing_key_from_row(&row)?)),
            None => Ok(None),
        }
    }

    async fn rotate_signing_key(
        &self,
        key: &StoredSigningKey,
        retire_others_at: Millis,
    ) -> StoreResult<()> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                tx.execute(B::render(&q::retire_current(retire_others_at)))
                    .await?;
                let taken = || StoreError::conflict(Entity::SigningKey, &key.kid);
                tx.execute(B::render(&q::insert(key)))
                    .await
                    .map_err(|e| e.or_constraint(taken, taken))?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(())
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }
}
