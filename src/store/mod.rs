//! Persistence behind one trait, so SQLite, Postgres and a cache in front of either are
//! interchangeable.
//!
//! The trait speaks domain types and [`StoreError`] only: no sqlx, sea-query or proto types
//! leak out. Each backend turns constraint violations into `AlreadyExists` / `InUse` itself.

mod open;
pub mod postgres;
mod rows;
pub mod schema;
pub mod sqlite;

pub use open::{Backend, OpenError, StoreSettings};

use async_trait::async_trait;

use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest, Role, TokenGrant, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;

/// What can go wrong in a store, in terms a caller can act on.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The entity is still referenced (a role held by a user).
    #[error("{0}")]
    InUse(String),
    /// A page token this store did not make.
    #[error("invalid page token")]
    InvalidCursor,
    /// The database cannot be reached or timed out.
    #[error("store unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("store error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Where a store reports changes committed elsewhere (another replica, a direct edit), so a
/// cache in front of it can drop what they make stale.
pub trait ChangeSink: Send + Sync {
    /// One token's record changed or was deleted.
    fn token_changed(&self, id: &str);
    /// Something wider changed (a role, a user's roles or state), or changes may have been
    /// missed: nothing cached can be trusted.
    fn everything_changed(&self);
}

/// Every read and write tessera makes. Writes that touch several rows are atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Cheap round trip proving the store answers (for health).
    async fn ping(&self) -> StoreResult<()>;

    async fn create_role(&self, role: &Role, now: Millis) -> StoreResult<()>;
    /// Replaces a role's permissions; `NotFound` when it does not exist.
    async fn set_role_permissions(
        &self,
        name: &str,
        permissions: &PermissionSet,
        now: Millis,
    ) -> StoreResult<Role>;
    async fn get_role(&self, name: &str) -> StoreResult<Option<Role>>;
    /// Roles by name; missing names are left out.
    async fn get_roles(&self, names: &[String]) -> StoreResult<Vec<Role>>;
    async fn list_roles(&self, page: &PageRequest) -> StoreResult<Page<Role>>;
    /// `InUse` while a user holds the role, `NotFound` when absent. In the same transaction,
    /// revokes the PATs bound to it, so a role later created under the same name does not
    /// bring them back. Returns how many PATs were revoked.
    async fn delete_role(&self, name: &str, now: Millis) -> StoreResult<u32>;

    /// `AlreadyExists` on a taken name, `NotFound` on an unknown role.
    async fn create_user(&self, user: &User) -> StoreResult<()>;
    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User>;
    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User>;
    async fn get_user(&self, id: &str) -> StoreResult<Option<User>>;
    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>>;
    async fn count_users(&self) -> StoreResult<u64>;

    /// `AlreadyExists` if the id is taken.
    async fn insert_token(&self, token: &TokenRecord) -> StoreResult<()>;
    /// Inserts many tokens in one transaction (bulk seeding and imports).
    async fn insert_tokens(&self, tokens: &[TokenRecord]) -> StoreResult<()>;
    async fn get_token(&self, id: &str) -> StoreResult<Option<TokenRecord>>;
    /// A token, its owner's state and roles, and its bound role, in one round trip: the
    /// check path's only read.
    async fn load_grant(&self, id: &str) -> StoreResult<Option<TokenGrant>>;
    /// Tokens of one subject, oldest first.
    async fn list_tokens(
        &self,
        subject: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<TokenRecord>>;
    /// Revokes one live token; with `owner`, only if it belongs to that user.
    /// Returns how many rows changed (0 or 1). Returns after a durable commit.
    async fn revoke_token(&self, id: &str, owner: Option<&str>, now: Millis) -> StoreResult<u32>;
    /// Revokes every live token of a user.
    async fn revoke_subject(&self, subject: &str, now: Millis) -> StoreResult<u32>;
    /// Writes a batch of `last_used_at` values, never moving one backwards.
    async fn record_usage(&self, usage: &[(String, Millis)]) -> StoreResult<()>;
}
