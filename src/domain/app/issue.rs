//! Issue: minting API keys and PATs, capped so that no token can do more than its creator.

use std::time::Duration;

use super::{App, Caller, effective, lineage, perms};
use crate::domain::audit::{Event, action, recorded};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::TokenRecord;
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::{self, TokenKind};
use crate::domain::validate;

/// What to mint; one variant per kind of token (OAuth grants join later).
#[derive(Debug, Clone)]
pub enum TokenSpec {
    ApiKey {
        name: String,
        scopes: Vec<String>,
        read_only: bool,
        ttl: Option<Duration>,
        /// Empty: the caller's own user.
        subject: String,
    },
    Pat {
        name: String,
        role: String,
        read_only: bool,
        ttl: Option<Duration>,
    },
}

/// A freshly issued token. `token` is the secret: returned once, never stored.
pub struct Issued {
    pub token: String,
    pub token_id: String,
    pub kind: TokenKind,
    pub scopes: Vec<String>,
    pub stripped: Vec<String>,
    pub expires_at: Option<Millis>,
    /// The refresh token an OAuth grant hands out with its access token.
    pub refresh: Option<super::oauth::IssuedRefresh>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("token_id", &self.token_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// Everything decided about a token before it is minted.
pub(super) struct Plan {
    pub(super) kind: TokenKind,
    pub(super) name: String,
    pub(super) subject: String,
    pub(super) role: Option<String>,
    pub(super) role_id: Option<String>,
    /// What the record stores as its own scopes (API keys only).
    pub(super) scopes: PermissionSet,
    pub(super) cap: Option<PermissionSet>,
    pub(super) read_only: bool,
    pub(super) ttl: Option<Duration>,
    pub(super) effective: PermissionSet,
    pub(super) asked: PermissionSet,
    /// The issuing credential's token id (none for bootstrap).
    pub(super) created_by: Option<String>,
    /// The issuing credential's own expiry (the earliest along its chain): a child never
    /// outlives its parent (see `lineage`).
    pub(super) expires_cap: Option<Millis>,
}

fn expiry(now: Millis, ttl: Option<Duration>, cap: Option<Millis>) -> Option<Millis> {
    let own = ttl.map(|d| now.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)));
    match (own, cap) {
        (Some(own), Some(cap)) => Some(own.min(cap)),
        (own, cap) => own.or(cap),
    }
}

impl App {
    pub async fn issue(&self, caller: &Caller, grant: TokenSpec) -> Result<Issued> {
        let plan = self.plan(caller, grant).await?;
        let event = self.event(caller, action::TOKEN_ISSUE);
        self.mint(plan, Some(self.limits.max_tokens_per_user), Some(event))
            .await
    }

    /// What `issue` would mint, every rule applied.
    pub(super) async fn plan(&self, caller: &Caller, grant: TokenSpec) -> Result<Plan> {
        caller.require_writable()?;
        lineage::require_room_below(caller.depth())?;
        let plan = match grant {
            TokenSpec::ApiKey {
                name,
                scopes,
                read_only,
                ttl,
                subject,
            } => {
                self.plan_api_key(caller, name, &scopes, read_only, ttl, subject)
                    .await?
            }
            TokenSpec::Pat {
                name,
                role,
                read_only,
                ttl,
            } => self.plan_pat(caller, name, role, read_only, ttl).await?,
        };
        if plan.effective.is_empty() {
            // Capped by the caller: the caller is short of permission. Uncapped (an issuer
            // minting for another user): that user holds none of it.
            return Err(if plan.cap.is_some() {
                Error::denied("none of the requested permissions are held by the caller")
            } else {
                Error::FailedPrecondition(format!(
                    "user {:?} holds none of the requested permissions",
                    plan.subject
                ))
            });
        }
        Ok(plan)
    }

