//! What logins need: their settings, the server keys, the password pool, and the session
//! signing keys (made, rotated, published, and looked up to verify).

use crate::domain::audit::{Event, action, recorded};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use super::App;
use crate::domain::clock::Millis;
use crate::domain::credentials::password::Passwords;
use crate::domain::credentials::server_keys::{Purpose, ServerKeys};
use crate::domain::credentials::session_jwt::{self, SigningKey};
use crate::domain::error::{Error, Result};
use crate::domain::model::StoredSigningKey;

/// Which credentials may mint a PAT (`--pat-issuers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PatIssuers {
    /// A session from a login with a second factor, or a PAT (the product's rule).
    #[default]
    TwoFactor,
    /// Any session, or a PAT: for deployments that do not use TOTP.
    Session,
    /// Any credential, API keys included.
    Any,
}

/// How logins and sessions behave.
#[derive(Debug, Clone)]
pub struct LoginConfig {
    /// A session JWT's `iss` (`--issuer`).
    pub issuer: String,
    /// A session JWT's `aud` (`--session-audience`).
    pub audience: String,
    /// The longest a session lives (`--session-ttl`); a login may ask for less.
    pub session_ttl: Duration,
    pub pat_issuers: PatIssuers,
    /// Password hashes run at once at most: one fewer than the cores (at least one), so a
    /// flood of logins always leaves a core to the checks.
    pub hash_parallelism: usize,
}

impl Default for LoginConfig {
    fn default() -> LoginConfig {
        LoginConfig {
            issuer: "tessera".into(),
            audience: "tessera".into(),
            session_ttl: Duration::from_secs(3600),
            pat_issuers: PatIssuers::default(),
            hash_parallelism: std::thread::available_parallelism()
                .map_or(1, |n| usize::from(n).saturating_sub(1).max(1)),
        }
    }
}

/// Where the server secret comes from, for the message when it is missing.
pub const SECRET_SETTING: &str = "TESSERA_SECRET_KEY or --secret-key-file";

/// How long a looked-up verification key is trusted before it is read again, so that a
/// retirement scheduled on another replica is seen.
const KEY_CACHE_TTL: Millis = 5_000;

#[derive(Debug, Clone, Copy)]
struct CachedKey {
    public: [u8; 32],
    retire_at: Option<Millis>,
    /// Monotonic time of the read.
    read_at: Millis,
}

pub(super) struct Logins {
    pub(super) config: LoginConfig,
    /// `None` when no server secret is set: logins and credential changes then answer
    /// FAILED_PRECONDITION, and everything else works (sessions already issued included).
    pub(super) keys: Option<ServerKeys>,
    pub(super) passwords: Passwords,
    verifying: Mutex<HashMap<String, CachedKey>>,
    /// Login attempts being checked in this process, by throttle key (see `login`).
    pub(super) in_flight: Mutex<HashMap<Vec<u8>, u32>>,
    /// The published key set and when it was read (monotonic): `GetJwks` needs no
    /// credential, so it must not cost a store read per call.
    published: Mutex<Option<(Vec<PublicJwk>, Millis)>>,
}

impl Logins {
    pub(super) fn new(config: LoginConfig, keys: Option<ServerKeys>) -> Logins {
        Logins {
            passwords: Passwords::new(config.hash_parallelism),
            config,
            keys,
            verifying: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
            published: Mutex::new(None),
        }
    }

    pub(super) fn keys(&self) -> Result<&ServerKeys> {
        self.keys.as_ref().ok_or_else(|| {
            Error::FailedPrecondition(format!("logins need a server secret: set {SECRET_SETTING}"))
        })
    }
}

/// A public key as an RFC 7517 JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicJwk {
    pub kid: String,
    pub x: String,
}

impl App {
    /// The same application with login settings and, when configured, the server secret.
    pub fn with_logins(mut self, config: LoginConfig, keys: Option<ServerKeys>) -> App {
        self.logins = Logins::new(config, keys);
        self
    }

    /// Makes the first signing key on a store that has none (at start-up); a no-op without
    /// a server secret. Replicas starting together may each make one: both verify, and the
    /// newest signs.
    pub async fn ensure_signing_key(&self) -> Result<()> {
        if self.logins.keys.is_none() {
            return Ok(());
        }
        if self.store.signing_keys(self.clock.now()).await?.is_empty() {
            self.first_signing_key().await?;
        } else if let Err(Error::FailedPrecondition(why)) = self.signer().await {
            // Not rotated here: one replica started with the wrong secret must not replace
            // the key every other replica signs with. An operator who did change the
            // secret rotates once, on purpose.
            tracing::error!(reason = %why, "logins will fail until the signing key is rotated");
        }
        // Warm the dummy hash, so the first login for an unknown name costs no more.
        let _ = self.logins.passwords.verify(String::new(), None).await;
        Ok(())
    }

    /// The first key of a store that has none, recorded as tessera's own change.
    async fn first_signing_key(&self) -> Result<String> {
        self.new_signing_key(self.system_event(action::KEY_CREATE))
            .await
    }

    /// A new signer, asked by an operator (`tessera:keys:rotate`), recorded. The keys it
    /// replaces keep verifying until every session they signed has expired (the longest
    /// session, plus the clock-skew leeway), then retire.
    pub async fn rotate_signing_key_as(&self, caller: &super::Caller) -> Result<String> {
        caller.require_write(super::perms::KEYS_ROTATE)?;
        self.new_signing_key(self.event(caller, action::KEY_ROTATE))
            .await
    }

