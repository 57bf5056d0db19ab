//! ListTokens: token metadata for operators and owners. Never a secret or a hash.

use std::collections::BTreeSet;

use super::{App, Caller, effective, perms};
use crate::domain::clock::Millis;
use crate::domain::error::{Error, Result};
use crate::domain::model::{Page, PageRequest};
use crate::domain::token_format::TokenKind;

/// One listed token.
#[derive(Debug, Clone)]
pub struct TokenView {
    pub token_id: String,
    pub kind: TokenKind,
    pub name: String,
    pub subject: String,
    pub role: Option<String>,
    pub scopes: Vec<String>,
    pub read_only: bool,
    pub issued_at: Millis,
    pub expires_at: Option<Millis>,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
    /// The token whose credential minted this one (none for the bootstrap admin key).
    pub parent_token_id: Option<String>,
}

impl App {
    /// Tokens of `subject` (empty: the caller's own, with tessera:tokens:self); others'
    /// need tessera:tokens:read.
    pub async fn list_tokens(
        &self,
        caller: &Caller,
        subject: &str,
        page: &PageRequest,
    ) -> Result<Page<TokenView>> {
        let subject = if subject.is_empty() {
            caller.user_id()
        } else {
            subject
        };
        // The owner's tokens need a session or tessera:tokens:self: a narrow credential
        // does not list its siblings.
        if subject != caller.user_id() || !caller.manages_own_tokens() {
            caller.require(perms::TOKENS_READ)?;
        }
        if self.store.get_user(subject).await?.is_none() {
            return Err(Error::NotFound(format!("user {subject:?}")));
        }
        let page = self.store.list_tokens(subject, page).await?;
        let role_names: Vec<String> = page
            .items
            .iter()
            .filter_map(|t| t.role.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let roles = self.store.get_roles(&role_names).await?;
        let mut items = Vec::with_capacity(page.items.len());
        for t in page.items {
            let bound = roles.iter().find(|r| Some(&r.id) == t.role_id.as_ref());
            // Past a bound the token grants nothing (see `resolve`), so it lists none.
            let scopes = match effective::meet_all(effective::own_chain(&t, bound)).await? {
                Ok(own) => effective::strings_of(own).await?,
                Err(_) => Vec::new(),
            };
            items.push({
                // A use noted in memory but not yet written is the most recent one.
                let last_used_at = match (t.last_used_at, self.usage.pending(&t.id)) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                TokenView {
                    scopes,
                    token_id: t.id,
                    kind: t.kind,
                    name: t.name,
                    subject: t.subject,
                    role: t.role,
                    read_only: t.read_only,
                    issued_at: t.issued_at,
                    expires_at: t.expires_at,
                    last_used_at,
                    revoked_at: t.revoked_at,
                    parent_token_id: t.created_by,
                }
            });
        }
        Ok(Page {
            items,
            next: page.next,
        })
    }
}
