//! The check path's one read, made straight from the database file on the calling thread.
//!
//! Why: sqlx runs each SQLite connection on a worker thread of its own, so every query is a
//! channel send and two thread wake-ups. On the benchmark machine that hop cost about 70 µs,
//! several times the primary-key lookup behind it, and a check with the cache off (or any
//! cache miss) makes two such reads: the caller's credential and the checked token. Here the
//! lookup runs where the request already is, on a connection of its own.
//!
//! The calling thread normally blocks for microseconds: the statement is one indexed lookup,
//! in WAL mode a reader never waits for the writer, and the busy timeout is zero. The worst
//! cases are a page that must come from disk, and SQLite's own bounded retry loop when the
//! WAL index is being rebuilt after a crash. Anything short of a clean answer (a busy or
//! locked database, a missing table, a row that does not decode, any other error) is not an
//! answer: the caller then asks sqlx's pool, which has the busy timeout and the deadline, so
//! this path can make a check faster but never decides one differently.
//!
//! Each read is its own autocommit transaction on a fully reset statement, so it sees every
//! commit made before it started: a revocation acknowledged by the pool is seen by the next
//! read here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use crate::domain::model::TokenAccess;
use crate::domain::ports::{StoreError, StoreResult};
use crate::store::sql::rows::{Columns, access_from_rows};

/// Idle connections kept for reuse; more are opened while more threads read at once (at most
/// the runtime's worker threads), and the surplus is closed when they come back.
const KEEP_IDLE: usize = 8;

/// Statement cache per connection: the reader prepares one statement.
const STATEMENT_CACHE: usize = 4;

/// Reads the check statement (`select_token_access`) on the calling thread. Cheap to share: clone the `Arc`.
pub(super) struct DirectReader {
    path: PathBuf,
    /// `HotStatements::token_access`, rendered for SQLite.
    access_sql: Arc<str>,
    idle: Mutex<Vec<Connection>>,
    /// The statement's column names, read once: the statement never changes.
    names: OnceLock<Arc<[String]>>,
    /// Whether a failed read has been reported; later ones go to the debug log only.
    warned: AtomicBool,
    /// Set when the store closes: from then on nothing is answered here, as the pool answers
    /// nothing either.
    closed: AtomicBool,
}

impl std::fmt::Debug for DirectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DirectReader {
    pub(super) fn new(path: &Path, access_sql: Arc<str>) -> DirectReader {
        DirectReader {
            path: path.to_path_buf(),
            access_sql,
            idle: Mutex::new(Vec::new()),
            names: OnceLock::new(),
            warned: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    /// The check read for token `id`, or `None` when this path could not answer and the pool must.
    /// `Some(None)`: answered, no such token.
    pub(super) fn token_access(&self, id: &str) -> Option<Option<TokenAccess>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let conn = match self.checkout() {
            Ok(conn) => conn,
            Err(e) => return self.not_answered(&e),
        };
        let rows = self.read_rows(&conn, id);
        // A connection that failed is dropped rather than reused: whatever went wrong stays
        // with it.
        let rows = match rows {
            Ok(rows) => rows,
            Err(e) => return self.not_answered(&e),
        };
        self.checkin(conn);
        match access_from_rows(&rows) {
            Ok(access) => Some(access),
            Err(e) => self.not_answered(&e),
        }
    }

    /// Closes the idle connections and answers nothing more (the store is closing).
    pub(super) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn checkout(&self) -> rusqlite::Result<Connection> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some(conn) => Ok(conn),
            None => self.open(),
        }
    }

    fn checkin(&self, conn: Connection) {
        if self.closed.load(Ordering::Acquire) {
            return;
        }
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < KEEP_IDLE
        {
            idle.push(conn);
        }
    }

    /// Opens a read connection: never creates the file, never writes, never waits for a lock.
    fn open(&self) -> rusqlite::Result<Connection> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags)?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(conn)
    }

    /// Logs why this path did not answer. A busy or locked database is expected now and then
    /// and stays at debug; the first other failure is a warning, as every check may now pay
    /// for the fallback.
    fn not_answered<T>(&self, e: &(dyn std::error::Error + 'static)) -> Option<T> {
        let busy = matches!(
            e.downcast_ref::<rusqlite::Error>(),
            Some(rusqlite::Error::SqliteFailure(failure, _)) if super::busy_or_locked(failure.extended_code)
        );
        if busy || self.warned.swap(true, Ordering::Relaxed) {
            tracing::debug!(error = %e, "direct SQLite read failed; using the pool");
        } else {
            tracing::warn!(
                error = %e,
                "direct SQLite read failed; using the pool (slower) for this and later failures"
            );
        }
        None
    }
}

impl DirectReader {
    /// Runs the statement for token `id` and copies every row out; dropping `rows` resets the
    /// statement, which ends its read transaction.
    fn read_rows(&self, conn: &Connection, id: &str) -> rusqlite::Result<Vec<ValueRow>> {
        let mut statement = conn.prepare_cached(&self.access_sql)?;
        let names = self
            .names
            .get_or_init(|| {
                statement
                    .column_names()
                    .into_iter()
                    .map(str::to_owned)
                    .collect()
            })
            .clone();
        let width = names.len();
        let mut rows = statement.query([id])?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..width)
                .map(|i| row.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push(ValueRow {
                names: names.clone(),
                values,
            });
        }
        Ok(out)
    }
}

/// One row, copied out of SQLite, readable by column name like sqlx's rows.
struct ValueRow {
    names: Arc<[String]>,
    values: Vec<Value>,
}

impl ValueRow {
    fn value(&self, name: &str) -> StoreResult<&Value> {
        self.names
            .iter()
            .position(|n| n == name)
            .and_then(|i| self.values.get(i))
            .ok_or_else(|| StoreError::Internal(format!("no column {name:?}").into()))
    }

    fn mismatch<T>(name: &str) -> StoreResult<T> {
        Err(StoreError::Internal(
            format!("column {name:?} holds an unexpected type").into(),
        ))
    }
}

impl Columns for ValueRow {
    fn text(&self, name: &str) -> StoreResult<String> {
        self.opt_text(name)?
            .map_or_else(|| ValueRow::mismatch(name), Ok)
    }
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        match self.value(name)? {
            Value::Null => Ok(None),
            Value::Text(s) => Ok(Some(s.clone())),
            _ => ValueRow::mismatch(name),
        }
    }
    fn int(&self, name: &str) -> StoreResult<i64> {
        self.opt_int(name)?
            .map_or_else(|| ValueRow::mismatch(name), Ok)
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        match self.value(name)? {
            Value::Null => Ok(None),
            Value::Integer(i) => Ok(Some(*i)),
            _ => ValueRow::mismatch(name),
        }
    }
    fn flag(&self, name: &str) -> StoreResult<bool> {
        self.opt_flag(name)?
            .map_or_else(|| ValueRow::mismatch(name), Ok)
    }
    fn opt_flag(&self, name: &str) -> StoreResult<Option<bool>> {
        Ok(self.opt_int(name)?.map(|i| i != 0))
    }
    fn bytes(&self, name: &str) -> StoreResult<Vec<u8>> {
        // Text as well, as sqlx decodes it: a hand-edited row must read the same either way.
        match self.value(name)? {
            Value::Blob(b) => Ok(b.clone()),
            Value::Text(t) => Ok(t.clone().into_bytes()),
            _ => ValueRow::mismatch(name),
        }
    }
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        match self.value(name)? {
            Value::Null => Ok(None),
            _ => self.bytes(name).map(Some),
        }
    }
}

#[cfg(test)]
#[path = "direct_tests.rs"]
mod tests;
