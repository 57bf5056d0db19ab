//! Token records in SQLite.

use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, col, exec_in, finish_page, map_err, probe_limit, sql};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role, TokenGrant, TokenRecord};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;
use crate::store::{StoreError, StoreResult, schema};

/// A row and its `seq`, the pagination cursor.
fn token_from_row(row: &SqliteRow) -> StoreResult<(i64, TokenRecord)> {
    let kind: String = col(row, "kind")?;
    let kind = TokenKind::from_name(&kind)
        .ok_or_else(|| StoreError::Internal(format!("unknown token kind {kind:?}").into()))?;
    let cap: Option<String> = col(row, "cap")?;
    let record = TokenRecord {
        id: col(row, "id")?,
        kind,
        name: col(row, "name")?,
        subject: col(row, "subject")?,
        role: col(row, "role")?,
        secret_hash: col(row, "secret_hash")?,
        scopes: PermissionSet::from_stored(&col::<String>(row, "scopes")?),
        cap: cap.as_deref().map(PermissionSet::from_stored),
        read_only: col(row, "read_only")?,
        issued_at: col(row, "issued_at")?,
        expires_at: col(row, "expires_at")?,
        last_used_at: col(row, "last_used_at")?,
        revoked_at: col(row, "revoked_at")?,
        created_by: col(row, "created_by")?,
    };
    Ok((col(row, "seq")?, record))
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl SqliteStore {
    pub(super) async fn insert_token_rows(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err("token"))?;
        for token in tokens {
            exec_in(&mut tx, &schema::insert_token(token), "token").await?;
        }
        tx.commit().await.map_err(map_err("token"))
    }

    pub(super) async fn select_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        sqlx::query(sqlx::AssertSqlSafe(self.hot.token.clone()))
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err("token"))?
            .as_ref()
            .map(|row| token_from_row(row).map(|(_, t)| t))
            .transpose()
    }

    pub(super) async fn select_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(self.hot.token_grant.clone()))
            .bind(id)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err("token"))?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let (_, record) = token_from_row(first)?;
        let owner_disabled: Option<bool> = col(first, "owner_disabled")?;
        let mut grant = TokenGrant {
            owner_disabled,
            owner_roles: Vec::new(),
            bound_role: None,
            record,
        };
        if let (Some(name), Some(perms)) = (
            grant.record.role.clone(),
            col::<Option<String>>(first, "bound_permissions")?,
        ) {
            grant.bound_role = Some(Role {
                name,
                permissions: PermissionSet::from_stored(&perms),
                description: String::new(),
            });
        }
        for row in &rows {
            let Some(name) = col::<Option<String>>(row, "role_name")? else {
                continue;
            };
            grant.owner_roles.push(Role {
                permissions: PermissionSet::from_stored(&col::<String>(row, "role_permissions")?),
                description: String::new(),
                name,
            });
        }
        Ok(Some(grant))
    }

    pub(super) async fn page_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        let after = match page.after.as_deref() {
            None => None,
            Some(s) => Some(s.parse::<i64>().map_err(|_| StoreError::InvalidCursor)?),
        };
        let rows = self
            .fetch_all(sql(&schema::list_tokens(subject, after, probe_limit(page))))
            .await?
            .iter()
            .map(token_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let page = finish_page(rows, page, |(seq, _)| seq.to_string());
        Ok(Page {
            items: page.items.into_iter().map(|(_, t)| t).collect(),
            next: page.next,
        })
    }

    pub(super) async fn revoke_one(
        &self,
        id: &str,
        owner: Option<&str>,
        now: Millis,
    ) -> StoreResult<u32> {
        let done = self
            .execute(sql(&schema::revoke_token(id, owner, now)), "token")
            .await?;
        Ok(to_u32(done.rows_affected()))
    }

    pub(super) async fn revoke_all(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        let done = self
            .execute(sql(&schema::revoke_subject(subject, now)), "token")
            .await?;
        Ok(to_u32(done.rows_affected()))
    }

    /// One transaction for the whole batch: one commit, however many tokens were used.
    pub(super) async fn write_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(map_err("token"))?;
        for (id, at) in usage {
            exec_in(&mut tx, &schema::update_last_used(id, *at), "token").await?;
        }
        tx.commit().await.map_err(map_err("token"))
    }
}
