//! The client credentials grant (RFC 6749 §4.4): a backend with no user gets an access
//! token whose subject is the client itself, for the requested scopes ∩ the client's now.
//! No refresh token (§4.4.3) and no per-user quota: the client's own scopes bound it.

use super::super::{App, Issued, effective};
use super::client_auth::ClientAuth;
use super::mint::grant_event;
use crate::domain::audit::{action, recorded};
use crate::domain::clock::millis;
use crate::domain::error::{Error, Result};
use crate::domain::oauth_client::{ClientType, GrantType};
use crate::domain::oauth_grant::OAuthErrorCode;
use crate::domain::token_format::TokenKind;
use crate::domain::validate;

impl App {
    /// The client_credentials grant (RFC 6749 §4.4), counted.
    pub async fn client_credentials(
        &self,
        auth: ClientAuth,
        scopes: Vec<String>,
    ) -> Result<Issued> {
        let outcome = self.client_credentials_once(auth, scopes).await;
        self.count_grant("client_credentials", outcome)
    }

    async fn client_credentials_once(
        &self,
        auth: ClientAuth,
        scopes: Vec<String>,
    ) -> Result<Issued> {
        let client = self.authenticate_client(&auth).await?;
        if client.client_type != ClientType::Confidential
            || !client.allows(GrantType::ClientCredentials)
        {
            return Err(Error::oauth(
                OAuthErrorCode::UnauthorizedClient,
                "the client may not use client_credentials",
            ));
        }
        let asked = match scopes.is_empty() {
            true => client.scopes.clone(),
            false => validate::grants("scope", &scopes, false)
                .map_err(|e| Error::oauth(OAuthErrorCode::InvalidScope, e.to_string()))?,
        };
        let granted = match effective::meet_all(vec![asked.clone(), client.scopes.clone()]).await? {
            Ok(granted) if !granted.is_empty() => granted,
            _ => {
                return Err(Error::oauth(
                    OAuthErrorCode::InvalidScope,
                    "none of the requested scopes are the client's",
                ));
            }
        };
        let stripped = effective::left_out(&asked, &granted);
        let now = self.clock.now();
        let access = self.oauth_record(
            TokenKind::OAuthAccess,
            &client.id,
            &client.id,
            None,
            &granted,
            now.saturating_add(millis(self.oauth.access_ttl)),
        )?;
        let event = grant_event(
            self.unauthenticated_event(action::TOKEN_ISSUE),
            &client.id,
            std::slice::from_ref(&access.record),
        )
        .with("grant", "client_credentials");
        recorded(event, self.store.insert_token(&access.record)).await?;
        let pair = super::mint::Pair {
            access,
            refresh: None,
        };
        self.issued_pair(pair, granted, stripped).await
    }
}
