//! OAuth 2: the settings of tessera as an authorization server. The registry of apps is
//! `app::clients`; the grants come here.

use std::time::Duration;

/// Longest `--client-secret-grace`: a rotation is meant to end the old secret; a grace is
/// for rolling the new one out, not for keeping two.
pub const MAX_CLIENT_SECRET_GRACE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, Clone, Default)]
pub struct OAuthConfig {
    /// How long a client's previous secret keeps working after RotateClientSecret
    /// (`--client-secret-grace`); zero ends it at once.
    pub client_secret_grace: Duration,
}
