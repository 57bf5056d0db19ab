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
    /// A SQLite file in a fresh directory under `parent` (a small disk, say). Used by the
    /// SQLite binary only.
    #[allow(dead_code)]
    pub fn sqlite_in(parent: &std::path::Path) -> TestDb {
        let dir = tempfile::tempdir_in(parent).expect("temp dir");
        TestDb {
            url: format!("sqlite://{}", dir.path().join("tessera.db").display()),
            _dir: dir,
            postgres: None,
        }
    }

    pub async fn fresh() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        match crate::BACKEND {
            Kind::Sqlite => TestDb {
                url: format!("sqlite://{}", dir.path().join("tessera.db").display()),
                _dir: dir,
                postgres: None,
            },
            Kind::Postgres => {
                let server_url = postgres_server_url();
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

/// The Postgres server the tests use. Without one, this whole binary is skipped: said
/// loudly on stderr (past the harness's capture), then ended with success, since none of
/// its tests can run.
pub fn postgres_server_url() -> String {
    match std::env::var(POSTGRES_URL_ENV) {
        Ok(url) if !url.is_empty() => url,
        _ => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "Postgres tests SKIPPED: set {POSTGRES_URL_ENV} (e.g. \
                 postgres://postgres@127.0.0.1:5432/postgres) to run the suite on Postgres too"
            );
            std::process::exit(0);
        }
    }
}

/// Opens (and migrates) the store at `url`, as `serve` would.
pub async fn open(url: &str) -> Backend {
    open_with(url, &settings()).await
}

/// Opens (and migrates) the store at `url` with `settings` otherwise.
pub async fn open_with(url: &str, settings: &StoreSettings) -> Backend {
    let settings = StoreSettings {
        database_url: url.to_owned(),
        ..settings.clone()
    };
    let backend = Backend::open(&settings).await.expect("open store");
    backend.migrate().await.expect("migrate");
    backend
}

/// The settings tests use; the URL is set by `open_with`. The change feed polls often, so
/// a missed notice shows within a test's patience.
pub fn settings() -> StoreSettings {
    StoreSettings {
        change_poll_interval: std::time::Duration::from_millis(200),
        ..StoreSettings::new("")
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
