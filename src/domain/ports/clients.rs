//! The port for OAuth clients (the app registry) and their secrets.

use async_trait::async_trait;

use super::StoreResult;
use crate::domain::clock::Millis;
use crate::domain::model::{Page, PageRequest};
use crate::domain::oauth_client::{ClientSecrets, OAuthClient};

#[async_trait]
pub trait ClientStore: Send + Sync {
    /// `Conflict` on a taken id. `secret_hash` for confidential clients only.
    async fn create_client(
        &self,
        client: &OAuthClient,
        secret_hash: Option<&[u8]>,
    ) -> StoreResult<()>;
    async fn get_client(&self, id: &str) -> StoreResult<Option<OAuthClient>>;
    /// A client with the hashes its secret is checked against: for client authentication
    /// only, never listed.
    async fn client_with_secrets(
        &self,
        id: &str,
    ) -> StoreResult<Option<(OAuthClient, ClientSecrets)>>;
    /// Clients by id; the page token is the last id of the previous page.
    async fn list_clients(&self, page: &PageRequest) -> StoreResult<Page<OAuthClient>>;
    /// Replaces name, redirect URIs, scopes and grant types; `NotFound` on an unknown id.
    async fn update_client(&self, client: &OAuthClient) -> StoreResult<OAuthClient>;
    /// Makes `hash` the current secret; the one it replaces keeps working until
    /// `previous_until` when given, else stops at once.
    async fn set_client_secret(
        &self,
        id: &str,
        hash: &[u8],
        previous_until: Option<Millis>,
    ) -> StoreResult<OAuthClient>;
    async fn set_client_disabled(&self, id: &str, disabled: bool) -> StoreResult<OAuthClient>;
    /// Deletes the client and, in the same transaction, revokes every token issued to it
    /// (and what derives from them); returns how many were revoked.
    async fn delete_client(&self, id: &str, now: Millis) -> StoreResult<u32>;
}
