//! The audit trail: who changed what, written in the same transaction as the change.
//!
//! A use case describes its change as an [`Event`] and runs the store write that makes it
//! inside [`recorded`]; the store takes the staged event (see [`scope`]) and inserts it
//! with the change, so a change never commits without its record and a record never
//! outlives a rolled-back change. A write that changes nothing (a revoke of an id already
//! revoked) leaves no record, and a call refused before its write leaves none either.
//!
//! An event holds ids, names and counts only: never a secret, a password, a hash or a TOTP
//! code. Fields are built here from typed values, not from free text a request carried.

mod scope;

use std::collections::BTreeMap;

pub use scope::{RequestContext, in_request, recorded, request_context, staged, written};

use super::clock::Millis;

/// Whether the action did what it was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// The action was refused, and the refusal itself is a change worth keeping: a failed
    /// login (it counts towards a lockout), a reused code or refresh token (its family
    /// ends).
    Failure,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// Who acted: the caller's credential, or for a call without one (a login, an OAuth
/// grant) the user or client it was made for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Actor {
    pub token_id: String,
    pub subject: String,
    /// A token kind (`api_key`, `pat`, `session`, `oauth_access`…), `client` for an OAuth
    /// client authenticating itself, `bootstrap` for the command that makes the first
    /// admin, `system` for a change tessera makes on its own, or empty.
    pub kind: String,
    /// The network peer, `ip:port`, when the listener knows it.
    pub peer: String,
}

/// One change, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub at: Millis,
    /// `token.issue`, `user.disable`… (see [`action`]).
    pub action: String,
    pub outcome: Outcome,
    pub actor: Actor,
    /// The call's `x-request-id`, or the one generated for it.
    pub request_id: String,
    /// What was changed: `token`, `user`, `role`, `client`, `grant`, `signing_key`.
    pub target_type: String,
    pub target_id: String,
    /// A few action-specific facts (a grant type, a count, a reason): ids and names only.
    pub fields: BTreeMap<String, String>,
}

impl Event {
    /// An event of `action` at `at`, by whoever the request context says, until told more.
    pub fn new(action: &str, at: Millis) -> Event {
        let context = request_context();
        Event {
            at,
            action: action.to_owned(),
            outcome: Outcome::Success,
            actor: Actor {
                peer: context.peer_text(),
                ..Actor::default()
            },
            request_id: context.request_id,
            target_type: String::new(),
            target_id: String::new(),
            fields: BTreeMap::new(),
        }
    }

    pub fn by(mut self, token_id: &str, subject: &str, kind: &str) -> Event {
        self.actor.token_id = token_id.to_owned();
        self.actor.subject = subject.to_owned();
        self.actor.kind = kind.to_owned();
        self
    }

    pub fn on(mut self, target_type: &str, target_id: &str) -> Event {
        self.target_type = target_type.to_owned();
        self.target_id = target_id.to_owned();
        self
    }

    pub fn with(mut self, key: &str, value: impl ToString) -> Event {
        self.fields.insert(key.to_owned(), value.to_string());
        self
    }

    pub fn failed(mut self) -> Event {
        self.outcome = Outcome::Failure;
        self
    }

    /// The fields as one JSON object, as stored and logged.
    pub fn fields_json(&self) -> String {
        serde_json::to_string(&self.fields).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Writes the event to the log under `tessera::audit`, after its transaction committed.
    pub fn log(&self) {
        tracing::info!(
            target: "tessera::audit",
            action = %self.action,
            result = self.outcome.as_str(),
            actor_token_id = %self.actor.token_id,
            actor_subject = %self.actor.subject,
            actor_kind = %self.actor.kind,
            peer = %self.actor.peer,
            request_id = %self.request_id,
            target_type = %self.target_type,
            target_id = %self.target_id,
            fields = %self.fields_json(),
            at = self.at,
            "audit event"
        );
    }
}

/// A kept event and its place in the trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Increasing in insertion order; the listing's order and page token.
    pub seq: i64,
    pub event: Event,
}

/// What ListAuditEvents asks for.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// The actor's subject, or a user the event targets.
    pub subject: Option<String>,
    pub action: Option<String>,
    pub since: Option<Millis>,
    pub until: Option<Millis>,
    /// Only events older than this seq (the page token).
    pub before_seq: Option<i64>,
    pub limit: u32,
}

/// The actions tessera records, as they appear in the trail.
pub mod action {
    pub const TOKEN_ISSUE: &str = "token.issue";
    pub const TOKEN_REVOKE: &str = "token.revoke";
    pub const TOKEN_ROTATE: &str = "token.rotate";
    pub const LOGIN: &str = "login";
    pub const ROLE_CREATE: &str = "role.create";
    pub const ROLE_SET_PERMISSIONS: &str = "role.set_permissions";
    pub const ROLE_DELETE: &str = "role.delete";
    pub const USER_CREATE: &str = "user.create";
    pub const USER_SET_ROLES: &str = "user.set_roles";
    pub const USER_DISABLE: &str = "user.disable";
    pub const USER_ENABLE: &str = "user.enable";
    pub const USER_SET_PASSWORD: &str = "user.set_password";
    pub const USER_RESET_TOTP: &str = "user.reset_totp";
    pub const ACCOUNT_CHANGE_PASSWORD: &str = "account.change_password";
    pub const ACCOUNT_ENROLL_TOTP: &str = "account.enroll_totp";
    pub const ACCOUNT_CONFIRM_TOTP: &str = "account.confirm_totp";
    pub const ACCOUNT_REMOVE_TOTP: &str = "account.remove_totp";
    pub const KEY_ROTATE: &str = "signing_key.rotate";
    /// The first signing key, made by tessera itself on a store that has none.
    pub const KEY_CREATE: &str = "signing_key.create";
    pub const CLIENT_CREATE: &str = "client.create";
    pub const CLIENT_UPDATE: &str = "client.update";
    pub const CLIENT_ROTATE_SECRET: &str = "client.rotate_secret";
    pub const CLIENT_DISABLE: &str = "client.disable";
    pub const CLIENT_ENABLE: &str = "client.enable";
    pub const CLIENT_DELETE: &str = "client.delete";
    pub const AUTHORIZATION_APPROVE: &str = "oauth.approve";
    pub const AUTHORIZATION_DENY: &str = "oauth.deny";
    pub const GRANT_REVOKE: &str = "oauth.grant_revoke";
    pub const CODE_REUSE: &str = "oauth.code_reuse";
    pub const REFRESH_REUSE: &str = "oauth.refresh_reuse";
}

/// Which Authorize decisions go to the audit log (`--audit-decisions`). They never go to
/// the store: they are far more numerous than changes, and a check writes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DecisionLog {
    None,
    #[default]
    Denied,
    All,
}

impl DecisionLog {
    pub fn parse(text: &str) -> Option<DecisionLog> {
        match text {
            "none" => Some(DecisionLog::None),
            "denied" => Some(DecisionLog::Denied),
            "all" => Some(DecisionLog::All),
            _ => None,
        }
    }

    pub fn wants(self, allowed: bool) -> bool {
        match self {
            DecisionLog::None => false,
            DecisionLog::Denied => !allowed,
            DecisionLog::All => true,
        }
    }
}
