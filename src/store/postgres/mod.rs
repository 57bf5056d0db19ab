//! The Postgres backend, for several replicas sharing one database.
//!
//! The same schema and the same sea-query statements as SQLite, rendered with
//! `PostgresQueryBuilder`. Uniqueness (names, token ids) is enforced by the database's
//! constraints, never by a read-then-write, so concurrent replicas cannot issue a token twice
//! or create a name twice. Every connection carries a `statement_timeout`, and pool waits are
//! bounded by the same figure, so an unreachable or stuck database turns into `Unavailable`
//! within that time instead of hanging a check.

mod changes;

/// The SQL both backends share, compiled here against the names below.
#[path = "../shared/mod.rs"]
#[allow(clippy::duplicate_mod)] // one text, compiled per backend on purpose
mod shared;

use shared::HotStatements;

const BUILDER: PostgresQueryBuilder = PostgresQueryBuilder;
type DbRow = PgRow;
type DbQueryResult = PgQueryResult;
type DbConnection = sqlx::PgConnection;
type Db = PostgresStore;

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sea_query::PostgresQueryBuilder;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{AssertSqlSafe, SqlSafeStr};

pub use changes::{CHANNEL, ChangeFeed, ChangeFeedOptions, follow_changes};

use super::{StoreError, StoreResult};
use crate::domain::model::{TokenGrant, TokenRecord};

/// How a Postgres store connects.
#[derive(Debug, Clone)]
pub struct PostgresSettings {
    /// Most open connections per replica.
    pub pool_size: u32,
    /// Longest any statement may run (server-side `statement_timeout`); also the longest a
    /// call waits for a free or new connection.
    pub statement_timeout: Duration,
}

impl Default for PostgresSettings {
    fn default() -> PostgresSettings {
        PostgresSettings {
            pool_size: 4,
            statement_timeout: Duration::from_secs(5),
        }
    }
}

/// Migrations compiled into the binary. sqlx takes an advisory lock while applying them, so
/// replicas starting together do not race.
fn migrator() -> Migrator {
    let migration = |version: i64, name: &'static str, sql: &'static str| {
        Migration::new(
            version,
            Cow::Borrowed(name),
            MigrationType::Simple,
            AssertSqlSafe(sql).into_sql_str(),
            false,
        )
    };
    Migrator::with_migrations(vec![
        migration(
            1,
            "init",
            include_str!("../../../migrations/postgres/0001_init.sql"),
        ),
        migration(
            2,
            "change feed",
            include_str!("../../../migrations/postgres/0002_change_feed.sql"),
        ),
    ])
}

/// A tessera store in a Postgres database. `Debug` is written by hand: the connect options
/// hold the password.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
    /// As the URL says, without the statement timeout (for migrations and the listener).
    options: PgConnectOptions,
    settings: PostgresSettings,
    hot: HotStatements,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL; TLS follows the URL's `sslmode`. The pool connects
    /// lazily: `serve` first applies migrations, which needs the database, and from then on
    /// a replica whose database goes away keeps running and reports NOT_SERVING.
    pub fn connect(url: &str, settings: &PostgresSettings) -> StoreResult<PostgresStore> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(Box::new(e)))?
            .application_name("tessera");
        let pool = PgPoolOptions::new()
            .max_connections(settings.pool_size.max(1))
            .acquire_timeout(settings.statement_timeout)
            .connect_lazy_with(
                options
                    .clone()
                    .options([("statement_timeout", timeout_ms.as_str())]),
            );
        Ok(PostgresStore {
            pool,
            options,
            settings: settings.clone(),
            hot: HotStatements::render(),
        })
    }

    /// Applies pending migrations, on a connection of its own without the statement timeout:
    /// a replica may wait here for another's advisory lock (or the Helm migration Job's) for
    /// as long as that takes.
    pub async fn migrate(&self) -> StoreResult<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&self.options)
            .await
            .map_err(map_err("database"))?;
        let applied = migrator()
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)));
        let _ = conn.close().await;
        applied
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// SQLSTATEs after which the same call can succeed later: the connection or server went away
/// (class 08, 57P01-57P03), the statement timed out (57014), the server is out of resources
/// (class 53) or failing (class 58), a serialization failure or deadlock (40001, 40P01), or
/// a server that became read-only in a failover (25006).
fn transient(code: &str) -> bool {
    ["08", "53", "58"]
        .iter()
        .any(|class| code.starts_with(class))
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "40001" | "40P01" | "25006"
        )
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
        sqlx::Error::Database(db) if db.code().is_some_and(|c| transient(&c)) => {
            StoreError::Unavailable(Box::new(e))
        }
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Internal(Box::new(e)),
    }
}

crate::store::rows::impl_columns!(PgRow);

impl PostgresStore {
    /// Longest any one call may take on the client side: the server's statement timeout plus
    /// a margin for the round trip.
    fn deadline(&self) -> Duration {
        self.settings.statement_timeout + Duration::from_secs(1)
    }

    /// Each insert commits at once: Postgres takes concurrent writers without batching.
    async fn insert_one(&self, token: &TokenRecord) -> StoreResult<()> {
        self.insert_token_rows(std::slice::from_ref(token)).await
    }

    /// The check path's read, through the pool like every other.
    async fn read_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        self.select_grant(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hot_statements_take_exactly_the_token_id() {
        let hot = HotStatements::render();
        for sql in [&hot.token_grant, &hot.token] {
            assert!(sql.contains("$1") && !sql.contains("$2"), "{sql}");
        }
    }

    #[test]
    fn outages_and_timeouts_are_transient_but_bad_sql_is_not() {
        for code in [
            "08006", "08001", "57P01", "57014", "53300", "53100", "40001", "25006",
        ] {
            assert!(transient(code), "{code}");
        }
        for code in ["23505", "42601", "22P02"] {
            assert!(!transient(code), "{code}");
        }
    }
}
