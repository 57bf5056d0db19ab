//! Token records, for every SQL backend.

use super::{Db, exec_in, map_err, sql};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, TokenGrant, TokenRecord};
use crate::store::rows::{
    finish_token_page, grant_from_rows, probe_limit, token_cursor, token_from_row,
};
use crate::store::{StoreError, StoreResult, schema};

/// Inserting a token, a foreign-key failure means its subject is not a user.
pub(in super::super) fn unknown_subject(
    token: &TokenRecord,
) -> impl Fn(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::InUse(_) => StoreError::NotFound(format!("user {:?}", token.subject)),
        other => other,
    }
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl Db {
    pub(in super::super) async fn insert_token_rows(
        &self,
        tokens: &[TokenRecord],
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err("token"))?;
        for token in tokens {
            exec_in(&mut tx, &schema::insert_token(token), "token")
                .await
                .map_err(unknown_subject(token))?;
        }
        tx.commit().await.map_err(map_err("token"))
    }

    pub(in super::super) async fn select_token(
        &self,
        id: &str,
    ) -> StoreResult<Option<TokenRecord>> {
        let query = sqlx::query(sqlx::AssertSqlSafe(self.hot.token.clone()))
            .bind(id)
            .fetch_optional(&self.pool);
        self.bounded(async { query.await.map_err(map_err("token")) })
            .await?
            .as_ref()
            .map(|row| token_from_row(row).map(|(_, t)| t))
            .transpose()
    }

    pub(in super::super) async fn select_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        let query = sqlx::query(sqlx::AssertSqlSafe(self.hot.token_grant.clone()))
            .bind(id)
            .fetch_all(&self.pool);
        let rows = self
            .bounded(async { query.await.map_err(map_err("token")) })
            .await?;
        grant_from_rows(&rows)
    }

    pub(in super::super) async fn page_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        let after = token_cursor(page)?;
        let rows = self
            .fetch_all(sql(&schema::list_tokens(subject, after, probe_limit(page))))
            .await?
            .iter()
            .map(token_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(finish_token_page(rows, page))
    }

    pub(in super::super) async fn revoke_one(
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

    pub(in super::super) async fn revoke_all(
        &self,
        subject: &str,
        now: Millis,
    ) -> StoreResult<u32> {
        let done = self
            .execute(sql(&schema::revoke_subject(subject, now)), "token")
            .await?;
        Ok(to_u32(done.rows_affected()))
    }

    /// One transaction for the whole batch: one commit, however many tokens were used.
    pub(in super::super) async fn write_usage(
        &self,
        usage: &[(String, Millis)],
    ) -> StoreResult<()> {
        if usage.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await.map_err(map_err("token"))?;
        // One order for every writer, so two replicas flushing the same hot tokens take the
        // row locks in the same sequence and cannot deadlock.
        let mut usage: Vec<&(String, Millis)> = usage.iter().collect();
        usage.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (id, at) in usage {
            exec_in(&mut tx, &schema::update_last_used(id, *at), "token").await?;
        }
        tx.commit().await.map_err(map_err("token"))
    }
}
