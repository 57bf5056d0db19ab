//! OAuth 2: tessera as an authorization server. The registry of apps is `app::clients`;
//! here are the grants: approval (`approve`), the code exchange (`exchange`), refresh
//! rotation (`refresh`), client credentials (`client_credentials`), the client's own
//! authentication (`client_auth`) and the connections a user has made (`grants`).

mod app_tokens;
mod approve;
mod browser_forms;
mod client_auth;
mod client_cache;
mod client_credentials;
mod exchange;
mod grant_cache;
mod grant_count;
mod grants;
mod mint;
mod refresh;
mod review;

use std::time::Duration;

pub use approve::{Approval, AuthorizationRequest, Denial};
pub use browser_forms::{BROWSER_REQUEST_TTL, PendingAuthorization, oauth_params};
pub use client_auth::ClientAuth;
pub(super) use client_cache::ClientCache;
pub use exchange::CodeExchange;
pub(super) use grant_cache::{GrantCache, UserNames};
pub use grants::GrantTarget;
pub use mint::IssuedRefresh;
pub use refresh::RefreshRequest;
pub use review::{ConsentView, Review};

/// Longest `--client-secret-grace`: a rotation is meant to end the old secret; a grace is
/// for rolling the new one out, not for keeping two.
pub const MAX_CLIENT_SECRET_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);
/// Longest `--refresh-reuse-grace`: long enough for a client's retry, too short to keep a
/// stolen refresh token useful.
pub const MAX_REFRESH_REUSE_GRACE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// How long a client's previous secret keeps working after RotateClientSecret
    /// (`--client-secret-grace`); zero ends it at once.
    pub client_secret_grace: Duration,
    /// How long an authorization code may wait for its exchange (`--authorization-code-ttl`).
    pub code_ttl: Duration,
    /// An access token's lifetime (`--access-token-ttl`).
    pub access_ttl: Duration,
    /// A refresh token's lifetime (`--refresh-token-ttl`); each rotation starts a new one.
    pub refresh_ttl: Duration,
    /// When a grant ends however often it is refreshed (`--refresh-family-lifetime`).
    pub family_lifetime: Duration,
    /// How long a consumed refresh token may still be retried (`--refresh-reuse-grace`):
    /// zero treats every reuse as theft and revokes the family.
    pub refresh_reuse_grace: Duration,
}

impl Default for OAuthConfig {
    fn default() -> OAuthConfig {
        OAuthConfig {
            client_secret_grace: Duration::ZERO,
            code_ttl: Duration::from_secs(60),
            access_ttl: Duration::from_secs(3600),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            family_lifetime: Duration::from_secs(90 * 24 * 3600),
            refresh_reuse_grace: Duration::ZERO,
        }
    }
}
