//! How an app proves who it is at the token, revocation and introspection endpoints: a
//! confidential client by its secret (current, or the previous one within its grace), a
//! public client by its id alone.

use super::super::App;
use crate::domain::error::{Error, Result};
use crate::domain::oauth_client::{ClientType, OAuthClient};
use crate::domain::oauth_grant::OAuthErrorCode;
use crate::domain::token_format;

/// The credentials a client presented, however they travelled (Basic, form, gRPC fields).
#[derive(Clone, Default)]
pub struct ClientAuth {
    pub client_id: String,
    /// Empty: none presented.
    pub client_secret: String,
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("client_secret", &!self.client_secret.is_empty())
            .finish()
    }
}

/// One answer for every failure, so that a caller learns nothing about which ids exist.
fn refused() -> Error {
    Error::oauth(
        OAuthErrorCode::InvalidClient,
        "client authentication failed",
    )
}

impl App {
    /// The client, when its credentials hold and it is enabled; `invalid_client` else.
    pub async fn authenticate_client(&self, auth: &ClientAuth) -> Result<OAuthClient> {
        if auth.client_id.is_empty() {
            return Err(Error::oauth(
                OAuthErrorCode::InvalidClient,
                "client_id is required",
            ));
        }
        if crate::domain::oauth_client::client_id("client_id", &auth.client_id).is_err() {
            return Err(refused());
        }
        let at = self.clock.monotonic();
        let entry = match self.clients.get(&auth.client_id, at) {
            Some(entry) => entry,
            None => {
                let generation = self.clients.generation();
                let Some(found) = self.store.client_with_secrets(&auth.client_id).await? else {
                    return Err(refused());
                };
                let entry = std::sync::Arc::new(found);
                self.clients
                    .put(&auth.client_id, entry.clone(), at, generation);
                entry
            }
        };
        let (client, secrets) = (entry.0.clone(), &entry.1);
        if client.disabled {
            return Err(refused());
        }
        match client.client_type {
            // A public client has no secret to present; one that sends a secret anyway is
            // not the app that was registered.
            ClientType::Public if auth.client_secret.is_empty() => Ok(client),
            ClientType::Public => Err(refused()),
            ClientType::Confidential => {
                let presented = auth.client_secret.as_str();
                if !token_format::is_client_secret(presented) {
                    return Err(refused());
                }
                let now = self.clock.now();
                let matched = secrets.valid_at(now).fold(false, |ok, stored| {
                    self.hasher.verify(presented, stored) | ok
                });
                match matched {
                    true => Ok(client),
                    false => Err(refused()),
                }
            }
        }
    }
}
