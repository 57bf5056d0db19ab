//! Statements on OAuth authorization codes and grants, and on the tokens issued from them.

use sea_query::{
    Expr, ExprTrait, Iden, InsertStatement, Order, Query, SelectStatement, UpdateStatement,
    WithQuery,
};

use super::tokens::{Tokens, revoke_lineage, roots};
use crate::domain::clock::Millis;
use crate::domain::oauth_grant::{AuthorizationCode, OAuthGrant};
use crate::domain::ports::GrantFilter;
use crate::domain::token_format::TokenKind;

#[derive(Iden, Clone, Copy)]
pub enum OauthCodes {
    Table,
    CodeHash,
    ClientId,
    RedirectUri,
    Subject,
    Scopes,
    CodeChallenge,
    CreatedAt,
    ExpiresAt,
    UsedAt,
    GrantId,
}

const CODE_COLUMNS: [OauthCodes; 10] = [
    OauthCodes::CodeHash,
    OauthCodes::ClientId,
    OauthCodes::RedirectUri,
    OauthCodes::Subject,
    OauthCodes::Scopes,
    OauthCodes::CodeChallenge,
    OauthCodes::CreatedAt,
    OauthCodes::ExpiresAt,
    OauthCodes::UsedAt,
    OauthCodes::GrantId,
];

#[derive(Iden, Clone, Copy)]
pub enum OauthGrants {
    Table,
    Id,
    ClientId,
    Subject,
    Scopes,
    CreatedAt,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

const GRANT_COLUMNS: [OauthGrants; 8] = [
    OauthGrants::Id,
    OauthGrants::ClientId,
    OauthGrants::Subject,
    OauthGrants::Scopes,
    OauthGrants::CreatedAt,
    OauthGrants::LastUsedAt,
    OauthGrants::ExpiresAt,
    OauthGrants::RevokedAt,
];

pub fn insert_code(c: &AuthorizationCode) -> InsertStatement {
    Query::insert()
        .into_table(OauthCodes::Table)
        .columns(CODE_COLUMNS)
        .values_panic([
            c.code_hash.clone().into(),
            c.client_id.clone().into(),
            c.redirect_uri.clone().into(),
            c.subject.clone().into(),
            c.scopes.to_stored().into(),
            c.code_challenge.clone().into(),
            c.created_at.into(),
            c.expires_at.into(),
            c.used_at.into(),
            c.grant_id.clone().into(),
        ])
        .take()
}

pub fn select_code(hash: &[u8]) -> SelectStatement {
    Query::select()
        .columns(CODE_COLUMNS)
        .from(OauthCodes::Table)
        .and_where(Expr::col(OauthCodes::CodeHash).eq(hash.to_vec()))
        .take()
}

/// Marks a code used by the exchange that makes `grant_id`; no row changed means another
/// exchange used it first.
pub fn use_code(hash: &[u8], now: Millis, grant_id: &str) -> UpdateStatement {
    Query::update()
        .table(OauthCodes::Table)
        .value(OauthCodes::UsedAt, now)
        .value(OauthCodes::GrantId, grant_id)
        .and_where(Expr::col(OauthCodes::CodeHash).eq(hash.to_vec()))
        .and_where(Expr::col(OauthCodes::UsedAt).is_null())
        .take()
}

pub fn insert_grant(g: &OAuthGrant) -> InsertStatement {
    Query::insert()
        .into_table(OauthGrants::Table)
        .columns(GRANT_COLUMNS)
        .values_panic([
            g.id.clone().into(),
            g.client_id.clone().into(),
            g.subject.clone().into(),
            g.scopes.to_stored().into(),
            g.created_at.into(),
            g.last_used_at.into(),
            g.expires_at.into(),
            g.revoked_at.into(),
        ])
        .take()
}

/// A grant's columns for listings, its last use being the latest use or issue of any of
/// its tokens (a refresh issues new ones; access tokens record their use): rotations then
/// write no grant row, one statement fewer on the refresh path. Single reads (the refresh
/// path's) take the stored columns only: this walks the grant's tokens.
fn listed_grants() -> SelectStatement {
    let columns = GRANT_COLUMNS
        .into_iter()
        .filter(|c| !matches!(c, OauthGrants::LastUsedAt));
    Query::select()
        .columns(columns)
        .expr_as(
            Expr::cust(
                "COALESCE((SELECT MAX(COALESCE(t.last_used_at, t.issued_at)) FROM tokens t \
                 WHERE t.grant_id = oauth_grants.id), oauth_grants.last_used_at)",
            ),
            OauthGrants::LastUsedAt,
        )
        .from(OauthGrants::Table)
        .take()
}

pub fn select_grant(id: &str) -> SelectStatement {
    Query::select()
        .columns(GRANT_COLUMNS)
        .from(OauthGrants::Table)
        .and_where(Expr::col(OauthGrants::Id).eq(id))
        .take()
}

/// Grant `id` if it is not revoked, share-locked on Postgres against a revocation until the
/// rotation that reads it commits (SQLite's writers are serial, and sea-query renders no
/// lock there).
pub fn lock_live_grant(id: &str) -> SelectStatement {
    Query::select()
        .column(OauthGrants::Id)
        .from(OauthGrants::Table)
        .and_where(Expr::col(OauthGrants::Id).eq(id))
        .and_where(Expr::col(OauthGrants::RevokedAt).is_null())
        .lock(sea_query::LockType::Share)
        .take()
}

/// The tokens of a rotation in one statement. No check that the user exists, unlike
/// `insert_token`: the rotation read it a moment ago, and a token of a user deleted since
/// is inactive anyway (the check finds no owner).
pub fn insert_rotated<'a>(
    tokens: impl IntoIterator<Item = &'a crate::domain::model::TokenRecord>,
) -> InsertStatement {
    let mut q = Query::insert()
        .into_table(Tokens::Table)
        .columns(super::tokens::TOKEN_COLUMNS.into_iter().skip(1))
        .take();
    for t in tokens {
        q.values_panic(super::tokens::token_values(t));
    }
    q
}

