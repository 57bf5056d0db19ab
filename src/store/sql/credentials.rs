//! The credential port for every SQL backend.

use async_trait::async_trait;

use super::rows::{Columns, credentials_from_row};
use super::schema::credentials as q;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish, to_u32};
use crate::domain::clock::Millis;
use crate::domain::model::{User, UserCredentials};
use crate::domain::ports::{CredentialStore, Entity, StoreError, StoreResult};

impl<B: SqlBackend> SqlStore<B> {
    async fn credentials(
        &self,
        query: sea_query::SelectStatement,
    ) -> StoreResult<Option<UserCredentials>> {
        // Without the user's roles: a login reads them only once it succeeded, so a known
        // name costs no more store work than an unknown one before the password check.
        match self.fetch_optional(B::render(&query)).await? {
            Some(row) => Ok(Some(credentials_from_row(&row)?)),
            None => Ok(None),
        }
    }

    /// One conditional update: whether it changed a row.
    async fn changed(&self, st: sea_query::UpdateStatement) -> StoreResult<bool> {
        Ok(self.execute(B::render(&st), |e| e.into_store()).await? > 0)
    }
}

#[async_trait]
impl<B: SqlBackend> CredentialStore for SqlStore<B> {
    async fn user_credentials(&self, id: &str) -> StoreResult<Option<UserCredentials>> {
        self.credentials(q::select_credentials_by_id(id)).await
    }

    async fn user_credentials_by_name(&self, name: &str) -> StoreResult<Option<UserCredentials>> {
        self.credentials(q::select_credentials_by_name(name)).await
    }

    async fn set_password(
        &self,
        id: &str,
        phc: &str,
        keep_session: Option<&str>,
        now: Millis,
    ) -> StoreResult<(User, u32)> {
        let revoked = self
            .write(async {
                let mut tx = self.backend.begin().await?;
                let outcome = async {
                    if tx.execute(B::render(&q::update_password(id, phc))).await? == 0 {
                        return Err(StoreError::not_found(Entity::User, id));
                    }
                    let revoke = q::revoke_sessions(id, keep_session, now);
                    let revoked = to_u32(tx.execute(B::render(&revoke)).await?);
                    audit_in::<B, _>(&mut tx).await?;
                    Ok(revoked)
                }
                .await;
                finish(tx, outcome).await
            })
            .await?;
        let user = crate::domain::ports::UserStore::get_user(self, id)
            .await?
            .ok_or_else(|| StoreError::not_found(Entity::User, id))?;
        Ok((user, revoked))
    }

    async fn set_pending_totp(&self, id: &str, sealed_secret: &[u8]) -> StoreResult<()> {
        if self
            .changed(q::update_pending_totp(id, sealed_secret))
            .await?
        {
            Ok(())
        } else {
            // Unknown, or TOTP turned on meanwhile: either way nothing is pending.
            Err(StoreError::not_found(Entity::User, id))
        }
    }

    async fn enable_totp(&self, id: &str, step: i64, sealed_secret: &[u8]) -> StoreResult<bool> {
        self.changed(q::update_enable_totp(id, step, sealed_secret))
            .await
    }

    async fn remove_totp(&self, id: &str) -> StoreResult<User> {
        if !self.changed(q::update_remove_totp(id)).await? {
            return Err(StoreError::not_found(Entity::User, id));
        }
        crate::domain::ports::UserStore::get_user(self, id)
            .await?
            .ok_or_else(|| StoreError::not_found(Entity::User, id))
    }

    async fn use_totp_step(&self, id: &str, step: i64) -> StoreResult<bool> {
        self.changed(q::update_totp_step(id, step)).await
    }

    async fn login_failures(&self, name_hash: &[u8]) -> StoreResult<Option<(u32, Millis)>> {
        let st = B::render(&q::select_login_failures(name_hash, false));
        match self.fetch_optional(st).await? {
            Some(row) => Ok(Some((
                u32::try_from(row.int("failures")?).unwrap_or(u32::MAX),
                row.int("locked_until")?,
            ))),
            None => Ok(None),
        }
    }

    async fn record_login_failure(
        &self,
        name_hash: &[u8],
        now: Millis,
        lock_for: fn(u32) -> Millis,
    ) -> StoreResult<u32> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // Counted in the statement (failures + 1), so concurrent first failures on
                // a name no row holds yet are not lost; the row stays locked to the end.
                tx.execute(B::render(&q::count_login_attempt(name_hash, now)))
                    .await?;
                let read = B::render(&q::select_login_failures(name_hash, true));
                let failures = match tx.fetch_optional(read).await? {
                    Some(row) => u32::try_from(row.int("failures")?).unwrap_or(u32::MAX),
                    None => return Err(StoreError::internal("the counted failure vanished")),
                };
                let until = now.saturating_add(lock_for(failures));
                tx.execute(B::render(&q::update_locked_until(name_hash, until)))
                    .await?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(failures)
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn clear_login_failures(&self, name_hash: &[u8]) -> StoreResult<()> {
        let st = B::render(&q::delete_login_failures(name_hash));
        self.execute(st, |e| e.into_store()).await.map(|_| ())
    }
}
