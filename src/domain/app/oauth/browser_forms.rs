//! What the built-in sign-in and consent pages put in their forms, signed with a key derived
//! from the server secret. A form is accepted only from the browser it was rendered for (its
//! CSRF token is a MAC of that browser's cookie), and only for the authorization request it
//! showed, unaltered and unexpired (the request travels sealed, bound to the same browser
//! and to the user it was shown to), so a changed hidden field is refused, not obeyed.

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::super::App;
use super::AuthorizationRequest;
use crate::domain::clock::Millis;
use crate::domain::clock::millis;
use crate::domain::credentials::server_keys::Purpose;
use crate::domain::error::{Error, Result};
use crate::domain::token_format::random_base62;

/// How long a rendered sign-in or consent form stays good.
pub const BROWSER_REQUEST_TTL: Duration = Duration::from_secs(10 * 60);
/// Characters of a browser's id: 43 base62 characters are about 256 bits.
const BROWSER_ID_CHARS: usize = 43;
const BROWSER_LABEL: &[u8] = b"browser v1";
const CSRF_LABEL: &[u8] = b"csrf v1";
const REQUEST_LABEL: &[u8] = b"authorization request v1";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// An authorization request as a form carried it back, checked.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub request: AuthorizationRequest,
    /// The user the consent page was shown to; `None` for the sign-in page.
    pub subject: Option<String>,
}

fn refused() -> Error {
    Error::invalid(
        "request",
        "this authorization request expired, was changed, or was opened in another browser",
    )
}

impl App {
    fn form_mac(&self, label: &[u8], browser: &str) -> Result<Hmac<Sha256>> {
        let key = self.logins.keys()?.derive(Purpose::BrowserForms);
        let mut mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|e| Error::Internal(Box::new(std::io::Error::other(e.to_string()))))?;
        for part in [label, b"\0", browser.as_bytes(), b"\0"] {
            mac.update(part);
        }
        Ok(mac)
    }

    /// A new browser id, for the cookie that binds a browser's forms: random, and signed,
    /// so that an id tessera did not make is refused (`browser_valid`) rather than trusted.
    pub fn new_browser_id(&self) -> Result<String> {
        let id = random_base62(BROWSER_ID_CHARS)?;
        let mac = self.form_mac(BROWSER_LABEL, &id)?;
        Ok(format!("{id}.{}", B64.encode(mac.finalize().into_bytes())))
    }

    /// Whether `browser` is an id `new_browser_id` made (compared in constant time).
    pub fn browser_valid(&self, browser: &str) -> bool {
        let Some((id, tag)) = browser.split_once('.') else {
            return false;
        };
        let (Ok(mac), Ok(tag)) = (self.form_mac(BROWSER_LABEL, id), B64.decode(tag)) else {
            return false;
        };
        id.len() == BROWSER_ID_CHARS
            && id.bytes().all(|b| b.is_ascii_alphanumeric())
            && mac.verify_slice(&tag).is_ok()
    }

    /// The CSRF token of every form rendered for `browser`.
    pub fn csrf_token(&self, browser: &str) -> Result<String> {
        let mac = self.form_mac(CSRF_LABEL, browser)?;
        Ok(B64.encode(mac.finalize().into_bytes()))
    }

    /// Whether `token` is the CSRF token of `browser`, an id tessera made (compared in
    /// constant time).
    pub fn csrf_valid(&self, browser: &str, token: &str) -> bool {
        let (Ok(mac), Ok(given)) = (self.form_mac(CSRF_LABEL, browser), B64.decode(token)) else {
            return false;
        };
        self.browser_valid(browser) && mac.verify_slice(&given).is_ok()
    }

    /// `req`, sealed for a form rendered for `browser` (and shown to `subject`).
    pub fn seal_authorization(
        &self,
        browser: &str,
        req: &AuthorizationRequest,
        subject: Option<&str>,
    ) -> Result<String> {
        let expires: Millis = self.clock.now().saturating_add(millis(BROWSER_REQUEST_TTL));
        let payload = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(oauth_params(req))
            .append_pair("sub", subject.unwrap_or(""))
            .append_pair("exp", &expires.to_string())
            .finish();
        let mut mac = self.form_mac(REQUEST_LABEL, browser)?;
        mac.update(payload.as_bytes());
        Ok(format!(
            "{}.{}",
            B64.encode(payload),
            B64.encode(mac.finalize().into_bytes())
        ))
    }

    /// The request a form carried, if `browser` was sent it, unchanged, and it has not expired.
    pub fn open_authorization(&self, browser: &str, sealed: &str) -> Result<PendingAuthorization> {
        let (payload, tag) = sealed.split_once('.').ok_or_else(refused)?;
        let (payload, tag) = match (B64.decode(payload), B64.decode(tag)) {
            (Ok(p), Ok(t)) => (p, t),
            _ => return Err(refused()),
        };
        let mut mac = self.form_mac(REQUEST_LABEL, browser)?;
        mac.update(&payload);
        if !self.browser_valid(browser) || mac.verify_slice(&tag).is_err() {
            return Err(refused());
        }
        let mut req = AuthorizationRequest::default();
        let (mut subject, mut expires) = (None, 0);
        for (k, v) in form_urlencoded::parse(&payload) {
            let v = v.into_owned();
            match k.as_ref() {
                "client_id" => req.client_id = v,
                "redirect_uri" => req.redirect_uri = v,
                "response_type" => req.response_type = v,
                "scope" => {
                    req.scopes = v
                        .split(' ')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "state" => req.state = v,
                "code_challenge" => req.code_challenge = v,
                "code_challenge_method" => req.code_challenge_method = v,
                "sub" => subject = Some(v).filter(|s| !s.is_empty()),
                "exp" => expires = v.parse().map_err(|_| refused())?,
                _ => return Err(refused()),
            }
        }
        if self.clock.now() >= expires {
            return Err(refused());
        }
        Ok(PendingAuthorization {
            request: req,
            subject,
        })
    }
}

/// The request's parameters as RFC 6749 §4.1.1 names them, empty ones left out.
pub fn oauth_params(req: &AuthorizationRequest) -> Vec<(&'static str, String)> {
    [
        ("response_type", req.response_type.clone()),
        ("client_id", req.client_id.clone()),
        ("redirect_uri", req.redirect_uri.clone()),
        ("scope", req.scopes.join(" ")),
        ("state", req.state.clone()),
        ("code_challenge", req.code_challenge.clone()),
        ("code_challenge_method", req.code_challenge_method.clone()),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .collect()
}
