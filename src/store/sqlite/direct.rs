//! The check path's one read, made straight from the database file on the calling thread.
//!
//! Why: sqlx runs each SQLite connection on a worker thread of its own, so every query is a
//! channel send and two thread wake-ups. On the benchmark machine that hop cost about 70 µs,
//! several times the primary-key lookup behind it, and a check with the cache off (or any
//! cache miss) makes two such reads: the caller's credential and the checked token. Here the
//! lookup runs where the request already is, on a connection of its own.
//!
//! Blocking the calling thread is bounded: the statement is one indexed lookup, and in WAL
//! mode a reader never waits for the writer. It does not wait for a lock either: the busy
//! timeout is zero, and anything short of a clean answer (a busy or locked database, a
//! missing table, any other error) is not an answer. The caller then asks sqlx's pool, which
//! has the busy timeout and the deadline, so this path can make a check faster but can never
//! decide one differently.
//!
//! Each read is its own autocommit transaction on a fully reset statement, so it sees every
//! commit made before it started: a revocation acknowledged by the pool is seen by the next
//! read here.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags};

use crate::domain::model::TokenGrant;
use crate::store::rows::{Columns, grant_from_rows};
use crate::store::{StoreError, StoreResult};

/// Idle connections kept for reuse; more are opened while more threads read at once (at most
/// the runtime's worker threads), and the surplus is closed when they come back.
const KEEP_IDLE: usize = 8;

/// Statement cache per connection: the reader prepares one statement.
const STATEMENT_CACHE: usize = 4;

/// Reads the token-grant statement on the calling thread. Cheap to share: clone the `Arc`.
pub(super) struct DirectReader {
    path: PathBuf,
    /// `HotStatements::token_grant`, rendered for SQLite.
    grant_sql: Arc<str>,
    idle: Mutex<Vec<Connection>>,
    /// The statement's column names, read once: the statement never changes.
    names: OnceLock<Arc<[String]>>,
    /// Whether a failed read has been reported; later ones go to the debug log only.
    warned: AtomicBool,
}

