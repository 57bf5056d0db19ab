//! The ports: what the use cases need from persistence, in domain types only.
//!
//! `store` implements them (SQLite and Postgres); nothing here knows SQL. One trait per
//! entity keeps each short; [`Store`] is all of them, which is what the application holds.
//! Every entity will one day belong to a workspace (a tenant): no port assumes a single
//! global namespace beyond what today's keys (role names, user names) already are.

mod audit;
mod changes;
mod clients;
mod credentials;
mod error;
mod oauth;
mod retention;
mod roles;
mod signing_keys;
mod tokens;
mod users;

pub use audit::AuditStore;
pub use changes::ChangeSink;
pub use clients::ClientStore;
pub use credentials::CredentialStore;
pub use error::{Entity, StoreError, StoreResult};
pub use oauth::{GrantFilter, OAuthStore};
pub use retention::{Prunable, RetentionStore};
pub use roles::RoleStore;
pub use signing_keys::SigningKeyStore;
pub use tokens::TokenStore;
pub use users::UserStore;

use async_trait::async_trait;

/// Whether the store can serve, read side and write side apart: a full disk still answers
/// checks but can take no new token.
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// A real read of the tables the check path uses (not just `SELECT 1`), so a lock or a
    /// missing table shows here.
    async fn probe_reads(&self) -> StoreResult<()>;
    /// A real, committed write.
    async fn probe_writes(&self, now: crate::domain::clock::Millis) -> StoreResult<()>;
}

/// Every port a store implements.
pub trait Store:
    RoleStore
    + UserStore
    + TokenStore
    + CredentialStore
    + SigningKeyStore
    + ClientStore
    + OAuthStore
    + RetentionStore
    + AuditStore
    + StoreHealth
    + 'static
{
}

impl<T> Store for T where
    T: RoleStore
        + UserStore
        + TokenStore
        + CredentialStore
        + SigningKeyStore
        + ClientStore
        + OAuthStore
        + RetentionStore
        + AuditStore
        + StoreHealth
        + 'static
{
}
