//! Every statement tessera runs, written once with sea-query for all SQL dialects, one file
//! per entity. A backend renders these with its own query builder; no SQL is written per
//! dialect.

pub mod audit;
pub mod batched;
pub mod changes;
pub mod clients;
pub mod credentials;
pub mod oauth;
pub mod retention;
pub mod roles;
pub mod signing_keys;
pub mod token_ends;
pub mod tokens;
pub mod users;

use sea_query::{Expr, Query, SelectStatement};

pub fn ping() -> SelectStatement {
    Query::select().expr(Expr::val(1)).to_owned()
}
