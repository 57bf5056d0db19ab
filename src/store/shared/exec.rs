//! Running sea-query statements on a backend's pool, for every SQL backend.

use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::AssertSqlSafe;

use super::{BUILDER, Db, DbConnection, DbQueryResult, DbRow, map_err};
use crate::store::{StoreError, StoreResult};

impl Db {
    /// Bounds a call on the client side as well: a connection whose peer went silent (a dead
    /// host, a dropped NAT entry) never answers, and no server-side timeout fires for it.
    pub(in super::super) async fn bounded<T>(
        &self,
        call: impl Future<Output = StoreResult<T>>,
    ) -> StoreResult<T> {
        tokio::time::timeout(self.deadline(), call)
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(
                    "the database did not answer in time".into(),
                ))
            })
    }

    pub(in super::super) async fn fetch_optional(
        &self,
        (sql, values): (String, SqlxValues),
    ) -> StoreResult<Option<DbRow>> {
        self.bounded(async {
            sqlx::query_with(AssertSqlSafe(sql), values)
                .fetch_optional(&self.pool)
                .await
                .map_err(map_err("row"))
        })
        .await
    }

    pub(in super::super) async fn fetch_all(
        &self,
        (sql, values): (String, SqlxValues),
    ) -> StoreResult<Vec<DbRow>> {
        self.bounded(async {
            sqlx::query_with(AssertSqlSafe(sql), values)
                .fetch_all(&self.pool)
                .await
                .map_err(map_err("row"))
        })
        .await
    }

    pub(in super::super) async fn execute(
        &self,
        (sql, values): (String, SqlxValues),
        what: &'static str,
    ) -> StoreResult<DbQueryResult> {
        self.bounded(async {
            sqlx::query_with(AssertSqlSafe(sql), values)
                .execute(&self.pool)
                .await
                .map_err(map_err(what))
        })
        .await
    }
}

/// Renders a statement in this backend's dialect.
pub(in super::super) fn sql<S: SqlxBinder>(statement: &S) -> (String, SqlxValues) {
    statement.build_sqlx(BUILDER)
}

/// Runs one statement inside a transaction.
pub(in super::super) async fn exec_in<S: SqlxBinder>(
    conn: &mut DbConnection,
    statement: &S,
    what: &'static str,
) -> StoreResult<DbQueryResult> {
    let (q, v) = sql(statement);
    sqlx::query_with(AssertSqlSafe(q), v)
        .execute(conn)
        .await
        .map_err(map_err(what))
}
