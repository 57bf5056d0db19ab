//! The refresh grant (RFC 6749 §6) with rotation: each refresh token is used once. A
//! consumed one presented again means two parties hold it, so the whole family (every
//! token of its grant) is revoked, as Ory Hydra and fosite do (RFC 9700 §4.14.2).

use super::super::lineage::MAX_DEPTH;
use super::super::{App, Issued, effective};
use super::client_auth::ClientAuth;
use super::mint::grant_event;
use crate::domain::audit::{action, recorded};
use crate::domain::clock::millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::OwnerState;
use crate::domain::oauth_client::GrantType;
use crate::domain::oauth_grant::OAuthErrorCode;
use crate::domain::token_format::{self, TokenKind};
use crate::domain::validate;

/// A `refresh_token` grant.
#[derive(Clone, Default)]
pub struct RefreshRequest {
    pub client: ClientAuth,
    pub refresh_token: String,
    /// Empty: everything the grant holds. Never wider.
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefreshRequest")
            .field("client", &self.client)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

fn bad_grant(why: &str) -> Error {
    Error::oauth(OAuthErrorCode::InvalidGrant, why)
}

const UNKNOWN: &str = "unknown, expired or revoked refresh token";

impl App {
    /// The refresh_token grant (RFC 6749 §6), counted.
    pub async fn refresh(&self, req: RefreshRequest) -> Result<Issued> {
        let outcome = self.refresh_once(req).await;
        self.count_grant("refresh_token", outcome)
    }

    async fn refresh_once(&self, req: RefreshRequest) -> Result<Issued> {
        let client = self.authenticate_client(&req.client).await?;
        if !client.allows(GrantType::RefreshToken) {
            return Err(Error::oauth(
                OAuthErrorCode::UnauthorizedClient,
                "the client may not use refresh_token",
            ));
        }
        if req.refresh_token.is_empty() {
            return Err(Error::oauth(
                OAuthErrorCode::InvalidRequest,
                "refresh_token is required",
            ));
        }
        let parsed = token_format::parse_presented(&req.refresh_token)
            .filter(|p| p.kind == TokenKind::OAuthRefresh)
            .ok_or_else(|| bad_grant(UNKNOWN))?;
        // The check path's own read (one round trip, on SQLite on the calling thread): the
        // token with its user, roles and client now. Not through the cache: a refresh token
        // is used once, and its state must be the store's, not a cached copy's.
        let found = self
            .load(&parsed.id, self.clock.monotonic(), MAX_DEPTH)
            .await?;
        let resolved = match found.token {
            Some(t) if self.hasher.verify(parsed.text, &t.record.secret_hash) => t,
            _ => return Err(bad_grant(UNKNOWN)),
        };
        let old = &resolved.record;
        // Another client's token: refused, and nothing revoked on its say.
        let (Some(grant_id), true) = (&old.grant_id, old.client_id.as_deref() == Some(&client.id))
        else {
            return Err(bad_grant(UNKNOWN));
        };
        let now = self.clock.now();
        // A used token: whether its grant still lives decides between a retry and theft,
        // so that is read from the store. A live token's grant is live (revoking a grant
        // revokes its tokens), and its scopes and end are fixed: a kept copy will do.
        let grant = match old.revoked_at {
            Some(_) => self.store.get_grant(grant_id).await?,
            None => match self.grants.get(grant_id) {
                Some(grant) => Some(grant),
                None => {
                    let read = self.store.get_grant(grant_id).await?;
                    if let Some(g) = &read {
                        self.grants.put(&g.id, g);
                    }
                    read
                }
            },
        };
        let grant = match grant {
            Some(g) if g.revoked_at.is_none() && now < g.expires_at => g,
            _ => return Err(bad_grant(UNKNOWN)),
        };
        // Revoking a refresh token revokes its grant, so a consumed token of a live grant
        // was rotated: presented again, it is either a retry within the grace or theft.
        let retry = match old.revoked_at {
            None => false,
            Some(at) if now.saturating_sub(at) < millis(self.oauth.refresh_reuse_grace) => true,
            Some(_) => {
                self.end_reused_grant(&client.id, &grant.id, action::REFRESH_REUSE)
                    .await?;
                return Err(bad_grant(
                    "refresh token already used: its grant is revoked",
                ));
            }
        };
        // Expired, its user disabled or gone, its client disabled: refused. (Revocation
        // was settled above: a retry's token was revoked by its own rotation.)
        let holds = resolved.owner == OwnerState::Active
            && resolved.source_active
            && resolved.expires_at.is_none_or(|end| now < end);
        if !holds {
            return Err(bad_grant(UNKNOWN));
        }
        let access_scopes = match req.scopes.is_empty() {
            true => grant.scopes.clone(),
            false => {
                let asked = validate::grants("scope", &req.scopes, false)
                    .map_err(|e| Error::oauth(OAuthErrorCode::InvalidScope, e.to_string()))?;
                if let Some(wider) = asked.iter().find(|p| !grant.scopes.covers(p)) {
                    return Err(Error::oauth(
                        OAuthErrorCode::InvalidScope,
                        format!("{wider} was not granted"),
                    ));
                }
                asked
            }
        };
        // What the refresh token holds now is the grant ∩ the client's scopes ∩ the user's
        // permissions; the new access token holds the asked part of that.
        let chain = vec![access_scopes.clone(), resolved.effective.clone()];
        let granted = match effective::meet_all(chain).await? {
            Ok(granted) if !granted.is_empty() => granted,
            _ if !req.scopes.is_empty() => {
                return Err(Error::oauth(
                    OAuthErrorCode::InvalidScope,
                    "none of the requested scopes are held now",
                ));
            }
            _ => return Err(bad_grant("none of the granted scopes are held any more")),
        };
        let subject = old.subject.clone();
        let old_id = old.id.clone();
        let pair = self.grant_pair(
            &subject,
            &client.id,
            &grant.id,
            &access_scopes,
            Some(&grant.scopes),
            grant.expires_at,
        )?;
        let mut records = vec![pair.access.record.clone()];
        records.extend(pair.refresh.as_ref().map(|r| r.record.clone()));
        // A retry's token was ended by its first rotation: only the grant is checked again,
        // in the store's transaction, since a revocation may have committed since it was read.
        let ending = (!retry).then_some(old_id.as_str());
        let event = grant_event(
            self.unauthenticated_event(action::TOKEN_ISSUE),
            &client.id,
            &records,
        )
        .with("grant", "refresh_token")
        .with("grant_id", &grant.id)
        .with("replaces", &old_id);
        let write = self.store.rotate_refresh(&grant.id, ending, now, &records);
        if !recorded(event, write).await? {
            // A concurrent refresh of the same token won the race, or the grant was revoked.
            return Err(bad_grant(UNKNOWN));
        }
        self.invalidate_lineage(&old_id);
        self.issued_pair(pair, granted, Vec::new()).await
    }
}
