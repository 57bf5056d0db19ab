//! The Postgres backend, for several replicas sharing one database.
//!
//! The same schema and the same statements as SQLite, rendered with `PostgresQueryBuilder`.
//! Uniqueness (names, token ids) is enforced by the database's constraints, never by a
//! read-then-write, so concurrent replicas cannot issue a token twice or create a name twice.
//! Every connection carries a `statement_timeout`, pool waits are bounded by the same
//! figure, and every call has a client-side deadline a little longer, so an unreachable,
//! stuck or silent database turns into `Unavailable` instead of hanging a check.

mod changes;
mod feed_metrics;

use std::str::FromStr;
use std::time::Duration;

use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::SqlxBinder;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};

pub use changes::{CHANNEL, ChangeFeed, follow_changes};

use super::StoreSettings;
use super::sql::exec::{self, WriteTx};
use super::sql::{DbError, Fault, SqlBackend, SqlStore, Statement, write_tokens};
use crate::domain::model::TokenRecord;
use crate::domain::ports::{StoreError, StoreResult};

/// Migrations compiled into the binary. sqlx takes an advisory lock while applying them, so
/// replicas starting together do not race.
fn migrator() -> Migrator {
    super::sql::migrator(&[
        (
            1,
            "init",
            include_str!("../../../migrations/postgres/0001_init.sql"),
        ),
        (
            2,
            "change feed",
            include_str!("../../../migrations/postgres/0002_change_feed.sql"),
        ),
        (
            3,
            "health probe",
            include_str!("../../../migrations/postgres/0003_health_probe.sql"),
        ),
        (
            4,
            "change feed per statement",
            include_str!("../../../migrations/postgres/0004_change_feed_per_statement.sql"),
        ),
        (
            5,
            "change feed names what changed",
            include_str!("../../../migrations/postgres/0005_change_feed_names_what_changed.sql"),
        ),
        (
            6,
            "derived tokens follow their source",
            include_str!(
                "../../../migrations/postgres/0006_derived_tokens_follow_their_source.sql"
            ),
        ),
        (
            7,
            "pats bind role identity",
            include_str!("../../../migrations/postgres/0007_pats_bind_role_identity.sql"),
        ),
        (
            8,
            "user names unique regardless of case",
            include_str!(
                "../../../migrations/postgres/0008_user_names_unique_regardless_of_case.sql"
            ),
        ),
        (
            9,
            "active tokens by subject",
            include_str!("../../../migrations/postgres/0009_active_tokens_by_subject.sql"),
        ),
        (
            10,
            "logins",
            include_str!("../../../migrations/postgres/0010_logins.sql"),
        ),
        (
            11,
            "oauth",
            include_str!("../../../migrations/postgres/0011_oauth.sql"),
        ),
        (
            12,
            "audit events",
            include_str!("../../../migrations/postgres/0012_audit_events.sql"),
        ),
    ])
}

/// The Postgres half of a [`SqlStore`]. `Debug` is written by hand: the connect options
/// hold the password.
pub struct Postgres {
    pool: PgPool,
    /// As the URL says, without the statement timeout (for migrations and the listener).
    options: PgConnectOptions,
    settings: StoreSettings,
}

/// A tessera store in a Postgres database.
pub type PostgresStore = SqlStore<Postgres>;

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl SqlStore<Postgres> {
    /// Connects to the settings' `postgres://` URL; TLS follows the URL's `sslmode`. The pool
    /// connects lazily: `serve` first applies migrations, which needs the database, and from
    /// then on a replica whose database goes away keeps running and reports NOT_SERVING.
    pub fn connect(settings: &StoreSettings) -> StoreResult<PostgresStore> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(&settings.database_url)
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
        Ok(SqlStore::new(Postgres {
            pool,
            options,
            settings: settings.clone(),
        }))
    }

    /// Applies pending migrations, on a connection of its own without the statement timeout:
    /// a replica may wait here for another's advisory lock (or the Helm migration Job's) for
    /// as long as that takes.
    pub async fn migrate(&self) -> StoreResult<()> {
        use sqlx::Connection;
        let mut conn = sqlx::PgConnection::connect_with(&self.backend().options)
            .await
            .map_err(|e| DbError::new(classify(&e), e).into_store())?;
        let applied = migrator()
            .run(&mut conn)
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)));
        let _ = conn.close().await;
        applied
    }

    /// Closes the pool, bounded: a connection stuck on a silent peer must not hold up
    /// shutdown (every call that holds one ends within its deadline anyway).
    pub async fn close(&self) {
        let deadline = self.backend().deadline();
        let _ = tokio::time::timeout(deadline, self.backend().pool.close()).await;
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

/// What a sqlx error from Postgres means.
fn classify(e: &sqlx::Error) -> Fault {
    match e {
        sqlx::Error::Database(db) if db.is_unique_violation() => Fault::Unique,
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => Fault::ForeignKey,
        sqlx::Error::Database(db) if db.code().is_some_and(|c| transient(&c)) => Fault::Unavailable,
        sqlx::Error::PoolTimedOut
        | sqlx::Error::Io(_)
        | sqlx::Error::PoolClosed
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => Fault::Unavailable,
        _ => Fault::Internal,
    }
}

impl SqlBackend for Postgres {
    type Row = PgRow;
    type Tx = WriteTx<sqlx::Postgres>;

    fn render<S: SqlxBinder>(statement: &S) -> Statement {
        let (sql, values) = statement.build_sqlx(PostgresQueryBuilder);
        Statement {
            sql: sql.into(),
            values,
            persistent: true,
        }
    }

    /// The server's statement timeout plus a margin for the round trip.
    fn deadline(&self) -> Duration {
        self.settings.statement_timeout + Duration::from_secs(1)
    }

    async fn fetch_optional(&self, st: Statement) -> Result<Option<PgRow>, DbError> {
        exec::fetch_optional(&self.pool, st, classify).await
    }

    async fn fetch_all(&self, st: Statement) -> Result<Vec<PgRow>, DbError> {
        exec::fetch_all(&self.pool, st, classify).await
    }

    async fn execute(&self, st: Statement) -> Result<u64, DbError> {
        exec::execute(&self.pool, st, classify).await
    }

    async fn begin(&self) -> Result<WriteTx<sqlx::Postgres>, DbError> {
        WriteTx::begin(&self.pool, "BEGIN", classify, None).await
    }

    /// Each insert commits at once: Postgres takes concurrent writers without batching.
    async fn insert_token(&self, token: &TokenRecord, max_active: Option<u32>) -> StoreResult<()> {
        write_tokens(self, std::slice::from_ref(token), max_active).await
    }

    async fn rotate_refresh(&self, rotation: &super::sql::oauth::Rotation) -> StoreResult<bool> {
        let mut tx = self.begin().await?;
        let outcome = async {
            let rotated = super::sql::oauth::rotate_in::<_, Self>(&mut tx, rotation).await?;
            if rotated {
                super::sql::audit_in::<Self, _>(&mut tx).await?;
            }
            Ok(rotated)
        }
        .await;
        super::sql::finish(tx, outcome).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_is_compiled_in() {
        super::super::sql::assert_every_migration_is_compiled_in("postgres", &migrator());
    }

    #[test]
    fn hot_statements_take_exactly_the_token_id() {
        let hot = super::super::sql::HotStatements::render::<Postgres>();
        for sql in [&hot.token_access, &hot.token] {
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
