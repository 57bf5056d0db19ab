//! The statements that delete what ended long ago (see `ports::Prunable`), each at most
//! `limit` rows: a bounded batch holds its locks (SQLite's one writer) only briefly, and on
//! Postgres a delete of at most 100 tokens notifies their ids, not a flush of every
//! replica's cache (see migration 0004's threshold).

use sea_query::{Alias, DeleteStatement, Expr, ExprTrait, Query};

use super::credentials::LoginFailuresTable;
use super::oauth::{OauthCodes, OauthGrants};
use super::tokens::Tokens;
use crate::domain::clock::Millis;

/// Tokens revoked (outside a grant) or expired before `before` from which no token was
/// minted.
pub fn prune_tokens(before: Millis, limit: u32) -> DeleteStatement {
    let (t, child) = (Alias::new("t"), Alias::new("child"));
    let children = Query::select()
        .expr(Expr::val(1))
        .from_as(Tokens::Table, child.clone())
        .and_where(Expr::col((child, Tokens::CreatedBy)).equals((t.clone(), Tokens::Id)))
        .take();
    let ended = Expr::col((t.clone(), Tokens::ExpiresAt))
        .lt(before)
        .or(Expr::col((t.clone(), Tokens::GrantId))
            .is_null()
            .and(Expr::col((t.clone(), Tokens::RevokedAt)).lt(before)));
    let ids = Query::select()
        .column((t.clone(), Tokens::Id))
        .from_as(Tokens::Table, t)
        .and_where(ended)
        .and_where(Expr::exists(children).not())
        .limit(u64::from(limit))
        .take();
    Query::delete()
        .from_table(Tokens::Table)
        .and_where(Expr::col(Tokens::Id).in_subquery(ids))
        .take()
}

/// Grants revoked or expired before `before` that no token names any more.
pub fn prune_grants(before: Millis, limit: u32) -> DeleteStatement {
    let g = Alias::new("g");
    let tokens = Query::select()
        .expr(Expr::val(1))
        .from(Tokens::Table)
        .and_where(Expr::col((Tokens::Table, Tokens::GrantId)).equals((g.clone(), OauthGrants::Id)))
        .take();
    let ended = Expr::col((g.clone(), OauthGrants::ExpiresAt))
        .lt(before)
        .or(Expr::col((g.clone(), OauthGrants::RevokedAt)).lt(before));
    let ids = Query::select()
        .column((g.clone(), OauthGrants::Id))
        .from_as(OauthGrants::Table, g)
        .and_where(ended)
        .and_where(Expr::exists(tokens).not())
        .limit(u64::from(limit))
        .take();
    Query::delete()
        .from_table(OauthGrants::Table)
        .and_where(Expr::col(OauthGrants::Id).in_subquery(ids))
        .take()
}

/// Authorization codes that expired before `before`.
pub fn prune_codes(before: Millis, limit: u32) -> DeleteStatement {
    let hashes = Query::select()
        .column(OauthCodes::CodeHash)
        .from(OauthCodes::Table)
        .and_where(Expr::col(OauthCodes::ExpiresAt).lt(before))
        .limit(u64::from(limit))
        .take();
    Query::delete()
        .from_table(OauthCodes::Table)
        .and_where(Expr::col(OauthCodes::CodeHash).in_subquery(hashes))
        .take()
}

/// Failure runs whose lock (set at every failure, so never before the last one) ended
/// before `before`.
pub fn prune_login_failures(before: Millis, limit: u32) -> DeleteStatement {
    let hashes = Query::select()
        .column(LoginFailuresTable::NameHash)
        .from(LoginFailuresTable::Table)
        .and_where(Expr::col(LoginFailuresTable::LockedUntil).lt(before))
        .limit(u64::from(limit))
        .take();
    Query::delete()
        .from_table(LoginFailuresTable::Table)
        .and_where(Expr::col(LoginFailuresTable::NameHash).in_subquery(hashes))
        .take()
}