    async fn plan_api_key(
        &self,
        caller: &Caller,
        name: String,
        scopes: &[String],
        read_only: bool,
        ttl: Option<Duration>,
        subject: String,
    ) -> Result<Plan> {
        // A session mints a key only under the rule for PATs: a long-lived credential from a
        // password-only login would undo `--pat-issuers 2fa`.
        if caller.kind() == TokenKind::Session {
            self.require_pat_issuer(caller)?;
        }
        let name = validate::token_name("api_key.name", &name)?;
        let asked = validate::grants("api_key.scopes", scopes, false)?;
        let ttl = validate::ttl("api_key.ttl", ttl)?;
        let for_self = subject.is_empty() || subject == caller.user_id();
        let subject = if for_self {
            caller.user_id().to_owned()
        } else {
            caller.require(perms::TOKENS_ISSUE)?;
            subject
        };
        let user = self
            .store
            .get_user(&subject)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {subject:?}")))?;
        if user.disabled {
            return Err(Error::FailedPrecondition(format!(
                "user {subject:?} is disabled"
            )));
        }
        // Capped by the credential it was minted with, for its own user or another: an
        // issuer holding tessera:tokens:issue mints for another user within that user's
        // permissions and its own, never more (see `escalation`).
        let cap = Some(caller.permissions().clone());
        let too_large = |e: crate::domain::permission_set::SetTooLarge| {
            Error::invalid("api_key.scopes", e.to_string())
        };
        let held = effective::meet_all(vec![asked.clone(), self.permissions_of(&user).await?])
            .await?
            .map_err(too_large)?;
        if held.is_empty() && !for_self {
            return Err(Error::FailedPrecondition(format!(
                "user {subject:?} holds none of the requested permissions"
            )));
        }
        let mut chain = vec![held];
        chain.extend(cap.clone());
        let effective = effective::meet_all(chain).await?.map_err(too_large)?;
        Ok(Plan {
            kind: TokenKind::ApiKey,
            name,
            subject,
            role: None,
            role_id: None,
            scopes: asked.clone(),
            cap,
            read_only,
            ttl,
            effective,
            asked,
            created_by: caller.parent_of_minted(),
            expires_cap: caller.expiry_of_minted(),
        })
    }

    async fn plan_pat(
        &self,
        caller: &Caller,
        name: String,
        role: String,
        read_only: bool,
        ttl: Option<Duration>,
    ) -> Result<Plan> {
        self.require_pat_issuer(caller)?;
        let name = validate::token_name("pat.name", &name)?;
        validate::role_name("pat.role", &role)?;
        let ttl = validate::ttl("pat.ttl", ttl)?;
        let user = self
            .store
            .get_user(caller.user_id())
            .await?
            .ok_or(Error::Unauthenticated)?;
        // No role oracle: a role the caller neither holds nor may read gets the same answer
        // as a role that does not exist.
        let may_bind = user.roles.contains(&role) || caller.has(perms::ROLES_READ);
        let bound = match may_bind {
            true => self.store.get_role(&role).await?,
            false => None,
        }
        .ok_or_else(|| {
            Error::invalid(
                "pat.role",
                format!("no role {role:?} that the caller holds or may read"),
            )
        })?;
        let chain = vec![
            bound.permissions.clone(),
            self.permissions_of(&user).await?,
            caller.permissions().clone(),
        ];
        let effective = effective::meet_all(chain)
            .await?
            .map_err(|e| Error::invalid("pat.role", e.to_string()))?;
        Ok(Plan {
            kind: TokenKind::Pat,
            name,
            subject: caller.user_id().to_owned(),
            role: Some(role),
            role_id: Some(bound.id.clone()),
            scopes: PermissionSet::empty(),
            cap: Some(caller.permissions().clone()),
            read_only,
            ttl,
            effective,
            // What `stripped_scopes` may mention: the role's permissions in full to a
            // caller that may read roles, else only those the caller itself holds.
            asked: if caller.has(perms::ROLES_READ) {
                bound.permissions
            } else {
                let held: Vec<_> = bound
                    .permissions
                    .iter()
                    .filter(|p| caller.permissions().covers(p))
                    .collect();
                PermissionSet::from_patterns(&held)
            },
            created_by: caller.parent_of_minted(),
            expires_cap: caller.expiry_of_minted(),
        })
    }

