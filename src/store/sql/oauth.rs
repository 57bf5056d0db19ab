//! The OAuth port for every SQL backend: each exchange, rotation and revocation is one
//! transaction with the tokens it issues or ends.

use async_trait::async_trait;

use super::rows::{Columns, finish_page, probe_limit};
use super::schema::oauth as q;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish, insert_in, to_u32};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, TokenRecord};
use crate::domain::oauth_grant::{AuthorizationCode, OAuthGrant};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{Entity, GrantFilter, OAuthStore, StoreError, StoreResult};

fn code_from_row(row: &impl Columns) -> StoreResult<AuthorizationCode> {
    Ok(AuthorizationCode {
        code_hash: row.bytes("code_hash")?,
        client_id: row.text("client_id")?,
        redirect_uri: row.text("redirect_uri")?,
        subject: row.text("subject")?,
        scopes: PermissionSet::from_stored(&row.text("scopes")?),
        code_challenge: row.opt_text("code_challenge")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used_at: row.opt_int("used_at")?,
        grant_id: row.opt_text("grant_id")?,
    })
}

fn grant_from_row(row: &impl Columns) -> StoreResult<OAuthGrant> {
    Ok(OAuthGrant {
        id: row.text("id")?,
        client_id: row.text("client_id")?,
        subject: row.text("subject")?,
        scopes: PermissionSet::from_stored(&row.text("scopes")?),
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        expires_at: row.int("expires_at")?,
        revoked_at: row.opt_int("revoked_at")?,
    })
}

/// One refresh-token rotation, as a backend writes it (see `SqlBackend::rotate_refresh`).
#[derive(Debug, Clone)]
pub struct Rotation {
    pub grant_id: String,
    /// The refresh token it ends; `None` for a retry, whose token its first rotation ended.
    pub old_id: Option<String>,
    pub now: Millis,
    pub tokens: Vec<TokenRecord>,
}

/// The rotation's statements inside the caller's transaction: `false`, with nothing
/// written, when its grant was revoked or the old token was no longer live.
pub async fn rotate_in<X: SqlTx, B: SqlBackend>(tx: &mut X, r: &Rotation) -> StoreResult<bool> {
    // The grant first, shared-locked on Postgres: a revocation (which locks its grant
    // before its tokens) either committed already, and this finds no live row, or waits
    // for this commit and then revokes the tokens written here too.
    if tx
        .fetch_optional(B::render(&q::lock_live_grant(&r.grant_id)))
        .await?
        .is_none()
    {
        return Ok(false);
    }
    // Of N concurrent rotations of one token, exactly one changes this row.
    if let Some(old_id) = &r.old_id
        && tx
            .execute(B::render(&q::end_refresh_token(old_id, r.now)))
            .await?
            == 0
    {
        return Ok(false);
    }
    if !r.tokens.is_empty() {
        tx.execute(B::render(&q::insert_rotated(&r.tokens))).await?;
    }
    Ok(true)
}

async fn insert_all<X: SqlTx, B: SqlBackend>(
    tx: &mut X,
    tokens: &[TokenRecord],
) -> StoreResult<()> {
    for token in tokens {
        insert_in::<_, B>(tx, token, None).await?;
    }
    Ok(())
}

#[async_trait]
impl<B: SqlBackend> OAuthStore for SqlStore<B> {
    async fn insert_code(&self, code: &AuthorizationCode) -> StoreResult<()> {
        let taken = || StoreError::conflict(Entity::Client, &code.client_id);
        self.execute(B::render(&q::insert_code(code)), |e| {
            e.or_constraint(taken, taken)
        })
        .await?;
        Ok(())
    }

    async fn get_code(&self, code_hash: &[u8]) -> StoreResult<Option<AuthorizationCode>> {
        match self
            .fetch_optional(B::render(&q::select_code(code_hash)))
            .await?
        {
            Some(row) => Ok(Some(code_from_row(&row)?)),
            None => Ok(None),
        }
    }

    async fn redeem_code(
        &self,
        code_hash: &[u8],
        now: Millis,
        grant: &OAuthGrant,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // The code first: a concurrent exchange of the same code waits here (its
                // row is locked) and then finds it used.
                let used = tx
                    .execute(B::render(&q::use_code(code_hash, now, &grant.id)))
                    .await?;
                if used == 0 {
                    return Ok(false);
                }
                tx.execute(B::render(&q::insert_grant(grant))).await?;
                insert_all::<_, B>(&mut tx, tokens).await?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(true)
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn rotate_refresh(
        &self,
        grant_id: &str,
        old_id: Option<&str>,
        now: Millis,
        tokens: &[TokenRecord],
    ) -> StoreResult<bool> {
        let rotation = Rotation {
            grant_id: grant_id.to_owned(),
            old_id: old_id.map(str::to_owned),
            now,
            tokens: tokens.to_vec(),
        };
        self.write(self.backend.rotate_refresh(&rotation)).await
    }

    async fn get_grant(&self, id: &str) -> StoreResult<Option<OAuthGrant>> {
        match self.fetch_optional(B::render(&q::select_grant(id))).await? {
            Some(row) => Ok(Some(grant_from_row(&row)?)),
            None => Ok(None),
        }
    }

    async fn revoke_grant(&self, id: &str, now: Millis) -> StoreResult<u32> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // The grant before its tokens, as a rotation locks them (see `rotate_in`).
                let ended = tx
                    .execute(B::render(&q::revoke_grants(Some(id), None, now)))
                    .await?;
                let revoked = tx
                    .execute(B::render_replanned(&q::revoke_grant_tokens(id, now)))
                    .await?;
                if ended + revoked > 0 {
                    audit_in::<B, _>(&mut tx).await?;
                }
                Ok(to_u32(revoked))
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn revoke_client_grants(
        &self,
        client_id: &str,
        subject: Option<&str>,
        now: Millis,
    ) -> StoreResult<u32> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // The grants before their tokens, as a rotation locks them (see `rotate_in`).
                let ended = tx
                    .execute(B::render(&q::revoke_grants(
                        None,
                        Some((client_id, subject)),
                        now,
                    )))
                    .await?;
                let revoked = tx
                    .execute(B::render_replanned(&q::revoke_client_tokens(
                        client_id, subject, now,
                    )))
                    .await?;
                if ended + revoked > 0 {
                    audit_in::<B, _>(&mut tx).await?;
                }
                Ok(to_u32(revoked))
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn list_grants(
        &self,
        filter: &GrantFilter,
        now: Millis,
        page: &PageRequest,
    ) -> StoreResult<Page<OAuthGrant>> {
        let st = B::render(&q::list_grants(
            filter,
            now,
            page.after.as_deref(),
            probe_limit(page),
        ));
        let grants = self
            .fetch_all(st)
            .await?
            .iter()
            .map(grant_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_page(grants, page, |g| g.id.clone()))
    }
}
