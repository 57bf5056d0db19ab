//! The token port for every SQL backend.

use async_trait::async_trait;

use super::rows::{Columns, finish_token_page, probe_limit, token_cursor, token_from_row};
use super::schema::token_ends as ends;
use super::schema::tokens as q;
use super::schema::users as uq;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish, to_u32};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, TokenAccess, TokenRecord};
use crate::domain::ports::{Entity, StoreError, StoreResult, TokenStore};

/// Most `last_used_at` rows written in one transaction: a large flush (hundreds of
/// thousands of tokens) is many short transactions, so writers queue behind one chunk at a
/// time, never behind the whole batch.
pub const USAGE_CHUNK: usize = 128;

/// Inserts one token inside `tx`; a constraint failure, or a full quota (`max_active`, see
/// `TokenStore::insert_token_within`), fails this row alone.
pub async fn insert_in<X: SqlTx, B: SqlBackend>(
    tx: &mut X,
    token: &TokenRecord,
    max_active: Option<u32>,
) -> StoreResult<()> {
    if let Some(limit) = max_active {
        // Lock first, then count: a concurrent insert for the same user waits for this
        // transaction, and counts this row once it committed.
        tx.fetch_optional(B::render(&uq::lock_user(&token.subject)))
            .await?;
        let counted = tx
            .fetch_optional(B::render(&q::count_active(
                &token.subject,
                token.issued_at,
                limit,
            )))
            .await?;
        let live = counted.map(|row| row.int("live")).transpose()?.unwrap_or(0);
        if live >= i64::from(limit) {
            return Err(StoreError::OverQuota {
                entity: Entity::User,
                key: token.subject.clone(),
                limit,
            });
        }
    }
    let inserted = tx
        .execute(B::render(&q::insert_token(token)))
        .await
        .map_err(|e| {
            e.or_constraint(
                || StoreError::conflict(Entity::Token, &token.id),
                || StoreError::not_found(Entity::User, &token.subject),
            )
        })?;
    match inserted {
        0 => Err(StoreError::not_found(Entity::User, &token.subject)),
        _ => Ok(()),
    }
}

/// Inserts `tokens` in one transaction, all or none (bounded by the caller), each within
/// `max_active` when given.
pub async fn write_tokens<B: SqlBackend>(
    backend: &B,
    tokens: &[TokenRecord],
    max_active: Option<u32>,
) -> StoreResult<()> {
    let mut tx = backend.begin().await?;
    let outcome = async {
        for token in tokens {
            insert_in::<_, B>(&mut tx, token, max_active).await?;
        }
        audit_in::<B, _>(&mut tx).await?;
        Ok(())
    }
    .await;
    finish(tx, outcome).await
}

#[async_trait]
impl<B: SqlBackend> TokenStore for SqlStore<B> {
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.write(self.backend.insert_token(token, None)).await
    }

    async fn insert_token_within(&self, token: &TokenRecord, max_active: u32) -> StoreResult<()> {
        self.write(self.backend.insert_token(token, Some(max_active)))
            .await
    }

    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        self.write(write_tokens(&self.backend, tokens, None)).await
    }

    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.fetch_optional(super::Statement::keyed(&self.hot.token, id))
            .await?
            .as_ref()
            .map(|row| token_from_row(row).map(|(_, t)| t))
            .transpose()
    }

    async fn token_access(&self, id: &str) -> StoreResult<Option<TokenAccess>> {
        // Bounded by the backend where it waits: SQLite's direct read never does.
        self.backend.token_access(&self.hot.token_access, id).await
    }

    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        let after = token_cursor(page)?;
        let st = B::render(&q::list_tokens(subject, after, probe_limit(page)));
        let rows = self
            .fetch_all(st)
            .await?
            .iter()
            .map(token_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_token_page(rows, page))
    }

    /// The lineage walk only for a token something was minted from. A child minted after
    /// the look is refused anyway: a token is active only while its source is.
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32> {
        let has_children = self
            .fetch_optional(B::render(&ends::first_child(id)))
            .await?
            .is_some();
        let st = match has_children {
            true => B::render_replanned(&q::revoke_token(id, owner, now)),
            false => B::render(&ends::revoke_alone(id, owner, now)),
        };
        self.execute(st, |e| e.into_store()).await.map(to_u32)
    }

    async fn rotate_token(
        &self,
        old_id: &str,
        end_at: Option<Millis>,
        now: Millis,
        new: &TokenRecord,
        max_active: u32,
    ) -> StoreResult<Option<u32>> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // The old row first: a concurrent rotation or revocation of it waits here
                // (its row is locked) and then finds it no longer live.
                let ended = match end_at {
                    None => tx.execute(B::render(&q::revoke_live(old_id, now))).await?,
                    Some(at) => tx.execute(B::render(&q::end_token_at(old_id, at))).await?,
                };
                if ended == 0 {
                    return Ok(None);
                }
                let mut revoked = 0;
                if end_at.is_none() {
                    revoked = ended
                        + tx.execute(B::render_replanned(&q::revoke_token(old_id, None, now)))
                            .await?;
                }
                insert_in::<_, B>(&mut tx, new, Some(max_active)).await?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(Some(to_u32(revoked)))
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        let st = B::render_replanned(&q::revoke_subject(subject, now));
        self.execute(st, |e| e.into_store()).await.map(to_u32)
    }

    /// In chunks of [`USAGE_CHUNK`], each its own transaction, in id order. On Postgres each
    /// row is skipped if another writer holds it (see `schema::tokens::update_last_used`), so
    /// the flush never waits for a row lock and cannot deadlock with a revocation or another
    /// replica's flush. A failed chunk fails the call; chunks written before it stay written,
    /// which is harmless as times only move forward.
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        let mut usage: Vec<&(String, Millis)> = usage.iter().collect();
        usage.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for chunk in usage.chunks(USAGE_CHUNK) {
            self.write(async {
                let mut tx = self.backend.begin().await?;
                let outcome = async {
                    for (id, at) in chunk {
                        tx.execute(B::render(&q::update_last_used(id, *at))).await?;
                    }
                    Ok(())
                }
                .await;
                finish(tx, outcome).await
            })
            .await?;
        }
        Ok(())
    }
}
