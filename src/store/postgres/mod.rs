//! The Postgres backend, for several replicas sharing one database.
//!
//! The same schema and the same sea-query statements as SQLite, rendered with
//! `PostgresQueryBuilder`. Uniqueness (names, token ids) is enforced by the database's
//! constraints, never by a read-then-write, so concurrent replicas cannot issue a token twice
//! or create a name twice. Every connection carries a `statement_timeout`, and pool waits are
//! bounded by the same figure, so an unreachable or stuck database turns into `Unavailable`
//! within that time instead of hanging a check.

mod changes;
mod roles;
mod tokens;
mod users;

use std::borrow::Cow;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::{AssertSqlSafe, SqlSafeStr};

pub use changes::{CHANNEL, ChangeFeed, ChangeFeedOptions, follow_changes};

use super::{Store, StoreError, StoreResult};
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role, TokenGrant, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;

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

/// A tessera store in a Postgres database.
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    options: PgConnectOptions,
    settings: PostgresSettings,
    hot: HotStatements,
}

/// The check path's statements, rendered once at start-up.
#[derive(Debug, Clone)]
struct HotStatements {
    token_grant: Arc<str>,
    token: Arc<str>,
}

impl HotStatements {
    fn render() -> HotStatements {
        let render =
            |s: sea_query::SelectStatement| -> Arc<str> { s.build(PostgresQueryBuilder).0.into() };
        HotStatements {
            token_grant: render(super::schema::select_token_grant("")),
            token: render(super::schema::select_token("")),
        }
    }
}

impl PostgresStore {
    /// Connects to a `postgres://` URL; TLS follows the URL's `sslmode`. The pool connects
    /// lazily, so a replica starts (and reports NOT_SERVING) while its database is down.
    pub fn connect(url: &str, settings: &PostgresSettings) -> StoreResult<PostgresStore> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Internal(Box::new(e)))?
            .application_name("tessera")
            .options([("statement_timeout", timeout_ms.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(settings.pool_size.max(1))
            .acquire_timeout(settings.statement_timeout)
            .connect_lazy_with(options.clone());
        Ok(PostgresStore {
            pool,
            options,
            settings: settings.clone(),
            hot: HotStatements::render(),
        })
    }

    /// Applies pending migrations.
    pub async fn migrate(&self) -> StoreResult<()> {
        migrator()
            .run(&self.pool)
            .await
            .map_err(|e| StoreError::Unavailable(Box::new(e)))
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn fetch_optional(
        &self,
        (sql, values): (String, SqlxValues),
    ) -> StoreResult<Option<PgRow>> {
        sqlx::query_with(AssertSqlSafe(sql), values)
            .fetch_optional(&self.pool)
            .await
            .map_err(map_err("row"))
    }

    async fn fetch_all(&self, (sql, values): (String, SqlxValues)) -> StoreResult<Vec<PgRow>> {
        sqlx::query_with(AssertSqlSafe(sql), values)
            .fetch_all(&self.pool)
            .await
            .map_err(map_err("row"))
    }

    async fn execute(
        &self,
        (sql, values): (String, SqlxValues),
        what: &'static str,
    ) -> StoreResult<PgQueryResult> {
        sqlx::query_with(AssertSqlSafe(sql), values)
            .execute(&self.pool)
            .await
            .map_err(map_err(what))
    }
}

/// Renders a statement for Postgres.
fn sql<S: SqlxBinder>(statement: &S) -> (String, SqlxValues) {
    statement.build_sqlx(PostgresQueryBuilder)
}

/// Runs one statement inside a transaction.
async fn exec_in<S: SqlxBinder>(
    conn: &mut sqlx::PgConnection,
    statement: &S,
    what: &'static str,
) -> StoreResult<PgQueryResult> {
    let (q, v) = sql(statement);
    sqlx::query_with(AssertSqlSafe(q), v)
        .execute(conn)
        .await
        .map_err(map_err(what))
}

/// SQLSTATEs after which the same call can succeed later: the connection or server went away
/// (class 08, 57P01-57P03), the statement timed out (57014), too many connections (53300), or
/// a serialization failure or deadlock (40001, 40P01).
fn transient(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "57014" | "53300" | "40001" | "40P01"
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

#[async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> StoreResult<()> {
        self.fetch_optional(sql(&super::schema::ping()))
            .await
            .map(|_| ())
    }

    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()> {
        self.insert_role(role, now).await
    }
    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role> {
        self.update_role_permissions(name, permissions, now).await
    }
    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>> {
        self.select_role(name).await
    }
    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>> {
        self.select_roles(names).await
    }
    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>> {
        self.page_roles(page).await
    }
    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32> {
        self.remove_role(name, now).await
    }

    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.insert_user(user).await
    }
    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User> {
        self.replace_user_roles(id, roles).await
    }
    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        self.update_user_disabled(id, disabled).await
    }
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.select_user(super::schema::select_user(id)).await
    }
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.select_user(super::schema::select_user_by_name(name))
            .await
    }
    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        self.page_users(page).await
    }
    async fn count_users(&self) -> StoreResult<u64> {
        self.count_all_users().await
    }

    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()> {
        self.insert_token_rows(std::slice::from_ref(token)).await
    }
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()> {
        self.insert_token_rows(tokens).await
    }
    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>> {
        self.select_token(id).await
    }
    async fn load_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>> {
        self.select_grant(id).await
    }
    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>> {
        self.page_tokens(subject, page).await
    }
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32> {
        self.revoke_one(id, owner, now).await
    }
    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32> {
        self.revoke_all(subject, now).await
    }
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()> {
        self.write_usage(usage).await
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
        for code in ["08006", "08001", "57P01", "57014", "53300", "40001"] {
            assert!(transient(code), "{code}");
        }
        for code in ["23505", "42601", "22P02"] {
            assert!(!transient(code), "{code}");
        }
    }
}
