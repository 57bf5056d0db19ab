//! What an app's authorization leaves behind: the one-time code, the grant it becomes (the
//! family of every token issued from it), PKCE, and the RFC 6749 error codes.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::clock::Millis;
use super::permission_set::PermissionSet;

/// An authorization code as stored: by its hash, never the code itself.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: Vec<u8>,
    pub client_id: String,
    /// The redirect URI the authorization request named: the exchange must name it again.
    pub redirect_uri: String,
    /// The approving user.
    pub subject: String,
    /// Requested ∩ the client's ∩ the user's permissions at approval.
    pub scopes: PermissionSet,
    /// The PKCE S256 challenge, when one was sent.
    pub code_challenge: Option<String>,
    pub created_at: Millis,
    pub expires_at: Millis,
    pub used_at: Option<Millis>,
    /// The grant the exchange made, so that a second use revokes what the first gave.
    pub grant_id: Option<String>,
}

impl std::fmt::Debug for AuthorizationCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationCode")
            .field("client_id", &self.client_id)
            .field("subject", &self.subject)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

/// One authorization of an app by a user: what an admin's "installed apps" tab shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub id: String,
    pub client_id: String,
    pub subject: String,
    pub scopes: PermissionSet,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    /// The family's end (`--refresh-family-lifetime`), however often refreshed.
    pub expires_at: Millis,
    pub revoked_at: Option<Millis>,
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`.
pub fn valid_verifier(verifier: &str) -> bool {
    (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge: base64url of a SHA-256 digest, no padding, so exactly 43 characters.
pub fn valid_challenge(challenge: &str) -> bool {
    challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// RFC 7636 §4.6, S256: `BASE64URL(SHA256(verifier)) == challenge`, compared in constant time.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine as _;
    let digest = Sha256::digest(verifier.as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
    expected.as_bytes().ct_eq(challenge.as_bytes()).into()
}

/// The error codes of RFC 6749 §4.1.2.1 and §5.2 (and RFC 7009's), as the HTTP endpoints
/// answer them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
}

impl OAuthErrorCode {
    pub const fn as_str(self) -> &'static str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::UnsupportedResponseType => "unsupported_response_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::AccessDenied => "access_denied",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7636 Appendix B's example.
    #[test]
    fn the_rfc_example_matches() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(valid_verifier(verifier) && valid_challenge(challenge));
        assert!(pkce_matches(verifier, challenge));
        assert!(!pkce_matches(&verifier.replace('d', "e"), challenge));
        assert!(!valid_verifier("short"));
        assert!(!valid_verifier(&"a".repeat(129)));
        assert!(!valid_challenge(
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="
        ));
    }
}
