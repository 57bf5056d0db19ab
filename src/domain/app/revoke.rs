//! Revoke (RFC 7009): unknown or already revoked targets succeed with 0, revealing nothing.

use super::{App, Caller, perms};
use crate::domain::audit::{Event, action, recorded};
use crate::domain::error::{Error, Result};
use crate::domain::model::TokenRecord;
use crate::domain::token_format;
use crate::domain::validate;

#[derive(Clone)]
pub enum RevokeTarget {
    /// A token's secret: whoever presents it may revoke it.
    Token(String),
    /// A token's public id.
    TokenId(String),
    /// Every token of a user.
    Subject(String),
    /// An app's access: all of it, or one user's connection (see `oauth::grants`).
    App(super::oauth::GrantTarget),
}

impl std::fmt::Debug for RevokeTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevokeTarget::Token(_) => f.write_str("Token(<redacted>)"),
            RevokeTarget::TokenId(id) => f.debug_tuple("TokenId").field(id).finish(),
            RevokeTarget::Subject(s) => f.debug_tuple("Subject").field(s).finish(),
            RevokeTarget::App(t) => f.debug_tuple("App").field(t).finish(),
        }
    }
}

impl App {
    /// Returns how many tokens this call revoked, after the store committed. A call that
    /// changed no row invalidates nothing: revoking random ids must not empty the cache.
    ///
    /// A credential may always revoke itself, read-only or not. Its owner's other tokens
    /// need `tessera:tokens:self` (anyone's: `tessera:tokens:revoke`).
    pub async fn revoke(&self, caller: &Caller, target: RevokeTarget) -> Result<u32> {
        let event = revoke_event(self.event(caller, action::TOKEN_REVOKE), &target);
        recorded(event, self.revoke_unrecorded(caller, target)).await
    }

    async fn revoke_unrecorded(&self, caller: &Caller, target: RevokeTarget) -> Result<u32> {
        let itself = match &target {
            RevokeTarget::TokenId(id) => id == caller.token_id(),
            RevokeTarget::Token(text) => token_format::parse_presented(text)
                .is_some_and(|parsed| parsed.id == caller.token_id()),
            RevokeTarget::Subject(_) | RevokeTarget::App(_) => false,
        };
        if !itself {
            caller.require_writable()?;
        }
        let now = self.clock.now();
        match target {
            RevokeTarget::Token(text) => {
                if text.is_empty() {
                    return Err(Error::invalid("token", "must not be empty"));
                }
                self.revoke_secret(&text, |_| true).await
            }
            RevokeTarget::TokenId(id) => {
                validate::token_id("token_id", &id)?;
                tracing::Span::current().record("token_id", id.as_str());
                // Without tessera:tokens:revoke only the caller's own tokens match, so an
                // unknown id and someone else's id both answer 0: nothing is revealed.
                if !itself && !caller.has(perms::TOKENS_REVOKE) && !caller.manages_own_tokens() {
                    caller.require(perms::TOKENS_SELF)?;
                }
                let owner = (!caller.has(perms::TOKENS_REVOKE)).then_some(caller.user_id());
                if let Some(rec) = self.store.get_token(&id).await?
                    && rec.revoked_at.is_none()
                    && owner.is_none_or(|o| o == rec.subject)
                    && let Some(grant) = refresh_grant(&rec)
                {
                    return self.end_grant(grant, "refresh token revoked").await;
                }
                let revoked = self.store.revoke_token(&id, owner, now).await?;
                if revoked > 0 {
                    self.invalidate_lineage(&id);
                }
                Ok(revoked)
            }
            RevokeTarget::Subject(subject) => {
                if subject.is_empty() {
                    return Err(Error::invalid("subject", "must not be empty"));
                }
                if subject != caller.user_id() || !caller.manages_own_tokens() {
                    caller.require(perms::TOKENS_REVOKE)?;
                }
                let revoked = self.store.revoke_subject(&subject, now).await?;
                if revoked > 0 {
                    self.invalidate_user(&subject);
                }
                Ok(revoked)
            }
            RevokeTarget::App(target) => self.revoke_app(caller, target).await,
        }
    }

    /// Revokes the token whose secret is `text`, when `allowed` says so of its record (and a
    /// refresh token's family); 0 for anything else, as RFC 7009 §2.2 answers unknown
    /// tokens. Only the real secret revokes: a guessed id with a forged checksum does not.
    pub(super) async fn revoke_secret(
        &self,
        text: &str,
        allowed: impl Fn(&crate::domain::model::TokenRecord) -> bool,
    ) -> Result<u32> {
        let Some(parsed) = token_format::parse_presented(text) else {
            return Ok(0);
        };
        let rec = match self.store.get_token(&parsed.id).await? {
            Some(rec) if allowed(&rec) && self.hasher.verify(parsed.text, &rec.secret_hash) => rec,
            _ => return Ok(0),
        };
        if let Some(grant) = refresh_grant(&rec) {
            return self.end_grant(grant, "refresh token revoked").await;
        }
        let revoked = self
            .store
            .revoke_token(&rec.id, None, self.clock.now())
            .await?;
        if revoked > 0 {
            self.invalidate_lineage(&rec.id);
        }
        Ok(revoked)
    }
}

/// A revoke event naming its target: ids only, so a token given by its secret is named by
/// the id its text carries (the secret itself is never kept). An unknown id writes nothing,
/// so leaves no event.
pub(super) fn revoke_event(event: Event, target: &RevokeTarget) -> Event {
    match target {
        RevokeTarget::Token(text) => match token_format::parse_presented(text) {
            Some(parsed) => event.on("token", &parsed.id),
            None => event,
        },
        RevokeTarget::TokenId(id) => event.on("token", id),
        RevokeTarget::Subject(subject) => event.on("user", subject).with("all_tokens", true),
        RevokeTarget::App(super::oauth::GrantTarget::Client(id)) => event.on("client", id),
        RevokeTarget::App(super::oauth::GrantTarget::Grant { client_id, subject }) => {
            event.on("client", client_id).with("subject", subject)
        }
    }
}

/// RFC 7009 §2.1: revoking a refresh token revokes its whole family (the grant and every
/// token issued from it, the refresh token among them), in the grant's one store
/// transaction, so no crash between two writes can leave the family's access tokens live.
/// Other tokens end alone (with what was derived from them).
fn refresh_grant(rec: &TokenRecord) -> Option<&str> {
    match (&rec.grant_id, rec.kind) {
        (Some(grant), token_format::TokenKind::OAuthRefresh) => Some(grant),
        _ => None,
    }
}
