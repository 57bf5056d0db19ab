//! The records tessera keeps: roles, users and tokens.

use super::clock::Millis;
use super::permission_set::PermissionSet;
use super::token_format::TokenKind;

/// A named set of permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Role {
    /// Server-made, never reused: PATs bind to it, so a role deleted and re-created under
    /// the same name is a different role and revives no PAT of the old one.
    pub id: String,
    pub name: String,
    pub permissions: PermissionSet,
    pub description: String,
}

/// A principal that holds roles and owns tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Server-made, stable; tokens refer to users by it.
    pub id: String,
    /// Unique, chosen by the operator.
    pub name: String,
    /// Sorted role names.
    pub roles: Vec<String>,
    /// A disabled user has no permissions and its tokens are inactive.
    pub disabled: bool,
    pub created_at: Millis,
    /// Whether a password is set (the hash itself never leaves the store but for a login).
    pub has_password: bool,
    /// Whether logins need a TOTP code.
    pub totp_enabled: bool,
}

/// What a login or a credential change needs of a user, secrets included: read only for
/// that, never listed or returned.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// The argon2id PHC string.
    pub password_hash: Option<String>,
    /// The sealed TOTP seed (see `server_keys`), pending until `user.totp_enabled`.
    pub totp_secret: Option<Vec<u8>>,
    /// The last time step whose code was accepted.
    pub totp_last_step: Option<i64>,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// A session signing key as stored: the public half in the clear, the seed sealed.
#[derive(Clone)]
pub struct StoredSigningKey {
    pub kid: String,
    pub public_key: Vec<u8>,
    pub sealed_private_key: Vec<u8>,
    pub created_at: Millis,
    /// When it stops verifying: set when a newer key takes over, late enough that every
    /// session it signed has expired by then.
    pub retire_at: Option<Millis>,
}

impl std::fmt::Debug for StoredSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSigningKey")
            .field("kid", &self.kid)
            .field("created_at", &self.created_at)
            .field("retire_at", &self.retire_at)
            .finish_non_exhaustive()
    }
}

/// A token as stored: metadata and the hash of its secret, never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// Public lookup id (also embedded in the token text).
    pub id: String,
    pub kind: TokenKind,
    pub name: String,
    /// The user id the token acts as.
    pub subject: String,
    /// The bound role's name, for PATs (shown in listings; the binding is `role_id`).
    pub role: Option<String>,
    /// The bound role's id, for PATs: what its permissions come from.
    pub role_id: Option<String>,
    /// HMAC-SHA256 or SHA-256 of the whole token text.
    pub secret_hash: Vec<u8>,
    /// An API key's fixed scopes; empty for PATs (their scopes come from the role).
    pub scopes: PermissionSet,
    /// The creating credential's permissions at issue time, when they cap this token.
    pub cap: Option<PermissionSet>,
    pub read_only: bool,
    pub issued_at: Millis,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// The token id of the credential that issued this one (audit trail).
    pub created_by: Option<String>,
    /// The OAuth client an access or refresh token was issued to; a token whose subject is
    /// this client (client credentials) acts for the app itself, not for a user.
    pub client_id: Option<String>,
    /// The OAuth grant (one authorization) an access or refresh token came from.
    pub grant_id: Option<String>,
}

impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("role", &self.role)
            .field("read_only", &self.read_only)
            .field("expires_at", &self.expires_at)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

impl TokenRecord {
    /// Whether the record itself still allows use at `now` (owner state aside).
    pub fn is_live(&self, now: Millis) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now < exp)
    }
}

/// The state of a token's owner, as the check read finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerState {
    Active,
    Disabled,
    /// The user no longer exists (a hand-edited database): the token is inactive.
    Missing,
}

/// The state of the OAuth client a token was issued to, as the check read finds it.
#[derive(Debug, Clone)]
pub struct ClientAccess {
    pub disabled: bool,
    /// The client's scopes now: they cap every token issued to it.
    pub scopes: PermissionSet,
}

/// A token with everything its effective permissions depend on, read in one go: the check
/// path's read.
#[derive(Debug, Clone)]
pub struct TokenAccess {
    pub record: TokenRecord,
    pub owner: OwnerState,
    /// For a token issued to an OAuth client: the client, `None` when it is gone.
    pub client: Option<ClientAccess>,
    /// The roles the owner holds, with their permissions now.
    pub owner_roles: Vec<Role>,
    /// A PAT's bound role (by id), when it exists (whether or not the owner holds it).
    pub bound_role: Option<Role>,
}

/// A page of results and the token for the next one (empty on the last page).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Where a listing starts and how much it returns.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// The key after which to continue (from a previous page's `next`).
    pub after: Option<String>,
    pub limit: u32,
}
