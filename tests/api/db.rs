//! A fresh, empty database for one test, on the backend this test binary runs against
//! (`crate::BACKEND`): a temporary SQLite file, or a new database on the Postgres server at
//! `TESSERA_TEST_POSTGRES_URL`, dropped again when the test ends.

use tempfile::TempDir;
use tessera::store::{Backend, StoreSettings};

/// Each test binary uses one of these.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

pub const POSTGRES_URL_ENV: &str = "TESSERA_TEST_POSTGRES_URL";

/// A database that lives as long as this value.
pub struct TestDb {
    pub url: String,
    /// Holds the SQLite file.
    _dir: TempDir,
    postgres: Option<PostgresDb>,
}

struct PostgresDb {
    server_url: String,
    name: String,
}

impl TestDb {
    pub async fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match crate::BACKEND {
            Kind::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("tessera.db").display()),
                _dir: dir,
                postgres: None,
            },
            Kind::Postgres => {
                let server_url = std::env::var(POSTGRES_URL_ENV)
                    .unwrap_or_else(|_| panic!("{POSTGRES_URL_ENV} must be set"));
                let name = format!(
                    "tessera_test_{}",
                    tessera::domain::token_format::random_base62(12)
                        .expect("random")
                        .to_lowercase()
                );
                admin_sql(&server_url, &format!(r#"CREATE DATABASE "{name}""#)).await;
                TestDb {
                    url: with_database(&server_url, &name),
                    _dir: dir,
                    postgres: Some(PostgresDb { server_url, name }),
                }
            }
        }
    }
}

/// Opens (and migrates) the store at `url`, as `serve` would.
pub async fn open(url: &str) -> Backend {
    open_with(url, &settings()).await
}

pub async fn open_with(url: &str, settings: &StoreSettings) -> Backend {
    let backend = Backend::open(url, settings).await.expect("open store");
    backend.migrate().await.expect("migrate");
    backend
}

pub fn settings() -> StoreSettings {
    StoreSettings {
        pool_size: 4,
        statement_timeout: std::time::Duration::from_secs(5),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(pg) = self.postgres.take() else {
            return;
        };
        // Drop runs outside async code: drop the database from a thread with its own runtime.
        // FORCE ends the connections the test's pools may still hold.
        let sql = format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, pg.name);
        let done = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(admin_sql(&pg.server_url, &sql));
        })
        .join();
        if done.is_err() {
            eprintln!("could not drop a test database");
        }
    }
}

/// Runs one statement on the server's maintenance database.
pub async fn admin_sql(server_url: &str, sql: &str) {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::PgConnection::connect(server_url)
        .await
        .expect("connect to the test Postgres server");
    conn.execute(sqlx::AssertSqlSafe(sql.to_owned()))
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// The server URL with its database name replaced.
pub fn with_database(server_url: &str, name: &str) -> String {
    let (base, query) = match server_url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (server_url, None),
    };
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let prefix = match base[authority_end..].find('/') {
        Some(i) => &base[..authority_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}