    /// Generates the secret and stores only its hash; within `max_active` tokens of the
    /// subject when given; with `event` in the audit trail, completed with the token.
    async fn mint(
        &self,
        plan: Plan,
        max_active: Option<u32>,
        event: Option<Event>,
    ) -> Result<Issued> {
        let (record, secret) = self.record_of(&plan, self.clock.now())?;
        let write = async {
            match max_active {
                Some(limit) => self.store.insert_token_within(&record, limit).await,
                None => self.store.insert_token(&record).await,
            }
        };
        match event {
            Some(event) => recorded(super::audit_trail::issue_event(event, &record), write).await?,
            None => write.await?,
        }
        // Forget a remembered "unknown" for this id (ids are random, but be exact).
        self.invalidate_token(&record.id);
        self.issued(plan, record, secret).await
    }

    /// The record to store for `plan`, and the secret it hashes.
    pub(super) fn record_of(&self, plan: &Plan, now: Millis) -> Result<(TokenRecord, String)> {
        let new = token_format::generate(plan.kind)?;
        let record = TokenRecord {
            id: new.id.clone(),
            kind: plan.kind,
            name: plan.name.clone(),
            subject: plan.subject.clone(),
            role: plan.role.clone(),
            role_id: plan.role_id.clone(),
            secret_hash: self.hasher.hash(&new.secret).to_vec(),
            scopes: plan.scopes.clone(),
            cap: plan.cap.clone(),
            read_only: plan.read_only,
            issued_at: now,
            expires_at: expiry(now, plan.ttl, plan.expires_cap),
            last_used_at: None,
            revoked_at: None,
            created_by: plan.created_by.clone(),
            client_id: None,
            grant_id: None,
        };
        Ok((record, new.secret))
    }

    /// The answer for a stored token: its secret, once.
    pub(super) async fn issued(
        &self,
        plan: Plan,
        record: TokenRecord,
        secret: String,
    ) -> Result<Issued> {
        let stripped = effective::left_out(&plan.asked, &plan.effective);
        Ok(Issued {
            token: secret,
            token_id: record.id,
            kind: plan.kind,
            scopes: effective::strings_of(plan.effective).await?,
            stripped,
            expires_at: record.expires_at,
            refresh: None,
        })
    }

    /// Mints `count` API keys for one user in a single store transaction and returns their
    /// secrets. For bulk seeding (load tests, imports) from the command line only: it skips
    /// the caller checks that `issue` applies, so no RPC reaches it.
    pub async fn seed_api_keys(
        &self,
        subject: &str,
        scopes: &PermissionSet,
        count: usize,
    ) -> Result<Vec<String>> {
        let now = self.clock.now();
        let mut records = Vec::with_capacity(count);
        let mut secrets = Vec::with_capacity(count);
        for _ in 0..count {
            let new = token_format::generate(TokenKind::ApiKey)?;
            records.push(TokenRecord {
                id: new.id,
                kind: TokenKind::ApiKey,
                name: "seeded".to_owned(),
                subject: subject.to_owned(),
                role: None,
                role_id: None,
                secret_hash: self.hasher.hash(&new.secret).to_vec(),
                scopes: scopes.clone(),
                cap: None,
                read_only: false,
                issued_at: now,
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
                created_by: None,
                client_id: None,
                grant_id: None,
            });
            secrets.push(new.secret);
        }
        self.store.insert_tokens(&records).await?;
        Ok(secrets)
    }

    /// Mints an uncapped API key for a user, for bootstrap (no caller exists yet).
    pub(super) async fn mint_admin_key(&self, user_id: &str) -> Result<Issued> {
        let all = validate::grants("scopes", &["*".to_owned()], false)?;
        let plan = Plan {
            kind: TokenKind::ApiKey,
            name: "bootstrap admin key".to_owned(),
            subject: user_id.to_owned(),
            role: None,
            role_id: None,
            scopes: all.clone(),
            cap: None,
            read_only: false,
            ttl: None,
            effective: all.clone(),
            asked: all,
            created_by: None,
            expires_cap: None,
        };
        let event = self.bootstrap_event(crate::domain::audit::action::TOKEN_ISSUE);
        self.mint(plan, None, Some(event)).await
    }
}