    async fn new_signing_key(&self, event: Event) -> Result<String> {
        let keys = self.logins.keys()?;
        let key = SigningKey::generate().map_err(|e| Error::Internal(Box::new(e)))?;
        let sealed = keys
            .sealer(Purpose::SigningKeys)
            .seal(key.seed(), &key.kid)
            .map_err(|e| Error::Internal(Box::new(e)))?;
        let now = self.clock.now();
        let stored = StoredSigningKey {
            kid: key.kid.clone(),
            public_key: key.public.to_vec(),
            sealed_private_key: sealed,
            created_at: now,
            retire_at: None,
        };
        let longest = i64::try_from(self.logins.config.session_ttl.as_millis()).unwrap_or(i64::MAX);
        let leeway = i64::try_from(session_jwt::LEEWAY_SECONDS).unwrap_or(0) * 1000;
        let retire_at = now.saturating_add(longest).saturating_add(leeway);
        let write = self.store.rotate_signing_key(&stored, retire_at);
        recorded(event.on("signing_key", &key.kid), write).await?;
        *self
            .logins
            .published
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        tracing::info!(kid = %key.kid, "session signing key rotated");
        Ok(key.kid)
    }

    /// The key new sessions are signed with: the newest one not retired.
    pub(super) async fn signer(&self) -> Result<SigningKey> {
        let keys = self.logins.keys()?;
        let now = self.clock.now();
        let newest = match self.store.signing_keys(now).await?.into_iter().next() {
            Some(k) => k,
            None => {
                self.first_signing_key().await?;
                self.store
                    .signing_keys(now)
                    .await?
                    .into_iter()
                    .next()
                    .ok_or_else(|| Error::Internal("no signing key after making one".into()))?
            }
        };
        let seed = keys
            .sealer(Purpose::SigningKeys)
            .open(&newest.sealed_private_key, &newest.kid)
            .map_err(|_| {
                Error::FailedPrecondition(
                    "the session signing key does not open under this server secret \
                     (was it changed?): rotate it with AdminService.RotateSigningKey"
                        .into(),
                )
            })?;
        let seed: [u8; 32] = seed
            .try_into()
            .map_err(|_| Error::Internal("a stored signing key is malformed".into()))?;
        Ok(SigningKey::from_seed(newest.kid, seed))
    }

    /// The public keys that verify sessions now, for `GetJwks`: read again after
    /// [`KEY_CACHE_TTL`], or at once after a rotation made here.
    pub async fn jwks(&self) -> Result<Vec<PublicJwk>> {
        let at = self.clock.monotonic();
        let cached = {
            let published = self
                .logins
                .published
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            published
                .as_ref()
                .filter(|(_, read_at)| at.saturating_sub(*read_at) < KEY_CACHE_TTL)
                .map(|(keys, _)| keys.clone())
        };
        if let Some(keys) = cached {
            return Ok(keys);
        }
        let keys = self.read_jwks().await?;
        *self
            .logins
            .published
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some((keys.clone(), at));
        Ok(keys)
    }

    async fn read_jwks(&self) -> Result<Vec<PublicJwk>> {
        let keys = self.store.signing_keys(self.clock.now()).await?;
        Ok(keys
            .into_iter()
            .filter_map(|k| {
                let public: [u8; 32] = k.public_key.try_into().ok()?;
                Some(PublicJwk {
                    kid: k.kid,
                    x: session_jwt::jwk_x(&public),
                })
            })
            .collect())
    }

    /// The public key named `kid` and when it retires, from memory when read recently.
    pub(super) async fn verifying_key(
        &self,
        kid: &str,
    ) -> Result<Option<([u8; 32], Option<Millis>)>> {
        let at = self.clock.monotonic();
        let cached = {
            let map = self
                .logins
                .verifying
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.get(kid).copied()
        };
        if let Some(k) = cached.filter(|k| at.saturating_sub(k.read_at) < KEY_CACHE_TTL) {
            return Ok(Some((k.public, k.retire_at)));
        }
        let Some(stored) = self.store.signing_key(kid).await? else {
            return Ok(None);
        };
        let Ok(public) = <[u8; 32]>::try_from(stored.public_key) else {
            return Ok(None);
        };
        let entry = CachedKey {
            public,
            retire_at: stored.retire_at,
            read_at: at,
        };
        let mut map = self
            .logins
            .verifying
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        // Keys are few; a map grown past any real number of them is cleared.
        if map.len() > 1024 {
            map.clear();
        }
        map.insert(kid.to_owned(), entry);
        Ok(Some((public, stored.retire_at)))
    }
}

impl App {
    /// PERMISSION_DENIED unless the caller's kind of credential may mint a PAT under
    /// `--pat-issuers`, saying what is needed.
    pub(super) fn require_pat_issuer(&self, caller: &super::Caller) -> Result<()> {
        use crate::domain::token_format::TokenKind;
        let allowed = match self.logins.config.pat_issuers {
            PatIssuers::Any => true,
            PatIssuers::Session => matches!(caller.kind(), TokenKind::Pat | TokenKind::Session),
            PatIssuers::TwoFactor => caller.kind() == TokenKind::Pat || caller.two_factor(),
        };
        if allowed {
            return Ok(());
        }
        Err(Error::denied(match self.logins.config.pat_issuers {
            PatIssuers::TwoFactor => {
                "a PAT is minted only with a session from a login with a second factor \
                 (password and TOTP code), or with another PAT (--pat-issuers 2fa)"
            }
            _ => {
                "a PAT is minted only with a session from a login, or with another PAT \
                  (--pat-issuers session)"
            }
        }))
    }
}
