//! Approval (RFC 6749 §4.1.1–4.1.2): the product's consent page calls this with the
//! approving user's credential; the answer is where to send the browser.
//!
//! An unknown or disabled client, or a redirect URI not registered, is an error to the
//! consent page itself (INVALID_ARGUMENT): a browser is never sent to an unverified URI.
//! Every other error travels to the app in the redirect, as §4.1.2.1 says.

use super::super::{App, Caller, effective};
use crate::domain::audit::{action, recorded};
use crate::domain::clock::Millis;
use crate::domain::clock::millis;
use crate::domain::error::{Error, Result};
use crate::domain::oauth_client::{self as rules, ClientType, GrantType, OAuthClient};
use crate::domain::oauth_grant::{self as pkce, AuthorizationCode, OAuthErrorCode};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{TokenKind, random_base62};
use crate::domain::validate;

/// Longest `state` carried back: it is the app's opaque value, not a place for payloads.
const MAX_STATE_BYTES: usize = 2048;
/// Characters of an authorization code: 43 base62 characters are about 256 bits.
const CODE_CHARS: usize = 43;

/// What the app asked for, as the consent page received it.
#[derive(Debug, Clone, Default)]
pub struct AuthorizationRequest {
    pub client_id: String,
    /// Empty: the client's one registered URI (RFC 6749 §3.1.2.3).
    pub redirect_uri: String,
    pub response_type: String,
    /// Empty: the client's scopes.
    pub scopes: Vec<String>,
    pub state: String,
    pub code_challenge: String,
    pub code_challenge_method: String,
}

/// Where the browser goes next: with a code, or with the `error` the app must see.
pub struct Approval {
    pub redirect_url: String,
    pub code: Option<String>,
    pub expires_at: Option<Millis>,
    pub scopes: Vec<String>,
    pub error: Option<OAuthErrorCode>,
}

impl std::fmt::Debug for Approval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Approval")
            .field("error", &self.error)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// A request that passed `App::screen`: the client, where its browser goes back to, the
/// PKCE challenge to keep, and the scopes asked for (the client's when none were named).
pub(super) struct Screened {
    pub client: OAuthClient,
    pub target: String,
    pub code_challenge: Option<String>,
    pub asked: PermissionSet,
}

/// A refusal's redirect (`error=access_denied`).
#[derive(Debug, Clone)]
pub struct Denial {
    pub redirect_url: String,
}

/// `uri` with `params` appended to its query.
fn with_params(uri: &str, params: &[(&str, &str)]) -> Result<String> {
    let mut url =
        url::Url::parse(uri).map_err(|e| Error::invalid("redirect_uri", e.to_string()))?;
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
    }
    Ok(url.into())
}

/// A redirect that carries an error to the app.
fn redirect_error(target: &str, code: OAuthErrorCode, state: &str) -> Result<Approval> {
    Ok(Approval {
        redirect_url: with_params(target, &[("error", code.as_str()), ("state", state)])?,
        code: None,
        expires_at: None,
        scopes: Vec::new(),
        error: Some(code),
    })
}

/// The PKCE parameters as RFC 7636 §4.3 allows them here: S256 only (an absent method
/// means `plain`, refused too), required for a public client.
fn challenge(client: &OAuthClient, req: &AuthorizationRequest) -> Option<Option<String>> {
    match (
        req.code_challenge.as_str(),
        req.code_challenge_method.as_str(),
    ) {
        ("", "") => (client.client_type == ClientType::Confidential).then_some(None),
        (c, "S256") if pkce::valid_challenge(c) => Some(Some(c.to_owned())),
        _ => None,
    }
}

