//! The integration suite on Postgres: the same test modules as `tests/api`, each test on its
//! own fresh database on the server at `TESSERA_TEST_POSTGRES_URL`, plus what only a shared
//! database has: several replicas, and the database going away.
//!
//! Without the variable this binary holds one test that says the Postgres half was skipped
//! (`.ci/run` always sets it). `build.rs` turns the variable into `cfg(tessera_postgres_tests)`.

#[cfg(tessera_postgres_tests)]
const BACKEND: db::Kind = db::Kind::Postgres;

#[cfg(tessera_postgres_tests)]
#[path = "../api"]
mod shared {
    pub mod bad_input;
    pub mod cache;
    pub mod callers;
    pub mod discovery;
    pub mod lifecycle;
    pub mod permissions;
    pub mod revoke;
}

#[cfg(tessera_postgres_tests)]
#[path = "../api/counting_store.rs"]
mod counting_store;
#[cfg(tessera_postgres_tests)]
#[path = "../api/db.rs"]
mod db;
#[cfg(tessera_postgres_tests)]
#[path = "../api/helpers.rs"]
mod helpers;
#[cfg(tessera_postgres_tests)]
#[path = "../api/serve_process.rs"]
mod serve_process;

#[cfg(tessera_postgres_tests)]
mod concurrency;
#[cfg(tessera_postgres_tests)]
mod faults;
#[cfg(tessera_postgres_tests)]
mod propagation;
#[cfg(tessera_postgres_tests)]
mod proxy;
#[cfg(tessera_postgres_tests)]
mod replicas;

#[cfg(not(tessera_postgres_tests))]
#[test]
fn postgres_skipped_because_tessera_test_postgres_url_is_unset() {
    use std::io::Write;
    // Straight to stderr, past the test harness's capture, so `cargo test` shows it.
    let _ = writeln!(
        std::io::stderr(),
        "Postgres tests SKIPPED: set TESSERA_TEST_POSTGRES_URL (e.g. \
         postgres://postgres@127.0.0.1:5432/postgres) to run the suite on Postgres too"
    );
}
