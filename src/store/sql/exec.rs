//! Running statements on a pool, and write transactions that never hand a connection back
//! in an unknown state. Generic over the sqlx database, so both backends share one text.
//!
//! Why not sqlx's own `Transaction`: when SQLite's COMMIT fails (SQLITE_FULL), SQLite rolls
//! the transaction back itself, sqlx's ROLLBACK then fails, and sqlx keeps counting the
//! connection as inside a transaction, so the next `begin` on it opens a SAVEPOINT and every
//! later "commit" only releases it: writes acknowledged that never commit (sqlx#3742). Here
//! BEGIN, COMMIT and ROLLBACK are plain statements whose outcome we see, and a connection
//! whose commit or rollback failed, or whose transaction was abandoned, is closed.

use sea_query_sqlx::SqlxValues;
use sqlx::database::HasStatementCache;
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Database, Executor, IntoArguments, Pool};

use super::backend::{DbError, Fault, SqlTx, Statement};
use super::rows::Columns;

/// How a backend classifies its errors.
pub type Classify = fn(&sqlx::Error) -> Fault;

/// The number of rows a statement changed, for each backend's result type.
pub trait Affected {
    fn affected(&self) -> u64;
}

impl Affected for sqlx::sqlite::SqliteQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl Affected for sqlx::postgres::PgQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

fn fail(classify: Classify) -> impl Fn(sqlx::Error) -> DbError {
    move |e| DbError::new(classify(&e), e)
}

pub async fn fetch_optional<DB>(
    pool: &Pool<DB>,
    st: Statement,
    classify: Classify,
) -> Result<Option<DB::Row>, DbError>
where
    DB: Database + HasStatementCache,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::query_with(AssertSqlSafe(st.sql), st.values)
        .persistent(st.persistent)
        .fetch_optional(pool)
        .await
        .map_err(fail(classify))
}

pub async fn fetch_all<DB>(
    pool: &Pool<DB>,
    st: Statement,
    classify: Classify,
) -> Result<Vec<DB::Row>, DbError>
where
    DB: Database + HasStatementCache,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::query_with(AssertSqlSafe(st.sql), st.values)
        .persistent(st.persistent)
        .fetch_all(pool)
        .await
        .map_err(fail(classify))
}

pub async fn execute<DB>(pool: &Pool<DB>, st: Statement, classify: Classify) -> Result<u64, DbError>
where
    DB: Database + HasStatementCache,
    DB::QueryResult: Affected,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::query_with(AssertSqlSafe(st.sql), st.values)
        .persistent(st.persistent)
        .execute(pool)
        .await
        .map(|done| done.affected())
        .map_err(fail(classify))
}

/// A write transaction on a connection of its own (see the module docs).
pub struct WriteTx<DB: Database> {
    /// `None` once committed or rolled back.
    conn: Option<PoolConnection<DB>>,
    classify: Classify,
    /// The backend's writer turn, held until the transaction ends (see [`WriterTurns`]).
    /// Declared after `conn`, so the connection is closed or returned before the next
    /// writer's turn starts.
    _turn: Option<WriterTurn>,
}

/// A held turn to write.
pub type WriterTurn = tokio::sync::OwnedMutexGuard<()>;

/// Writers of one process take turns, first come first served. For SQLite, which has one
/// write lock: its busy handler polls with sleeps rather than queueing, so a writer that
/// commits and at once begins again (a usage flush, chunk after chunk) wins the lock over
/// one that is sleeping, and an Issue waited behind the whole flush (4.5 s measured). A fair
/// queue in front of the lock makes each writer wait for the writes ahead of it only.
#[derive(Debug, Clone, Default)]
pub struct WriterTurns(std::sync::Arc<tokio::sync::Mutex<()>>);

impl WriterTurns {
    pub async fn take(&self) -> WriterTurn {
        self.0.clone().lock_owned().await
    }
}

impl<DB: Database> std::fmt::Debug for WriteTx<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteTx")
            .field("open", &self.conn.is_some())
            .finish()
    }
}

