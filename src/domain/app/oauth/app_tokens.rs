//! What an app may do with the tokens issued to it, authenticated as itself: revoke them
//! (RFC 7009) and introspect them (RFC 7662). Another app's tokens, or a user's own, are
//! to it as unknown tokens.

use super::super::{App, Introspection, RevokeTarget};
use crate::domain::audit::{action, recorded};
use crate::domain::error::Result;
use crate::domain::oauth_client::OAuthClient;

impl App {
    /// Revokes `token` when it was issued to `client` (a refresh token with its family);
    /// 0 for anything else, as RFC 7009 §2.2 answers unknown tokens.
    pub async fn revoke_as_client(&self, client: &OAuthClient, token: &str) -> Result<u32> {
        let event = self
            .unauthenticated_event(action::TOKEN_REVOKE)
            .by("", &client.id, "client");
        let event = super::super::revoke::revoke_event(event, &RevokeTarget::Token(token.into()));
        let revoke = self.revoke_secret(token, |rec| {
            rec.client_id.as_deref() == Some(client.id.as_str())
        });
        recorded(event, revoke).await
    }

    /// Introspects `token` for the client it was issued to; `None` (inactive) otherwise.
    pub async fn introspect_as_client(
        &self,
        client: &OAuthClient,
        token: &str,
    ) -> Result<Option<Introspection>> {
        let Some(active) = self.resolve(token).await? else {
            return Ok(None);
        };
        if active.record.client_id.as_deref() != Some(client.id.as_str()) {
            return Ok(None);
        }
        Ok(Some(Introspection::of(&active).await?))
    }

    /// A user's name, for RFC 7662's `username`. Read once per user: a name never changes,
    /// so an introspection costs no store read once the token and its user are known.
    pub async fn user_name(&self, id: &str) -> Result<Option<String>> {
        if let Some(name) = self.user_names.get(id) {
            return Ok(Some(name));
        }
        let name = self.store.get_user(id).await?.map(|u| u.name);
        if let Some(name) = &name {
            self.user_names.put(id, name);
        }
        Ok(name)
    }
}