/// Revokes one grant, or every grant of a client (of one user, when `subject` is given).
pub fn revoke_grants(
    id: Option<&str>,
    client: Option<(&str, Option<&str>)>,
    now: Millis,
) -> UpdateStatement {
    let mut q = Query::update()
        .table(OauthGrants::Table)
        .value(OauthGrants::RevokedAt, now)
        .and_where(Expr::col(OauthGrants::RevokedAt).is_null())
        .take();
    if let Some(id) = id {
        q.and_where(Expr::col(OauthGrants::Id).eq(id));
    }
    if let Some((client_id, subject)) = client {
        q.and_where(Expr::col(OauthGrants::ClientId).eq(client_id));
        if let Some(subject) = subject {
            q.and_where(Expr::col(OauthGrants::Subject).eq(subject));
        }
    }
    q
}

pub fn list_grants(
    filter: &GrantFilter,
    now: Millis,
    after: Option<&str>,
    limit: u64,
) -> SelectStatement {
    let mut q = listed_grants()
        .and_where(Expr::col(OauthGrants::RevokedAt).is_null())
        .and_where(Expr::col(OauthGrants::ExpiresAt).gt(now))
        .order_by(OauthGrants::Id, Order::Asc)
        .limit(limit)
        .take();
    if let Some(subject) = &filter.subject {
        q.and_where(Expr::col(OauthGrants::Subject).eq(subject));
    }
    if let Some(client_id) = &filter.client_id {
        q.and_where(Expr::col(OauthGrants::ClientId).eq(client_id));
    }
    if let Some(after) = after {
        q.and_where(Expr::col(OauthGrants::Id).gt(after));
    }
    q
}

/// Revokes every token issued to an OAuth client (or to it for one user) and every token
/// derived from them.
pub fn revoke_client_tokens(client_id: &str, subject: Option<&str>, now: Millis) -> WithQuery {
    let mut root = roots();
    root.and_where(Expr::col(Tokens::ClientId).eq(client_id));
    if let Some(subject) = subject {
        root.and_where(Expr::col(Tokens::Subject).eq(subject));
    }
    revoke_lineage(root, now)
}

/// Revokes every token issued from one OAuth grant, and what derives from them.
pub fn revoke_grant_tokens(grant_id: &str, now: Millis) -> WithQuery {
    let mut root = roots();
    root.and_where(Expr::col(Tokens::GrantId).eq(grant_id));
    revoke_lineage(root, now)
}

/// Ends a live refresh token on rotation; no row changed means it was not live.
pub fn end_refresh_token(id: &str, now: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(Expr::col(Tokens::Kind).eq(TokenKind::OAuthRefresh.as_str()))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .take()
}
