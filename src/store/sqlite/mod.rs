//! The embedded SQLite backend: one file, WAL mode, foreign keys on.
//!
//! What differs from Postgres, and only that, lives here: the pool and its settings, write
//! transactions that start `BEGIN IMMEDIATE`, how SQLite's result codes classify, the group
//! commit for token inserts (`writer`) and the check read on the calling thread (`direct`).

mod direct;
mod migrations;
mod writer;

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sea_query::SqliteQueryBuilder;
use sea_query_sqlx::SqlxBinder;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

use super::sql::exec::{self, WriteTx, WriterTurns};
use super::sql::{DbError, Fault, SqlBackend, SqlStore, SqlTx, Statement};
use crate::domain::model::{TokenAccess, TokenRecord};
use crate::domain::ports::{StoreError, StoreResult};
use migrations::migrator;

/// How long a statement waits for another writer's lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool unless configured otherwise.
pub const DEFAULT_POOL_SIZE: u32 = 4;

/// Takes the write lock at once: a deferred transaction that reads first must later upgrade
/// its read lock, and SQLite refuses that at once (SQLITE_BUSY) instead of waiting.
const BEGIN: &str = "BEGIN IMMEDIATE";

/// The SQLite half of a [`SqlStore`].
#[derive(Debug, Clone)]
pub struct Sqlite {
    pool: SqlitePool,
    /// Every write of this process takes its turn here before SQLite's write lock.
    turns: WriterTurns,
    path: Option<PathBuf>,
    inserts: writer::InsertQueue,
    /// The check path's read on the calling thread; none for an in-memory database, which
    /// only the pool's connection can see.
    direct: Option<Arc<direct::DirectReader>>,
}

/// Creates the database file, when missing, readable and writable by its owner only (0600):
/// it holds password hashes, sealed TOTP seeds and every token's hash. SQLite gives the
/// `-wal` and `-shm` files it makes later the database file's own mode, so they are 0600
/// too, whatever the umask. An existing file keeps its mode (`serve` warns when others may
/// read it).
fn create_private(path: &std::path::Path) -> StoreResult<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(StoreError::Unavailable(
            format!("creating the database file {}: {e}", path.display()).into(),
        )),
    }
}

/// A tessera store in one SQLite database file.
pub type SqliteStore = SqlStore<Sqlite>;

impl SqlStore<Sqlite> {
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
        let mut pool_options = SqlitePoolOptions::new()
            // One connection for an in-memory database, or each would see its own.
            .max_connections(if in_memory { 1 } else { pool_size.max(1) })
            // No ping before each use: a connection is a thread of this process over a
            // local file, not a socket that can die unseen, and each ping is one more
            // round trip to that thread on every call.
            .test_before_acquire(false);
        if in_memory {
            // Its one connection is the database: never retire it for age or idleness.
            pool_options = pool_options
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        let plain_file = !in_memory && !url.contains("vfs=") && !url.contains("immutable=");
        if plain_file {
            create_private(&path)?;
        }
        let pool = pool_options
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(|e| DbError::new(classify(&e), e).into_store())?;
        // The direct reader opens the file itself, so only a plain file qualifies: not an
        // in-memory database, and not one opened through another VFS or as immutable, whose
        // locking the reader would not share. The path is made absolute now, so a later
        // change of working directory cannot point it at another file.
        let hot = super::sql::HotStatements::render::<Sqlite>();
        let direct = plain_file.then(|| {
            let file = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
            Arc::new(direct::DirectReader::new(&file, hot.token_access.clone()))
        });
        let turns = WriterTurns::default();
        Ok(SqlStore::with_statements(
            Sqlite {
                inserts: writer::InsertQueue::start(pool.clone(), turns.clone(), deadline()),
                turns,
                pool,
                path: (!in_memory).then_some(path),
                direct,
            },
            hot,
        ))
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator()
            .run(&self.backend().pool)
            .await
            .map_err(|e| StoreError::Internal(Box::new(e)))
    }

    /// The database file, when there is one (not for in-memory databases).
    pub fn path(&self) -> Option<&std::path::Path> {
        self.backend().path.as_deref()
    }

    /// Closes every connection; bounded, like every call.
    pub async fn close(&self) {
        if let Some(direct) = &self.backend().direct {
            direct.close();
        }
        let _ = tokio::time::timeout(deadline(), self.backend().pool.close()).await;
    }
}

/// Longest any one call may take: past the busy timeout, plus a margin.
fn deadline() -> Duration {
    BUSY_TIMEOUT + Duration::from_secs(1)
}

/// SQLITE_BUSY (5) or SQLITE_LOCKED (6), in any extended form: another connection holds
/// the database for now. Both the pool's errors and the direct reader's are judged by this.
fn busy_or_locked(code: i32) -> bool {
    matches!(code & 0xff, 5 | 6)
}

/// Result codes after which the same call can succeed later, once the cause is gone: busy
/// or locked, out of memory (7), a read-only (8) or failing (10, I/O) database, a full
/// disk (13), a file that cannot be opened (14), or a locking protocol error (15).
fn transient(code: i32) -> bool {
    busy_or_locked(code) || matches!(code & 0xff, 7 | 8 | 10 | 13 | 14 | 15)
}

/// What a sqlx error from SQLite means.
fn classify(e: &sqlx::Error) -> Fault {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Fault::Unique,
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Fault::ForeignKey,
        sqlx::Error::Database(db)
            if db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(transient) =>
        {
            Fault::Unavailable
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => Fault::Unavailable,
        _ => Fault::Internal,
    }
}

