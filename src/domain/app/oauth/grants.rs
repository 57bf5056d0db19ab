//! Connections: the live grants of a user or an app ("installed apps"), and how they end:
//! by an admin revoking an app, by a user disconnecting one, or by a reuse that reveals a
//! stolen code or refresh token.

use super::super::{App, Caller, perms};
use crate::domain::audit::{action, recorded};
use crate::domain::error::{Error, Result};
use crate::domain::model::{Page, PageRequest};
use crate::domain::oauth_client as rules;
use crate::domain::oauth_grant::OAuthGrant;
use crate::domain::ports::GrantFilter;

/// What a revocation of app access names.
#[derive(Debug, Clone)]
pub enum GrantTarget {
    /// Everything issued to an app: its grants, their tokens and its own tokens.
    Client(String),
    /// One user's connection to one app.
    Grant { client_id: String, subject: String },
}

impl App {
    /// Revokes a grant and its tokens, for a reason that goes to the log.
    pub(in crate::domain::app) async fn end_grant(&self, grant_id: &str, why: &str) -> Result<u32> {
        let revoked = self.store.revoke_grant(grant_id, self.clock.now()).await?;
        if let Some(grant) = self.store.get_grant(grant_id).await? {
            self.invalidate_client(&grant.client_id);
        }
        tracing::warn!(grant_id, revoked, reason = why, "grant revoked");
        Ok(revoked)
    }

    /// Ends a grant whose code or refresh token was presented again (`what`: its audit
    /// action): the whole family, recorded as the refusal it is.
    pub(in crate::domain::app) async fn end_reused_grant(
        &self,
        client_id: &str,
        grant_id: &str,
        what: &str,
    ) -> Result<u32> {
        let event = self
            .unauthenticated_event(what)
            .by("", client_id, "client")
            .on("grant", grant_id)
            .failed();
        let why = match what {
            action::CODE_REUSE => "authorization code reused",
            _ => "refresh token reused",
        };
        recorded(event, self.end_grant(grant_id, why)).await
    }

    /// Live grants. Your own need no permission; anyone else's need `tessera:clients:read`.
    /// With no subject and no such permission, the caller's own.
    pub async fn list_grants(
        &self,
        caller: &Caller,
        mut filter: GrantFilter,
        page: &PageRequest,
    ) -> Result<Page<OAuthGrant>> {
        if let Some(client_id) = &filter.client_id {
            rules::client_id("client_id", client_id)?;
        }
        let own = caller.user_id();
        match filter.subject.as_deref() {
            Some(s) if s == own => {}
            None if !caller.has(perms::CLIENTS_READ) => filter.subject = Some(own.to_owned()),
            _ => caller.require(perms::CLIENTS_READ)?,
        }
        Ok(self
            .store
            .list_grants(&filter, self.clock.now(), page)
            .await?)
    }

    /// Revokes an app's access: all of it (`tessera:clients:write` or
    /// `tessera:tokens:revoke`), or one user's connection (your own: as for your tokens).
    pub(in crate::domain::app) async fn revoke_app(
        &self,
        caller: &Caller,
        target: GrantTarget,
    ) -> Result<u32> {
        caller.require_writable()?;
        let admin = caller.has(perms::CLIENTS_WRITE) || caller.has(perms::TOKENS_REVOKE);
        let (client_id, subject) = match &target {
            GrantTarget::Client(id) => (id.as_str(), None),
            GrantTarget::Grant { client_id, subject } => {
                (client_id.as_str(), Some(subject.as_str()))
            }
        };
        rules::client_id("client_id", client_id)?;
        match subject {
            Some("") => return Err(Error::invalid("grant.subject", "must not be empty")),
            Some(s) if s == caller.user_id() && caller.manages_own_tokens() => {}
            _ if admin => {}
            _ => {
                return Err(Error::denied(format!(
                    "caller lacks {} or {}",
                    perms::CLIENTS_WRITE,
                    perms::TOKENS_REVOKE
                )));
            }
        }
        let revoked = self
            .store
            .revoke_client_grants(client_id, subject, self.clock.now())
            .await?;
        if revoked > 0 {
            self.invalidate_client(client_id);
        }
        tracing::info!(client_id, revoked, "app access revoked");
        Ok(revoked)
    }
}
