//! The embedded SQLite backend: one file, WAL mode, foreign keys on.
//!
//! Statements come from [`crate::store::schema`], rendered with `SqliteQueryBuilder` and run on
//! a typed `SqlitePool`. sqlx errors become [`StoreError`]s here and go no further.

mod direct;
mod writer;

/// The SQL both backends share, compiled here against the names below.
#[path = "../shared/mod.rs"]
#[allow(clippy::duplicate_mod)] // one text, compiled per backend on purpose
mod shared;

use shared::HotStatements;

const BUILDER: SqliteQueryBuilder = SqliteQueryBuilder;
type DbRow = SqliteRow;
type DbQueryResult = SqliteQueryResult;
type DbConnection = sqlx::SqliteConnection;
type Db = SqliteStore;

use std::borrow::Cow;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::SqliteQueryBuilder;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, SqlSafeStr};

use super::{StoreError, StoreResult};
use crate::domain::model::{TokenGrant, TokenRecord};

/// How long a statement waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool unless configured otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 4;

/// Migrations compiled into the binary, so `migrate` needs no files beside it.
fn migrator() -> Migrator {
    let init = Migration::new(
        1,
        Cow::Borrowed("init"),
        MigrationType::Simple,
        AssertSqlSafe(include_str!("../../../migrations/sqlite/0001_init.sql")).into_sql_str(),
        false,
    );
    Migrator::with_migrations(vec![init])
}

/// A tessera store in one SQLite database file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    path: Option<PathBuf>,
    inserts: writer::InsertQueue,
    hot: HotStatements,
    /// The check path's read on the calling thread; none for an in-memory database, which
    /// only the pool's connection can see.
    direct: Option<Arc<direct::DirectReader>>,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at a `sqlite://` URL with the default pool.
    pub async fn connect(url: &str) -> StoreResult<SqliteStore> {
        SqliteStore::connect_with_pool(url, DEFAULT_POOL_SIZE).await
    }

    /// Opens the database with at most `pool_size` connections. Each SQLite connection has
    /// its own worker thread, so on a small machine a small pool is faster.
    pub async fn connect_with_pool(url: &str, pool_size: u32) -> StoreResult<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(Box::new(e)))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a revocation acknowledged to a caller survives a power cut.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let path = options.get_filename().to_path_buf();
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        let pool = SqlitePoolOptions::new()
            // One connection for an in-memory database, or each would see its own.
            .max_connections(if in_memory { 1 } else { pool_size.max(1) })
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await
            .map_err(map_err("database"))?;
        let hot = HotStatements::render();
        // The direct reader opens the file itself, so only a plain file qualifies: not an
        // in-memory database, and not one opened through another VFS or as immutable, whose
        // locking the reader would not share. The path is made absolute now, so a later
        // change of working directory cannot point it at another file.
        let plain_file = !in_memory && !url.contains("vfs=") && !url.contains("immutable=");
        let direct = plain_file.then(|| {
            let file = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            Arc::new(direct::DirectReader::new(&file, hot.token_grant.clone()))
        });
        Ok(SqliteStore {
            inserts: writer::InsertQueue::start(pool.clone()),
            pool,
            path: (!in_memory).then_some(path),
            hot,
            direct,
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Internal(Box::new(e)))
    }

    /// The database file, when there is one (not for in-memory databases).
    pub fn path(&self) -> Option<&std::path::Path> {
        self.path.as_deref()
    }

    pub async fn close(&self) {
        if let Some(direct) = &self.direct {
            direct.close();
        }
        self.pool.close().await;
    }
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), in any extended form: another connection holds
/// the database for now. Both the pool's errors and the direct reader's are judged by this.
fn busy_or_locked(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6)
}

/// Turns a sqlx error into a store error; `what` names the entity for constraint messages.
fn map_err(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::AlreadyExists(what.to_owned())
        }
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::InUse(format!("{what} is still referenced"))
        }
        // The database is held by another writer past the busy timeout, which a retry can
        // get past.
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(busy_or_locked) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        sqlx::Error::PoolTimedOut | sqlx::Error::Io(_) | sqlx::Error::PoolClosed => {
            StoreError::Unavailable(Box::new(e))
        }
        _ => StoreError::Internal(Box::new(e)),
    }
}

crate::store::rows::impl_columns!(SqliteRow);

impl SqliteStore {
    /// Longest any one read or write may take: past the busy timeout, plus a margin.
    fn deadline(&self) -> Duration {
        BUSY_TIMEOUT + Duration::from_secs(1)
    }

    /// Concurrent inserts share one transaction and one fsync (see `writer`).
    async fn insert_one(&self, token: &TokenRecord) -> StoreResult<()> {
        self.inserts.insert(token.clone()).await
    }

    /// The check path's read: on the calling thread when it can answer there (see `direct`),
    /// else through the pool.
    async fn read_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        if let Some(answer) = self.direct.as_ref().and_then(|d| d.load_grant(id)) {
            return Ok(answer);
        }
        self.select_grant(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::HotStatements;

    #[test]
    fn hot_statements_take_exactly_the_token_id() {
        let hot = HotStatements::render();
        for sql in [&hot.token_grant, &hot.token] {
            assert_eq!(sql.matches('?').count(), 1, "{sql}");
        }
    }
}
