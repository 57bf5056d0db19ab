//! Authorize (the per-request check) and Introspect (RFC 7662).

use std::time::Duration;

use super::{App, Caller, effective, perms};
use crate::domain::clock::Millis;
use crate::domain::error::Result;
use crate::domain::token_format::TokenKind;
use crate::domain::validate;

/// The answer to "may this token do this?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Not a valid token (HTTP 401).
    Unauthenticated,
    /// A valid token short of permission (HTTP 403).
    PermissionDenied,
}

impl Decision {
    pub const fn http_status(self) -> u32 {
        match self {
            Decision::Allow => 200,
            Decision::Unauthenticated => 401,
            Decision::PermissionDenied => 403,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Unauthenticated => "unauthenticated",
            Decision::PermissionDenied => "permission_denied",
        }
    }
}

/// The entry point a check came through: the `rpc` label of its metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckVia {
    /// `TokenService.Authorize`.
    Authorize,
    /// Envoy's `envoy.service.auth.v3.Authorization/Check`.
    EnvoyCheck,
}

impl CheckVia {
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckVia::Authorize => "authorize",
            CheckVia::EnvoyCheck => "envoy_check",
        }
    }
}

#[derive(Clone)]
pub struct AuthorizeInput {
    pub token: String,
    pub required: Vec<String>,
    /// MATCH_ANY when true, MATCH_ALL otherwise.
    pub match_any: bool,
    pub mutating: bool,
}

#[derive(Debug, Clone)]
pub struct AuthorizeOutcome {
    pub decision: Decision,
    pub reason: &'static str,
    pub subject: String,
    pub token_id: String,
    pub kind: Option<TokenKind>,
    pub missing: Vec<String>,
    pub expires_at: Option<Millis>,
}

impl AuthorizeOutcome {
    fn unauthenticated() -> AuthorizeOutcome {
        AuthorizeOutcome {
            decision: Decision::Unauthenticated,
            reason: "token is not active",
            subject: String::new(),
            token_id: String::new(),
            kind: None,
            missing: Vec::new(),
            expires_at: None,
        }
    }
}

impl std::fmt::Debug for AuthorizeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeInput")
            .field("token", &"<redacted>")
            .field("required", &self.required)
            .field("match_any", &self.match_any)
            .field("mutating", &self.mutating)
            .finish()
    }
}

/// What Introspect reports about an active token.
#[derive(Debug, Clone)]
pub struct Introspection {
    pub token_id: String,
    pub kind: TokenKind,
    pub subject: String,
    /// Effective permissions now, minimal set, sorted.
    pub scopes: Vec<String>,
    pub read_only: bool,
    pub role: Option<String>,
    pub issued_at: Millis,
    pub expires_at: Option<Millis>,
    /// The app an OAuth token was issued to.
    pub client_id: Option<String>,
}

impl Introspection {
    pub(super) async fn of(active: &super::auth_cache::ResolvedToken) -> Result<Introspection> {
        Ok(Introspection {
            scopes: effective::strings_of(active.effective.clone()).await?,
            token_id: active.record.id.clone(),
            kind: active.record.kind,
            subject: active.record.subject.clone(),
            read_only: active.record.read_only,
            role: active.record.role.clone(),
            issued_at: active.record.issued_at,
            expires_at: active.expires_at,
            client_id: active.record.client_id.clone(),
        })
    }
}

impl App {
    /// [`App::authorize`], counted: the decision by entry point and token kind, and the
    /// time it took.
    pub async fn check(
        &self,
        via: CheckVia,
        caller: &Caller,
        input: &AuthorizeInput,
    ) -> Result<AuthorizeOutcome> {
        let started = std::time::Instant::now();
        let outcome = self.authorize(caller, input).await;
        let (decision, kind) = match &outcome {
            Ok(o) => (
                o.decision.as_str(),
                o.kind.map_or("none", TokenKind::as_str),
            ),
            Err(_) => ("error", "none"),
        };
        self.metrics
            .decision(via.as_str(), decision, kind, started.elapsed());
        if let Ok(o) = &outcome
            && self.audit_decisions.wants(o.decision == Decision::Allow)
        {
            log_decision(via, caller, input, o);
        }
        outcome
    }

    /// A check refused before it could be decided (a malformed request, a caller short of
    /// `tessera:introspect` asked in the adapter), counted like a decision of no token.
    pub fn count_undecided(&self, via: CheckVia, decision: &'static str, took: Duration) {
        self.metrics.decision(via.as_str(), decision, "none", took);
    }

    pub async fn authorize(
        &self,
        caller: &Caller,
        input: &AuthorizeInput,
    ) -> Result<AuthorizeOutcome> {
        caller.require(perms::INTROSPECT)?;
        validate::required("required_scopes", &input.required)?;
        let Some(active) = self.resolve(&input.token).await? else {
            return Ok(AuthorizeOutcome::unauthenticated());
        };
        let record = &active.record;
        let mut outcome = AuthorizeOutcome {
            decision: Decision::Allow,
            reason: "",
            kind: Some(record.kind),
            expires_at: active.expires_at,
            token_id: record.id.clone(),
            subject: record.subject.clone(),
            missing: Vec::new(),
        };
        if input.mutating && record.read_only {
            outcome.decision = Decision::PermissionDenied;
            outcome.reason = "token is read-only";
            return Ok(outcome);
        }
        let missing: Vec<String> = input
            .required
            .iter()
            .filter(|r| !active.effective.matches(r))
            .cloned()
            .collect();
        let denied = if input.match_any {
            missing.len() == input.required.len()
        } else {
            !missing.is_empty()
        };
        if denied {
            outcome.decision = Decision::PermissionDenied;
            outcome.reason = if input.match_any {
                "token holds none of the required scopes"
            } else {
                "token lacks required scopes"
            };
            outcome.missing = missing;
        }
        Ok(outcome)
    }

    /// `None` for an inactive token, with no hint why.
    pub async fn introspect(&self, caller: &Caller, token: &str) -> Result<Option<Introspection>> {
        caller.require(perms::INTROSPECT)?;
        let Some(active) = self.resolve(token).await? else {
            return Ok(None);
        };
        Ok(Some(Introspection::of(&active).await?))
    }
}

/// A decision in the audit log (`--audit-decisions`): who asked, about which token, for
/// which scopes, and what was decided. Never the token itself.
///
/// The default logs every denial, so a flood of bad tokens pays for a line per check (15k
/// instructions with `telemetry::json_lines`, callgrind). Fields go as `&str` rather than
/// `%` Display, which spares the formatter a formatted copy of each.
fn log_decision(via: CheckVia, caller: &Caller, input: &AuthorizeInput, o: &AuthorizeOutcome) {
    let context = crate::domain::audit::request_context();
    let peer = context.peer_text();
    let required = input.required.join(" ");
    let missing = o.missing.join(" ");
    tracing::info!(
        target: "tessera::audit",
        action = "authorize",
        via = via.as_str(),
        decision = o.decision.as_str(),
        reason = o.reason,
        token_id = o.token_id.as_str(),
        subject = o.subject.as_str(),
        kind = o.kind.map_or("", TokenKind::as_str),
        required = required.as_str(),
        missing = missing.as_str(),
        mutating = input.mutating,
        actor_token_id = caller.token_id(),
        request_id = context.request_id.as_str(),
        peer = peer.as_str(),
        "authorization decision"
    );
}