impl App {
    /// The client and the URI to redirect to, or INVALID_ARGUMENT: a bad client or
    /// redirect URI never becomes a redirect.
    pub async fn verified_redirect(
        &self,
        client_id: &str,
        redirect_uri: &str,
    ) -> Result<(OAuthClient, String)> {
        rules::client_id("client_id", client_id)?;
        let client = match self.store.get_client(client_id).await? {
            Some(c) if !c.disabled => c,
            _ => {
                return Err(Error::invalid(
                    "client_id",
                    "no enabled client with this id",
                ));
            }
        };
        let target = match (redirect_uri, client.redirect_uris.as_slice()) {
            ("", [only]) => only.clone(),
            ("", _) => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "required: the client registered more than one",
                ));
            }
            (given, _) if client.has_redirect_uri(given) => given.to_owned(),
            _ => {
                return Err(Error::invalid(
                    "redirect_uri",
                    "not one of the client's registered redirect URIs",
                ));
            }
        };
        Ok((client, target))
    }

    /// The checks every approval makes before the user's part: the client and redirect URI
    /// (an error here is the consent page's, INVALID_ARGUMENT), then the response type,
    /// PKCE and scope syntax (an error there is the app's: `Err` of the inner result, the
    /// redirect that carries it).
    pub(super) async fn screen(
        &self,
        req: &AuthorizationRequest,
    ) -> Result<std::result::Result<Screened, Approval>> {
        if req.state.len() > MAX_STATE_BYTES {
            return Err(Error::invalid("state", "longer than 2048 bytes"));
        }
        let (client, target) = self
            .verified_redirect(&req.client_id, &req.redirect_uri)
            .await?;
        let state = req.state.as_str();
        if req.response_type != "code" {
            return redirect_error(&target, OAuthErrorCode::UnsupportedResponseType, state)
                .map(Err);
        }
        if !client.allows(GrantType::AuthorizationCode) {
            return redirect_error(&target, OAuthErrorCode::UnauthorizedClient, state).map(Err);
        }
        let Some(code_challenge) = challenge(&client, req) else {
            return redirect_error(&target, OAuthErrorCode::InvalidRequest, state).map(Err);
        };
        let asked = match req.scopes.is_empty() {
            true => client.scopes.clone(),
            false => match validate::grants("scopes", &req.scopes, false) {
                Ok(asked) => asked,
                Err(_) => {
                    return redirect_error(&target, OAuthErrorCode::InvalidScope, state).map(Err);
                }
            },
        };
        Ok(Ok(Screened {
            client,
            target,
            code_challenge,
            asked,
        }))
    }

    pub async fn approve_authorization(
        &self,
        caller: &Caller,
        req: AuthorizationRequest,
    ) -> Result<Approval> {
        // An app's token never approves an app: only the user, through the product.
        if matches!(
            caller.kind(),
            TokenKind::OAuthAccess | TokenKind::OAuthRefresh
        ) {
            return Err(Error::denied("an app's token cannot approve an app"));
        }
        caller.require_writable()?;
        let Screened {
            client,
            target,
            code_challenge,
            asked,
        } = match self.screen(&req).await? {
            Ok(screened) => screened,
            Err(redirect) => return Ok(redirect),
        };
        let state = req.state.as_str();
        let chain = vec![asked, client.scopes.clone(), caller.permissions().clone()];
        let granted = match effective::meet_all(chain).await? {
            Ok(granted) if !granted.is_empty() => granted,
            _ => return redirect_error(&target, OAuthErrorCode::InvalidScope, state),
        };
        let now = self.clock.now();
        let code = random_base62(CODE_CHARS)?;
        let stored = AuthorizationCode {
            code_hash: self.hasher.hash(&code).to_vec(),
            client_id: client.id.clone(),
            // As the request named it: the exchange must name the same (or none).
            redirect_uri: req.redirect_uri.clone(),
            subject: caller.user_id().to_owned(),
            scopes: granted.clone(),
            code_challenge,
            created_at: now,
            expires_at: now.saturating_add(millis(self.oauth.code_ttl)),
            used_at: None,
            grant_id: None,
        };
        let event = self
            .event(caller, action::AUTHORIZATION_APPROVE)
            .on("client", &client.id)
            .with("scopes", granted.len());
        recorded(event, self.store.insert_code(&stored)).await?;
        tracing::info!(client_id = %client.id, subject = %caller.user_id(), "authorization approved");
        Ok(Approval {
            redirect_url: with_params(&target, &[("code", &code), ("state", state)])?,
            code: Some(code),
            expires_at: Some(stored.expires_at),
            scopes: effective::strings_of(granted).await?,
            error: None,
        })
    }

    pub async fn deny_authorization(
        &self,
        caller: &Caller,
        client_id: &str,
        redirect_uri: &str,
        state: &str,
    ) -> Result<Denial> {
        if state.len() > MAX_STATE_BYTES {
            return Err(Error::invalid("state", "longer than 2048 bytes"));
        }
        let (client, target) = self.verified_redirect(client_id, redirect_uri).await?;
        // A denial changes nothing else: its event is its only write.
        let event = self
            .event(caller, action::AUTHORIZATION_DENY)
            .on("client", &client.id);
        self.store.append_event(&event).await?;
        event.log();
        let code = OAuthErrorCode::AccessDenied.as_str();
        Ok(Denial {
            redirect_url: with_params(&target, &[("error", code), ("state", state)])?,
        })
    }
}
