//! The code exchange (RFC 6749 §4.1.3, RFC 7636 §4.6): one use, by the client it was
//! issued to, with the same redirect URI and the verifier of its challenge. A second use
//! revokes everything the first one gave (§4.1.2).

use super::super::{App, Issued, effective};
use super::client_auth::ClientAuth;
use super::mint::grant_event;
use crate::domain::audit::{action, recorded};
use crate::domain::clock::millis;
use crate::domain::error::{Error, Result};
use crate::domain::oauth_client::GrantType;
use crate::domain::oauth_grant::{self as pkce, OAuthErrorCode, OAuthGrant};
use crate::domain::token_format::random_base62;

/// An `authorization_code` grant.
#[derive(Clone, Default)]
pub struct CodeExchange {
    pub client: ClientAuth,
    pub code: String,
    pub redirect_uri: String,
    pub code_verifier: String,
}

impl std::fmt::Debug for CodeExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CodeExchange")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

fn bad_grant(why: &str) -> Error {
    Error::oauth(OAuthErrorCode::InvalidGrant, why)
}

/// Longest code read: ours are 43 characters; anything far longer is not one.
const MAX_CODE_BYTES: usize = 256;

impl App {
    /// The authorization_code grant (RFC 6749 §4.1.3), counted.
    pub async fn exchange_code(&self, req: CodeExchange) -> Result<Issued> {
        let outcome = self.exchange_code_once(req).await;
        self.count_grant("authorization_code", outcome)
    }

    async fn exchange_code_once(&self, req: CodeExchange) -> Result<Issued> {
        let client = self.authenticate_client(&req.client).await?;
        if !client.allows(GrantType::AuthorizationCode) {
            return Err(Error::oauth(
                OAuthErrorCode::UnauthorizedClient,
                "the client may not use authorization_code",
            ));
        }
        if req.code.is_empty() || req.code.len() > MAX_CODE_BYTES {
            return Err(Error::oauth(
                OAuthErrorCode::InvalidRequest,
                "code is required",
            ));
        }
        let hash = self.hasher.hash(&req.code);
        let Some(code) = self.store.get_code(&hash).await? else {
            return Err(bad_grant("unknown, expired or used code"));
        };
        // Only the client it was issued to learns anything about a code, even that it
        // was used: another client's attempt revokes nothing.
        if code.client_id != client.id {
            return Err(bad_grant("unknown, expired or used code"));
        }
        let now = self.clock.now();
        if code.used_at.is_some() {
            if let Some(grant_id) = &code.grant_id {
                self.end_reused_grant(&client.id, grant_id, action::CODE_REUSE)
                    .await?;
            }
            return Err(bad_grant("unknown, expired or used code"));
        }
        if now >= code.expires_at {
            return Err(bad_grant("unknown, expired or used code"));
        }
        if req.redirect_uri != code.redirect_uri {
            return Err(bad_grant(
                "redirect_uri differs from the authorization request's",
            ));
        }
        match (&code.code_challenge, req.code_verifier.as_str()) {
            (None, "") => {}
            // RFC 9700 §2.1.1: a verifier with no challenge is a downgrade attempt.
            (None, _) => return Err(bad_grant("code_verifier sent, but no code_challenge was")),
            (Some(_), "") => return Err(bad_grant("code_verifier is required")),
            (Some(challenge), verifier) => {
                if !pkce::valid_verifier(verifier) || !pkce::pkce_matches(verifier, challenge) {
                    return Err(bad_grant("code_verifier does not match the code_challenge"));
                }
            }
        }
        let user = match self.store.get_user(&code.subject).await? {
            Some(user) if !user.disabled => user,
            _ => return Err(bad_grant("the approving user is gone or disabled")),
        };
        let chain = vec![
            code.scopes.clone(),
            client.scopes.clone(),
            self.permissions_of(&user).await?,
        ];
        let granted = match effective::meet_all(chain).await? {
            Ok(granted) if !granted.is_empty() => granted,
            _ => return Err(bad_grant("none of the approved scopes are held any more")),
        };
        let grant = OAuthGrant {
            id: format!("grt_{}", random_base62(22)?),
            client_id: client.id.clone(),
            subject: user.id.clone(),
            scopes: code.scopes.clone(),
            created_at: now,
            last_used_at: Some(now),
            expires_at: now.saturating_add(millis(self.oauth.family_lifetime)),
            revoked_at: None,
        };
        let refresh = client
            .allows(GrantType::RefreshToken)
            .then_some(&grant.scopes);
        let pair = self.grant_pair(
            &user.id,
            &client.id,
            &grant.id,
            &grant.scopes,
            refresh,
            grant.expires_at,
        )?;
        let mut records = vec![pair.access.record.clone()];
        records.extend(pair.refresh.as_ref().map(|r| r.record.clone()));
        let event = grant_event(
            self.unauthenticated_event(action::TOKEN_ISSUE),
            &client.id,
            &records,
        )
        .with("grant", "authorization_code")
        .with("grant_id", &grant.id);
        if !recorded(event, self.store.redeem_code(&hash, now, &grant, &records)).await? {
            // A concurrent exchange won: this one is the second use.
            let first = self.store.get_code(&hash).await?;
            if let Some(grant_id) = first.and_then(|c| c.grant_id) {
                self.end_reused_grant(&client.id, &grant_id, action::CODE_REUSE)
                    .await?;
            }
            return Err(bad_grant("unknown, expired or used code"));
        }
        tracing::info!(client_id = %client.id, grant_id = %grant.id, "authorization code exchanged");
        self.issued_pair(pair, granted, Vec::new()).await
    }
}