impl SqlBackend for Sqlite {
    type Row = SqliteRow;
    type Tx = WriteTx<sqlx::Sqlite>;

    fn render<S: SqlxBinder>(statement: &S) -> Statement {
        let (sql, values) = statement.build_sqlx(SqliteQueryBuilder);
        Statement {
            sql: sql.into(),
            values,
            persistent: true,
        }
    }

    fn deadline(&self) -> Duration {
        deadline()
    }

    async fn fetch_optional(&self, st: Statement) -> Result<Option<SqliteRow>, DbError> {
        exec::fetch_optional(&self.pool, st, classify).await
    }

    async fn fetch_all(&self, st: Statement) -> Result<Vec<SqliteRow>, DbError> {
        exec::fetch_all(&self.pool, st, classify).await
    }

    /// In a transaction of its own, so that every write on SQLite starts `BEGIN IMMEDIATE`:
    /// on a connection somehow still inside a transaction (`sqlite3_get_autocommit() == 0`)
    /// that statement fails and the connection is closed, where a bare statement would
    /// write into a transaction that never commits and be acknowledged all the same.
    async fn execute(&self, st: Statement) -> Result<u64, DbError> {
        let mut tx = self.begin().await?;
        match tx.execute(st).await {
            Ok(changed) => {
                tx.commit().await?;
                Ok(changed)
            }
            Err(e) => {
                tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn begin(&self) -> Result<WriteTx<sqlx::Sqlite>, DbError> {
        let turn = self.turns.take().await;
        WriteTx::begin(&self.pool, BEGIN, classify, Some(turn)).await
    }

    /// Concurrent inserts share one transaction and one fsync (see `writer`).
    async fn insert_token(&self, token: &TokenRecord, max_active: Option<u32>) -> StoreResult<()> {
        self.inserts.insert(token.clone(), max_active).await
    }

    /// Rotations join the same group commit as inserts (see `writer`).
    async fn rotate_refresh(&self, rotation: &super::sql::oauth::Rotation) -> StoreResult<bool> {
        self.inserts.rotate(rotation.clone()).await
    }

    /// On the calling thread when it can answer there (see `direct`; it never waits, so it
    /// needs no deadline), else through the pool within the deadline.
    async fn token_access(&self, sql: &Arc<str>, id: &str) -> StoreResult<Option<TokenAccess>> {
        if let Some(answer) = self.direct.as_ref().and_then(|d| d.token_access(id)) {
            return Ok(answer);
        }
        let st = Statement::keyed(sql, id);
        let rows = super::sql::bounded(deadline(), async { Ok(self.fetch_all(st).await?) }).await?;
        super::sql::rows::access_from_rows(&rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_is_compiled_in() {
        super::super::sql::assert_every_migration_is_compiled_in("sqlite", &migrator());
    }

    #[test]
    fn hot_statements_take_exactly_the_token_id() {
        let hot = super::super::sql::HotStatements::render::<Sqlite>();
        for sql in [&hot.token_access, &hot.token] {
            assert_eq!(sql.matches('?').count(), 1, "{sql}");
        }
    }

    /// A connection handed back to the pool inside a transaction, as sqlx's own
    /// `Transaction` leaves one after a failed COMMIT (sqlx#3742). No write on it is
    /// acknowledged: the next write fails, the connection is closed, and the write after
    /// that commits on a fresh one.
    #[tokio::test]
    async fn a_connection_left_inside_a_transaction_acknowledges_no_write() {
        use crate::domain::model::Role;
        use crate::domain::permission_set::PermissionSet;
        use crate::domain::ports::RoleStore;

        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("t.db");
        let url = format!("sqlite://{}", file.display());
        // One connection, so the next write must take the one left inside a transaction.
        let store = SqliteStore::connect_with_pool(&url, 1).await.expect("open");
        store.migrate().await.expect("migrate");
        let role = |name: &str| Role {
            id: format!("id-{name}"),
            name: name.into(),
            permissions: PermissionSet::from_stored("read:*"),
            description: String::new(),
        };
        let committed = |name: &str| {
            let outside = rusqlite::Connection::open(&file).expect("open");
            outside
                .query_row("SELECT count(*) FROM roles WHERE name = ?1", [name], |r| {
                    r.get::<_, i64>(0)
                })
                .expect("count")
                == 1
        };
        let leak = || async {
            let mut conn = store.backend().pool.acquire().await.expect("acquire");
            sqlx::raw_sql("BEGIN")
                .execute(&mut *conn)
                .await
                .expect("begin");
        };

        // A single statement (CreateRole) on it.
        leak().await;
        assert!(store.create_role(&role("first"), 1).await.is_err());
        store.create_role(&role("second"), 1).await.expect("fresh");
        assert!(!committed("first"));
        assert!(committed("second"));

        // A write transaction (DeleteRole) on it.
        leak().await;
        assert!(store.delete_role("second", 2).await.is_err());
        assert!(committed("second"));
        store.delete_role("second", 3).await.expect("fresh");
        assert!(!committed("second"));
    }

    #[test]
    fn storage_faults_are_transient_but_constraint_and_corruption_are_not() {
        // SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR_WRITE (778), SQLITE_BUSY_SNAPSHOT (517)
        for code in [13, 8, 778, 517, 5, 6, 14] {
            assert!(transient(code), "{code}");
        }
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_CORRUPT (11), SQLITE_ERROR (1)
        for code in [2067, 11, 1] {
            assert!(!transient(code), "{code}");
        }
    }
}
