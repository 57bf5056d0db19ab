//! One SQL store for every backend: the ports implemented once, generically over
//! [`SqlBackend`], which holds only what truly differs between SQLite and Postgres.
//!
//! - `backend`: the trait a backend implements, and the classified [`DbError`];
//! - `exec`: statements on a pool and write transactions that never reuse a connection in an
//!   unknown state, generic over the sqlx database;
//! - `roles`, `users`, `tokens`, `health`: one port each;
//! - `rows`: rows to domain values; `schema`: every statement, one file per entity.
//!
//! Every call, transactions included, is bounded by the backend's deadline.

mod audit;
pub mod backend;
mod clients;
mod credentials;
pub mod exec;
mod health;
pub(crate) mod oauth;
mod retention;
mod roles;
pub mod rows;
pub mod schema;
mod signing_keys;
mod tokens;
mod users;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub use audit::audit_in;
pub use backend::{DbError, Fault, SqlBackend, SqlTx, Statement};
pub use tokens::{insert_in, write_tokens};

use crate::domain::ports::{StoreError, StoreResult};

/// The check path's statements, rendered once at start-up: building and rendering a
/// sea-query statement costs more than the database executing it. Each takes one
/// parameter, the token id.
#[derive(Debug, Clone)]
pub struct HotStatements {
    pub token_access: Arc<str>,
    pub token: Arc<str>,
}

impl HotStatements {
    pub fn render<B: SqlBackend>() -> HotStatements {
        HotStatements {
            token_access: B::render(&schema::tokens::select_token_access("")).sql,
            token: B::render(&schema::tokens::select_token("")).sql,
        }
    }
}

/// A store over one SQL backend.
#[derive(Debug)]
pub struct SqlStore<B> {
    backend: B,
    hot: HotStatements,
    write_faults: WriteFaults,
}

/// How long a real write that failed for want of the database keeps the write probe failing,
/// unless a real write succeeds first.
const WRITE_FAULT_HOLD: Duration = Duration::from_secs(5);

/// When a real write last failed for want of the database (full, read-only, unreachable).
/// The write probe is one small row: on a disk with only a few pages left it can commit
/// while every token insert fails, so health must also hear what real writes met.
#[derive(Debug, Default)]
struct WriteFaults {
    last: Mutex<Option<Instant>>,
}

impl WriteFaults {
    fn record<T>(&self, outcome: &StoreResult<T>) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        match outcome {
            Ok(_) => *last = None,
            Err(StoreError::Unavailable(_)) => *last = Some(Instant::now()),
            // A conflict or a missing record is the caller's, not the database's.
            Err(_) => {}
        }
    }

    /// The age of a failure still held against the write probe.
    fn held(&self) -> Option<Duration> {
        let last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        last.map(|at| at.elapsed())
            .filter(|age| *age < WRITE_FAULT_HOLD)
    }
}

impl<B: SqlBackend> SqlStore<B> {
    pub fn new(backend: B) -> SqlStore<B> {
        SqlStore::with_statements(backend, HotStatements::render::<B>())
    }

    /// With statements the backend already rendered (SQLite's direct reader needs one).
    pub fn with_statements(backend: B, hot: HotStatements) -> SqlStore<B> {
        SqlStore {
            backend,
            hot,
            write_faults: WriteFaults::default(),
        }
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Runs `call` within the backend's deadline; past it, the call is dropped (closing any
    /// connection it held mid-transaction) and answers `Unavailable`.
    pub async fn bounded<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        bounded(self.backend.deadline(), call).await
    }

    /// A write: bounded like every call, and its outcome told to the write health.
    async fn write<T>(&self, call: impl Future<Output = StoreResult<T>>) -> StoreResult<T> {
        let outcome = self.bounded(call).await;
        self.write_faults.record(&outcome);
        outcome
    }

    async fn fetch_optional(&self, st: Statement) -> StoreResult<Option<B::Row>> {
        self.bounded(async { Ok(self.backend.fetch_optional(st).await?) })
            .await
    }

    async fn fetch_all(&self, st: Statement) -> StoreResult<Vec<B::Row>> {
        self.bounded(async { Ok(self.backend.fetch_all(st).await?) })
            .await
    }

    /// One write statement on its own; `on_error` turns its failure into the caller's terms.
    /// With an audit event staged (see `domain::audit`), the statement and the event share
    /// a transaction, and a statement that changed no row writes no event.
    async fn execute(
        &self,
        st: Statement,
        on_error: impl FnOnce(DbError) -> StoreError,
    ) -> StoreResult<u64> {
        if crate::domain::audit::staged().is_none() {
            return self
                .write(async { self.backend.execute(st).await.map_err(on_error) })
                .await;
        }
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                let changed = tx.execute(st).await.map_err(on_error)?;
                if changed > 0 {
                    audit_in::<B, _>(&mut tx).await?;
                }
                Ok(changed)
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }
}

/// See [`SqlStore::bounded`]; for callers holding a backend only (SQLite's group writer).
pub async fn bounded<T>(
    deadline: std::time::Duration,
    call: impl Future<Output = StoreResult<T>>,
) -> StoreResult<T> {
    tokio::time::timeout(deadline, call)
        .await
        .unwrap_or_else(|_| {
            Err(StoreError::unavailable(
                "the database did not answer within the deadline",
            ))
        })
}

/// Commits `tx` if `outcome` is a success, else rolls it back; a failed commit fails the
/// call, as nothing of it may be acknowledged.
pub async fn finish<T, X: SqlTx>(tx: X, outcome: StoreResult<T>) -> StoreResult<T> {
    match outcome {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

/// A backend's migrations, compiled into the binary (version, name, SQL), so `migrate` needs
/// no files beside it.
pub fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> sqlx::migrate::Migrator {
    use sqlx::SqlSafeStr;
    let migrations = migrations
        .iter()
        .map(|&(version, name, sql)| {
            sqlx::migrate::Migration::new(
                version,
                std::borrow::Cow::Borrowed(name),
                sqlx::migrate::MigrationType::Simple,
                sqlx::AssertSqlSafe(sql).into_sql_str(),
                false,
            )
        })
        .collect();
    sqlx::migrate::Migrator::with_migrations(migrations)
}

/// Fails unless every file in `migrations/<dialect>/` is compiled into `migrator` under
/// its number: a file added but not listed would silently never run.
#[cfg(test)]
pub fn assert_every_migration_is_compiled_in(dialect: &str, migrator: &sqlx::migrate::Migrator) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(dialect);
    let mut on_disk: Vec<i64> = std::fs::read_dir(&dir)
        .expect("migrations directory")
        .map(|entry| {
            let name = entry.expect("entry").file_name();
            let name = name.to_string_lossy();
            name.split('_')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("numbered file")
        })
        .collect();
    on_disk.sort_unstable();
    let compiled: Vec<i64> = migrator.iter().map(|m| m.version).collect();
    assert_eq!(on_disk, compiled, "{dialect}: files on disk vs compiled in");
}

fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
