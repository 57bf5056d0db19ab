//! The integration suite on Postgres: the same test modules as `tests/api`, each test on its
//! own fresh database on the server at `TESSERA_TEST_POSTGRES_URL`, plus what only a shared
//! database has: several replicas, and the database going away.
//!
//! Always compiled (so `cargo clippy --all-targets` checks it). Without the variable, the
//! first test to ask for a database prints that the Postgres half is SKIPPED and ends this
//! binary successfully (`.ci/run` always sets it).

const BACKEND: db::Kind = db::Kind::Postgres;

#[path = "../api"]
mod shared {
    pub mod acting_as;
    pub mod audit;
    pub mod audit_actions;
    pub mod bad_input;
    pub mod batched_writes;
    pub mod browser;
    pub mod cache;
    pub mod callers;
    pub mod client_secrets;
    pub mod clients;
    pub mod connections;
    pub mod discovery;
    pub mod envoy_authz;
    pub mod escalation;
    pub mod input_hygiene;
    pub mod lifecycle;
    pub mod lineage;
    pub mod logins;
    pub mod oauth_apps;
    pub mod oauth_codes;
    pub mod oauth_connections;
    pub mod oauth_errors;
    pub mod oauth_flow;
    pub mod oauth_tokens;
    pub mod overload;
    pub mod pat_rule;
    pub mod permissions;
    pub mod retention;
    pub mod revoke;
    pub mod role_identity;
    pub mod rotate;
    pub mod scale;
    pub mod sessions;
    pub mod signin_pages;
    pub mod signin_refusals;
    pub mod store_contract;
    pub mod totp;
}

#[path = "../api/accounts.rs"]
mod accounts;
#[path = "../api/counting_store.rs"]
mod counting_store;
#[path = "../api/db.rs"]
mod db;
#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/metrics.rs"]
mod metrics;
#[path = "../api/raw.rs"]
mod raw;
#[path = "../api/requests.rs"]
mod requests;
#[path = "../api/serve_process.rs"]
mod serve_process;

mod concurrency;
mod envoy_outage;
mod faults;
mod feed_metrics;
mod grant_race;
mod oauth_outage;
mod propagation;
mod proxy;
mod replicas;
mod scale;
mod silent;
