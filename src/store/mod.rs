//! Persistence: the domain's ports ([`crate::domain::ports`]) implemented once in SQL for
//! SQLite and Postgres.
//!
//! - [`sql`]: the generic store, its backend trait, rows and every statement (per entity);
//! - [`sqlite`] and [`postgres`]: what only one backend has (pools, SQLite's group commit
//!   and direct read, Postgres's change feed);
//! - [`Backend`]: the open store, chosen by the URL in one [`StoreSettings`];
//! - [`metered`]: any store, counted for the metrics.
//!
//! No sqlx, sea-query or proto types leak out: callers see domain types and
//! [`StoreError`](crate::domain::ports::StoreError) only.

mod metered;
mod open;
pub mod postgres;
mod settings;
pub mod sql;
pub mod sqlite;

pub use metered::metered;
pub use open::{Backend, ChangeFeed, OpenError};
pub use settings::{StoreSettings, redact_url};
