//! Rotate: a new secret for an API key or a PAT, under a new id, with what the old one has
//! (name, kind, scopes or role, subject, read-only flag, expiry). The product's reference
//! says a key's scopes are fixed at creation: "issue a new key (or rotate) to change them";
//! rotating is how a leaked or ageing secret is replaced without a gap. The old secret keeps
//! working for the overlap (0 by default: revoked at once), then its expiry ends it, and the
//! tokens derived from it with it.
//!
//! The caller needs the rights to revoke the old token and to issue the new one (every rule
//! of `issue`: the escalation cap, act-as, the PAT rule). A rotation never narrows silently:
//! a caller who could issue less than the old token holds now is refused.

use std::time::Duration;

use super::lineage::MAX_DEPTH;
use super::{App, Caller, Issued, TokenSpec, perms};
use crate::domain::audit::{action, recorded};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::token_format::TokenKind;
use crate::domain::validate;

/// Longest overlap: long enough to roll the new secret out, too short to keep two.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::from_secs(7 * 24 * 3600);

impl App {
    pub async fn rotate(
        &self,
        caller: &Caller,
        token_id: &str,
        overlap: Option<Duration>,
    ) -> Result<Issued> {
        caller.require_writable()?;
        validate::token_id("token_id", token_id)?;
        let overlap = overlap.unwrap_or_default();
        if overlap > MAX_ROTATION_OVERLAP {
            return Err(Error::invalid("overlap", "at most 7 days"));
        }
        // Someone else's token, to a caller that may not revoke it, is as unknown as no
        // token: nothing is revealed.
        let hidden = || Error::NotFound(format!("token {token_id:?}"));
        let old = self.store.get_token(token_id).await?.ok_or_else(hidden)?;
        let own = old.subject == caller.user_id();
        let may_revoke = old.id == caller.token_id()
            || (own && caller.manages_own_tokens())
            || caller.has(perms::TOKENS_REVOKE);
        if !may_revoke {
            return Err(hidden());
        }
        let now = self.clock.now();
        let spec = match old.kind {
            TokenKind::ApiKey => TokenSpec::ApiKey {
                name: old.name.clone(),
                scopes: old.scopes.to_strings(),
                read_only: old.read_only,
                ttl: None,
                subject: old.subject.clone(),
            },
            // A PAT always belongs to whoever mints it.
            TokenKind::Pat if own => TokenSpec::Pat {
                name: old.name.clone(),
                role: old.role.clone().unwrap_or_default(),
                read_only: old.read_only,
                ttl: None,
            },
            TokenKind::Pat => return Err(Error::denied("a PAT is rotated by its owner only")),
            _ => {
                return Err(Error::invalid(
                    "token_id",
                    "only API keys and PATs rotate: a session ends, an OAuth token is refreshed",
                ));
            }
        };
        let found = self
            .load(&old.id, self.clock.monotonic(), MAX_DEPTH)
            .await?;
        let Some(active) = found.token.filter(|t| t.is_active(now)) else {
            return Err(Error::FailedPrecondition(format!(
                "token {token_id:?} is not active"
            )));
        };
        // A credential derived from the old token would mint a successor that ends with it.
        if old.id != caller.token_id() && caller.descends_from(&old.id) {
            return Err(Error::FailedPrecondition(
                "a token derived from this one cannot rotate it: rotate it with itself or \
                 with a credential it does not derive from"
                    .to_owned(),
            ));
        }
        let end_at = (!overlap.is_zero())
            .then(|| now.saturating_add(i64::try_from(overlap.as_millis()).unwrap_or(i64::MAX)));
        let Some(issued) = self.reissue(caller, spec, &active, end_at).await? else {
            return Err(Error::FailedPrecondition(format!(
                "token {token_id:?} is not active"
            )));
        };
        self.invalidate_lineage(&old.id);
        tracing::info!(old = %old.id, new = %issued.token_id, overlap_s = overlap.as_secs(), "token rotated");
        Ok(issued)
    }
}

impl App {
    /// `old` issued again by `caller` under a new id, in one store transaction with the
    /// old one's end (see `rotate`): every rule of `issue`, refused unless the caller could
    /// issue all the old token holds now (`old_now`), and never more than that: the
    /// successor is capped at it and ends when the old one would have. A token rotating
    /// itself is succeeded in its place under its parent, instead of deriving from itself.
    /// `None` when the old token stopped being live meanwhile.
    pub(super) async fn reissue(
        &self,
        caller: &Caller,
        grant: TokenSpec,
        old_now: &super::auth_cache::ResolvedToken,
        end_at: Option<Millis>,
    ) -> Result<Option<Issued>> {
        let old = &old_now.record;
        let mut plan = self.plan(caller, grant).await?;
        if old.kind == TokenKind::Pat && plan.role_id != old.role_id {
            return Err(Error::FailedPrecondition(
                "the PAT's role was deleted and made again since: issue a new PAT".to_owned(),
            ));
        }
        if let Some(short) = old_now.effective.iter().find(|p| !plan.effective.covers(p)) {
            return Err(Error::denied(format!(
                "the caller cannot issue all this token holds ({short} among it)"
            )));
        }
        if old.id == caller.token_id() {
            plan.created_by = old.created_by.clone();
        }
        plan.cap = Some(old_now.effective.clone());
        plan.effective = old_now.effective.clone();
        plan.ttl = None;
        plan.expires_cap = match (old_now.expires_at, plan.expires_cap) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let now = self.clock.now();
        let (record, secret) = self.record_of(&plan, now)?;
        let limit = self.limits.max_tokens_per_user;
        let event = self
            .event(caller, action::TOKEN_ROTATE)
            .on("token", &old.id)
            .with("new_token_id", &record.id)
            .with("overlap_ms", end_at.map_or(0, |at| at.saturating_sub(now)));
        let write = self
            .store
            .rotate_token(&old.id, end_at, now, &record, limit);
        if recorded(event, write).await?.is_none() {
            return Ok(None);
        }
        self.invalidate_token(&record.id);
        self.issued(plan, record, secret).await.map(Some)
    }
}
