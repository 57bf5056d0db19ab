//! What an app may do with the tokens issued to it, authenticated as itself: revoke them
//! (RFC 7009) and introspect them (RFC 7662). Another app's tokens, or a user's own, are
//! to it as unknown tokens.

use super::super::{App, Introspection};
use crate::domain::error::Result;
use crate::domain::oauth_client::OAuthClient;
use crate::domain::token_format::{self, TokenKind};

impl App {
    /// Revokes `token` when it was issued to `client` (a refresh token with its family);
    /// 0 for anything else, as RFC 7009 §2.2 answers unknown tokens.
    pub async fn revoke_as_client(&self, client: &OAuthClient, token: &str) -> Result<u32> {
        let Some(parsed) = token_format::parse_presented(token)
            .filter(|p| matches!(p.kind, TokenKind::OAuthAccess | TokenKind::OAuthRefresh))
        else {
            return Ok(0);
        };
        let rec = match self.store.get_token(&parsed.id).await? {
            Some(rec)
                if rec.client_id.as_deref() == Some(client.id.as_str())
                    && self.hasher.verify(parsed.text, &rec.secret_hash) =>
            {
                rec
            }
            _ => return Ok(0),
        };
        let revoked = self
            .store
            .revoke_token(&rec.id, None, self.clock.now())
            .await?;
        if revoked > 0 {
            self.invalidate_lineage(&rec.id);
        }
        Ok(revoked + self.end_family_of(&rec).await?)
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

    /// A user's name, for RFC 7662's `username`; `None` for a client's own token.
    pub async fn user_name(&self, id: &str) -> Result<Option<String>> {
        Ok(self.store.get_user(id).await?.map(|u| u.name))
    }
}