impl std::fmt::Debug for DirectReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectReader")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl DirectReader {
    pub(super) fn new(path: &Path, grant_sql: Arc<str>) -> DirectReader {
        DirectReader {
            path: path.to_path_buf(),
            grant_sql,
            idle: Mutex::new(Vec::new()),
            names: OnceLock::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// The grant for token `id`, or `None` when this path could not answer and the pool must.
    pub(super) fn load_grant(&self, id: &str) -> Option<StoreResult<Option<TokenGrant>>> {
        let conn = match self.checkout() {
            Ok(conn) => conn,
            Err(e) => return self.not_answered(&e),
        };
        let rows = self.read_rows(&conn, id);
        // A connection that failed is dropped rather than reused: whatever went wrong stays
        // with it.
        match rows {
            Ok(rows) => {
                self.checkin(conn);
                Some(grant_from_rows(&rows))
            }
            Err(e) => self.not_answered(&e),
        }
    }

    /// Closes the idle connections (the store is closing).
    pub(super) fn close(&self) {
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

    fn not_answered(&self, e: &rusqlite::Error) -> Option<StoreResult<Option<TokenGrant>>> {
        if self.warned.swap(true, Ordering::Relaxed) {
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
        let mut statement = conn.prepare_cached(&self.grant_sql)?;
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
        match self.value(name)? {
            Value::Blob(b) => Ok(b.clone()),
            _ => ValueRow::mismatch(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::{Role, TokenRecord, User};
    use crate::domain::permission_set::PermissionSet;
    use crate::domain::token_format::TokenKind;
    use crate::store::Store;
    use crate::store::sqlite::SqliteStore;

    fn perms(text: &str) -> PermissionSet {
        PermissionSet::from_stored(text)
    }

    fn role(name: &str, permissions: &str) -> Role {
        Role {
            name: name.into(),
            permissions: perms(permissions),
            description: String::new(),
        }
    }

    fn pat(id: &str, subject: &str, role: &str) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            kind: TokenKind::Pat,
            name: "ci".into(),
            subject: subject.into(),
            role: Some(role.into()),
            secret_hash: vec![7; 32],
            scopes: PermissionSet::empty(),
            cap: Some(perms("read:*")),
            read_only: true,
            issued_at: 1_000,
            expires_at: Some(9_000_000),
            last_used_at: None,
            revoked_at: None,
            created_by: Some("admin".into()),
        }
    }

    /// A migrated file store holding user `u1` (roles `reader`, `writer`) and its PAT `t1`.
    async fn seeded() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("t.db").display());
        let store = SqliteStore::connect(&url).await.expect("open");
        store.migrate().await.expect("migrate");
        store
            .create_role(&role("reader", "read:*"), 1)
            .await
            .expect("role");
        store
            .create_role(&role("writer", "write:contacts"), 1)
            .await
            .expect("role");
        let user = User {
            id: "u1".into(),
            name: "alice".into(),
            roles: vec!["reader".into(), "writer".into()],
            disabled: false,
            created_at: 1,
        };
        store.create_user(&user).await.expect("user");
        store
            .insert_tokens(&[pat("t1", "u1", "reader")])
            .await
            .expect("token");
        (dir, store)
    }

    fn direct(store: &SqliteStore) -> &DirectReader {
        store
            .direct
            .as_deref()
            .expect("a file store reads directly")
    }

    #[tokio::test]
    async fn answers_exactly_as_the_pool_does() {
        let (_dir, store) = seeded().await;
        let fast = direct(&store)
            .load_grant("t1")
            .expect("answered")
            .expect("read")
            .expect("found");
        let pooled = store
            .select_grant("t1")
            .await
            .expect("read")
            .expect("found");
        assert_eq!(fast.record, pooled.record);
        assert_eq!(fast.record, pat("t1", "u1", "reader"));
        assert_eq!(fast.owner_disabled, Some(false));
        assert_eq!(fast.owner_disabled, pooled.owner_disabled);
        let names = |g: &TokenGrant| {
            let mut roles = g.owner_roles.clone();
            roles.sort_by(|a, b| a.name.cmp(&b.name));
            roles
        };
        assert_eq!(names(&fast), names(&pooled));
        assert_eq!(names(&fast).len(), 2);
        assert_eq!(fast.bound_role, pooled.bound_role);
        assert_eq!(
            fast.bound_role.map(|r| r.permissions),
            Some(perms("read:*"))
        );
        assert!(matches!(direct(&store).load_grant("nope"), Some(Ok(None))));
    }

    #[tokio::test]
    async fn sees_what_the_pool_committed_at_once() {
        let (_dir, store) = seeded().await;
        let reader = direct(&store);
        let before = reader.load_grant("t1").expect("answered").expect("read");
        assert_eq!(before.expect("found").record.revoked_at, None);
        assert_eq!(
            store.revoke_token("t1", None, 5_000).await.expect("revoke"),
            1
        );
        let after = reader.load_grant("t1").expect("answered").expect("read");
        assert_eq!(after.expect("found").record.revoked_at, Some(5_000));
        store.set_user_disabled("u1", true).await.expect("disable");
        let disabled = reader.load_grant("t1").expect("answered").expect("read");
        assert_eq!(disabled.expect("found").owner_disabled, Some(true));
    }

    #[tokio::test]
    async fn a_failed_read_is_not_an_answer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let sql: Arc<str> = "SELECT id FROM tokens WHERE id = ?".into();
        // No file: the reader never creates one.
        let missing = DirectReader::new(&dir.path().join("absent.db"), sql.clone());
        assert!(missing.load_grant("t1").is_none());
        assert!(!dir.path().join("absent.db").exists());
        // A database without the table: an error, not "unknown token".
        let empty = dir.path().join("empty.db");
        Connection::open(&empty).expect("create");
        assert!(DirectReader::new(&empty, sql).load_grant("t1").is_none());
    }

    #[tokio::test]
    async fn the_store_falls_back_to_the_pool() {
        let (_dir, store) = seeded().await;
        // A reader whose statement cannot run stands in for any failure of the direct path.
        let broken = SqliteStore {
            direct: Some(Arc::new(DirectReader::new(
                store.path().expect("file"),
                "SELECT * FROM no_such_table WHERE id = ?".into(),
            ))),
            ..store.clone()
        };
        let grant = broken.load_grant("t1").await.expect("read").expect("found");
        assert_eq!(grant.record.id, "t1");
        assert!(broken.load_grant("nope").await.expect("read").is_none());
    }
}