impl<DB> WriteTx<DB>
where
    DB: Database + HasStatementCache,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Takes a connection and runs `begin` (`BEGIN` or `BEGIN IMMEDIATE`) on it; with
    /// `turn`, holds that writer turn until the transaction ends.
    pub async fn begin(
        pool: &Pool<DB>,
        begin: &'static str,
        classify: Classify,
        turn: Option<WriterTurn>,
    ) -> Result<WriteTx<DB>, DbError> {
        let conn = pool.acquire().await.map_err(fail(classify))?;
        // In the guard before the first await on it: cancelled during BEGIN, the guard's
        // drop closes the connection, which may or may not be inside a transaction by then.
        let mut tx = WriteTx {
            conn: Some(conn),
            classify,
            _turn: turn,
        };
        let begun = sqlx::raw_sql(begin).execute(&mut **tx.conn()?).await;
        match begun {
            Ok(_) => Ok(tx),
            Err(e) => {
                // Whether BEGIN took effect is unknown: the connection must not be reused.
                tx.close().await;
                Err(fail(classify)(e))
            }
        }
    }

    /// Every row a statement returns (an `UPDATE … RETURNING`, in the batch writer).
    pub async fn fetch_all(&mut self, st: Statement) -> Result<Vec<DB::Row>, DbError>
    where
        SqlxValues: IntoArguments<DB>,
    {
        let classify = self.classify;
        let conn = self.conn()?;
        sqlx::query_with(AssertSqlSafe(st.sql), st.values)
            .persistent(st.persistent)
            .fetch_all(&mut **conn)
            .await
            .map_err(fail(classify))
    }

    /// Closes the connection for good, waiting for it (SQLite rolls back as it closes)
    /// while this writer's turn is still held, so the next writer finds the lock free.
    async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = sqlx::Connection::close_hard(conn.detach()).await;
        }
    }

    fn conn(&mut self) -> Result<&mut PoolConnection<DB>, DbError> {
        self.conn
            .as_mut()
            .ok_or_else(|| DbError::new(Fault::Internal, "transaction already finished"))
    }

    /// Ends the transaction with `sql`; the connection goes back to the pool only if that
    /// succeeded.
    ///
    /// The connection stays in the guard while the statement runs: cancelled then (the
    /// deadline), the guard's drop closes it rather than let it back mid-transaction.
    async fn finish(&mut self, sql: &'static str) -> Result<(), DbError> {
        let ended = sqlx::raw_sql(sql).execute(&mut **self.conn()?).await;
        match ended {
            Ok(_) => {
                // Ended cleanly: back to the pool.
                drop(self.conn.take());
                Ok(())
            }
            Err(e) => {
                tracing::warn!(error = %e, statement = sql, "closing a database connection whose transaction failed to end");
                self.close().await;
                Err(fail(self.classify)(e))
            }
        }
    }
}

impl<DB> SqlTx for WriteTx<DB>
where
    DB: Database + HasStatementCache,
    DB::Row: Columns,
    DB::QueryResult: Affected,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Row = DB::Row;

    async fn execute(&mut self, st: Statement) -> Result<u64, DbError> {
        let classify = self.classify;
        let conn = self.conn()?;
        sqlx::query_with(AssertSqlSafe(st.sql), st.values)
            .persistent(st.persistent)
            .execute(&mut **conn)
            .await
            .map(|done| done.affected())
            .map_err(fail(classify))
    }

    async fn fetch_optional(&mut self, st: Statement) -> Result<Option<DB::Row>, DbError> {
        let classify = self.classify;
        let conn = self.conn()?;
        sqlx::query_with(AssertSqlSafe(st.sql), st.values)
            .persistent(st.persistent)
            .fetch_optional(&mut **conn)
            .await
            .map_err(fail(classify))
    }

    async fn commit(mut self) -> Result<(), DbError> {
        self.finish("COMMIT").await
    }

    async fn rollback(mut self) {
        // A failed rollback is logged in `finish` and its connection closed; the caller
        // already has the error that made it roll back.
        let _ = self.finish("ROLLBACK").await;
    }
}

impl<DB: Database> Drop for WriteTx<DB> {
    fn drop(&mut self) {
        // Abandoned mid-transaction (its call was cancelled or timed out): closing the
        // connection rolls the transaction back on the server; returning it would not.
        if let Some(conn) = self.conn.take() {
            drop(conn.detach());
        }
    }
}
