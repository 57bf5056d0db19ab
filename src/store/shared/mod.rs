//! The SQL both backends share: statement running, roles, users, tokens and the `Store` impl.
//!
//! One text, compiled once inside each backend module (`sqlite`, `postgres`) through
//! `#[path]`, so the two cannot drift apart. The backend module provides, under these names,
//! its store type `Db`, its row, result and connection types, its query builder `BUILDER`,
//! `map_err`, a `deadline()` for each call, and `insert_one`, the one write whose strategy
//! differs (SQLite batches inserts into group commits, Postgres writes each at once), and
//! `read_grant`, the check path's read (SQLite makes it on the calling thread when it can).

mod exec;
mod roles;
mod store_impl;
mod tokens;
mod users;

// For the backend's own modules (SQLite's writer, Postgres's change feed); each backend
// uses some of them.
#[allow(unused_imports)]
pub(super) use exec::{exec_in, sql};
#[allow(unused_imports)]
pub(super) use tokens::unknown_subject;

use std::sync::Arc;

use super::{BUILDER, Db, DbConnection, DbQueryResult, DbRow, map_err};

/// The check path's statements, rendered once at start-up: building and rendering a
/// sea-query statement costs more than the database executing it.
#[derive(Debug, Clone)]
pub(super) struct HotStatements {
    /// `select_token_grant`, one parameter: the token id.
    pub(super) token_grant: Arc<str>,
    /// `select_token`, one parameter: the token id.
    pub(super) token: Arc<str>,
}

impl HotStatements {
    pub(super) fn render() -> HotStatements {
        let render = |s: sea_query::SelectStatement| -> Arc<str> { s.build(BUILDER).0.into() };
        HotStatements {
            token_grant: render(crate::store::schema::select_token_grant("")),
            token: render(crate::store::schema::select_token("")),
        }
    }
}
