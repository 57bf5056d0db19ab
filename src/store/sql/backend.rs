//! What truly differs between SQLite and Postgres, behind one small trait: the query
//! builder, the pool, the row and transaction types, how errors classify, how a single token
//! insert reaches the database, and the check path's read. Everything else is written once,
//! generically, in the entity modules beside this one.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use sea_query_sqlx::{SqlxBinder, SqlxValues};

use super::rows::{Columns, access_from_rows};
use crate::domain::model::{TokenAccess, TokenRecord};
use crate::domain::ports::{StoreError, StoreResult};

/// A statement rendered for one dialect, ready to run.
#[derive(Debug)]
pub struct Statement {
    pub sql: Arc<str>,
    pub values: SqlxValues,
    /// Prepared once per connection and its plan kept (the default). `false` for a
    /// statement whose good plan depends on its values: Postgres then plans it for each
    /// execution with the values at hand (see [`SqlBackend::render_replanned`]).
    pub persistent: bool,
}

impl Statement {
    /// A pre-rendered statement whose only parameter is `key` (the check path's statements).
    pub fn keyed(sql: &Arc<str>, key: &str) -> Statement {
        Statement {
            sql: sql.clone(),
            values: SqlxValues(sea_query::Values(vec![key.into()])),
            persistent: true,
        }
    }
}

/// What a database error means for the caller, decided by the backend once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// A unique constraint refused the write.
    Unique,
    /// A foreign key refused the write (a missing parent, or a child still referencing).
    ForeignKey,
    /// The database is unreachable, busy, timed out, or cannot store (full, read-only,
    /// I/O): a retry later may succeed.
    Unavailable,
    /// Anything else: a fault of ours.
    Internal,
}

/// A database error with its classification; the source keeps the database's own words
/// ("database or disk is full") for the log.
#[derive(Debug, thiserror::Error)]
#[error("{source}")]
pub struct DbError {
    pub fault: Fault,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl DbError {
    pub fn new(
        fault: Fault,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> DbError {
        DbError {
            fault,
            source: source.into(),
        }
    }

    /// The store error when no constraint was expected to fail.
    pub fn into_store(self) -> StoreError {
        match self.fault {
            Fault::Unavailable => StoreError::Unavailable(Box::new(self)),
            Fault::Unique | Fault::ForeignKey | Fault::Internal => {
                StoreError::Internal(Box::new(self))
            }
        }
    }

    /// A unique or foreign-key failure: the statement's rows, not the database, were wrong.
    pub fn is_constraint(&self) -> bool {
        matches!(self.fault, Fault::Unique | Fault::ForeignKey)
    }

    /// The store error, with constraint failures told apart by the caller, which knows
    /// what they mean for the statement it ran.
    pub fn or_constraint(
        self,
        on_unique: impl FnOnce() -> StoreError,
        on_foreign_key: impl FnOnce() -> StoreError,
    ) -> StoreError {
        match self.fault {
            Fault::Unique => on_unique(),
            Fault::ForeignKey => on_foreign_key(),
            _ => self.into_store(),
        }
    }
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> StoreError {
        e.into_store()
    }
}

/// One open write transaction. Dropped without [`SqlTx::commit`] or [`SqlTx::rollback`]
/// (a call cancelled by its deadline), its connection is closed, never returned to the pool
/// mid-transaction.
pub trait SqlTx: Send {
    type Row: Columns + Send;
    fn execute(&mut self, st: Statement) -> impl Future<Output = Result<u64, DbError>> + Send;
    fn fetch_optional(
        &mut self,
        st: Statement,
    ) -> impl Future<Output = Result<Option<Self::Row>, DbError>> + Send;
    /// Commits. On failure the connection is closed: after a failed COMMIT the session's
    /// state is unknown (SQLite may or may not have rolled back), and nothing may reuse it.
    fn commit(self) -> impl Future<Output = Result<(), DbError>> + Send;
    /// Rolls back; a connection whose rollback fails is closed.
    fn rollback(self) -> impl Future<Output = ()> + Send;
}

pub trait SqlBackend: Send + Sync + 'static {
    type Row: Columns + Send + Sync;
    type Tx: SqlTx<Row = Self::Row>;

    /// Renders a statement in this backend's dialect.
    fn render<S: SqlxBinder>(statement: &S) -> Statement;
    /// Renders a statement that is planned for each execution with its values: the
    /// lineage walks. Postgres's generic plan for them (made after five executions of a
    /// prepared statement) hash-joins the whole tokens table in the recursive step and
    /// bitmap-scans every live token for the update: a Revoke then cost tens of
    /// milliseconds and grew with the table (the soak's Revoke p50 was 64 ms), where the
    /// plan for the actual id walks `created_by`'s index in well under one.
    fn render_replanned<S: SqlxBinder>(statement: &S) -> Statement {
        Statement {
            persistent: false,
            ..Self::render(statement)
        }
    }
    /// The longest any one call may take on the client side, transactions included: a peer
    /// gone silent (a dead host, a dropped NAT entry) never answers, and no server-side
    /// timeout fires for it.
    fn deadline(&self) -> Duration;

    fn fetch_optional(
        &self,
        st: Statement,
    ) -> impl Future<Output = Result<Option<Self::Row>, DbError>> + Send;
    fn fetch_all(
        &self,
        st: Statement,
    ) -> impl Future<Output = Result<Vec<Self::Row>, DbError>> + Send;
    fn execute(&self, st: Statement) -> impl Future<Output = Result<u64, DbError>> + Send;
    /// Starts a write transaction that takes the write lock at once (SQLite: `BEGIN
    /// IMMEDIATE`), so its first write never has to upgrade a read lock, which SQLite
    /// refuses without waiting.
    fn begin(&self) -> impl Future<Output = Result<Self::Tx, DbError>> + Send;

    /// How one token insert reaches the database (SQLite batches concurrent inserts into
    /// one group commit; Postgres writes each at once). Returns after a durable commit.
    /// `max_active`: see `TokenStore::insert_token_within`.
    fn insert_token(
        &self,
        token: &TokenRecord,
        max_active: Option<u32>,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// One refresh-token rotation (see `OAuthStore::rotate_refresh`), atomic on its own:
    /// SQLite joins it to the token writer's group commit, Postgres commits it at once.
    fn rotate_refresh(
        &self,
        rotation: &super::oauth::Rotation,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The check path's read: `sql` is the pre-rendered `select_token_access`. Through the
    /// pool, within the deadline, unless the backend has a faster way that answers the same.
    fn token_access(
        &self,
        sql: &Arc<str>,
        id: &str,
    ) -> impl Future<Output = StoreResult<Option<TokenAccess>>> + Send {
        let st = Statement::keyed(sql, id);
        async move {
            let rows =
                super::bounded(self.deadline(), async { Ok(self.fetch_all(st).await?) }).await?;
            access_from_rows(&rows)
        }
    }
}
