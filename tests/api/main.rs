//! The integration suite on SQLite: every test starts the real server on 127.0.0.1:0 over
//! its own temporary SQLite file and calls it through the generated clients.
//! `tests/postgres` runs these same modules against Postgres.

/// The backend every `spawn_app()` in this binary uses.
const BACKEND: db::Kind = db::Kind::Sqlite;

mod accounts;
mod acting_as;
mod audit;
mod audit_actions;
mod audit_log;
mod bad_input;
mod batched_writes;
mod browser;
mod browser_flow;
mod cache;
mod callers;
mod cli;
mod cli_apps;
mod cli_session;
mod client_secrets;
mod clients;
mod connections;
mod counting_store;
mod db;
mod discovery;
mod disk_full;
mod envoy_authz;
mod escalation;
mod escalation_property;
mod files_at_rest;
mod floods;
mod helpers;
mod input_hygiene;
mod lifecycle;
mod lineage;
mod login_flood;
mod logins;
mod metrics;
mod oauth_apps;
mod oauth_codes;
mod oauth_connections;
mod oauth_errors;
mod oauth_flow;
mod oauth_tokens;
mod overload;
mod pat_rule;
mod permissions;
mod process;
mod raw;
mod requests;
mod retention;
mod revoke;
mod role_identity;
mod rotate;
mod scale;
mod secret_key;
mod serve_process;
mod sessions;
mod signin_pages;
mod signin_refusals;
mod store_contract;
mod tls;
mod tls_certs;
mod totp;
mod usage_flush;
