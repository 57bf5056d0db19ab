//! The statements that end one token early without its lineage walk: a rotation's old
//! token, revoked at once or given an earlier expiry (see `TokenStore::rotate_token`), and a
//! token no other was minted from, whose lineage is itself.

use sea_query::{Expr, ExprTrait, Query, SelectStatement, UpdateStatement};

use super::tokens::Tokens;
use crate::domain::clock::Millis;

/// Revokes one token if it is live at `now` (not revoked, not expired); its descendants are
/// `revoke_token`'s to reach.
pub fn revoke_live(id: &str, now: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .and_where(
            Expr::col(Tokens::ExpiresAt)
                .is_null()
                .or(Expr::col(Tokens::ExpiresAt).gt(now)),
        )
        .take()
}

/// Moves a live token's expiry to `at`, if that is earlier than the one it has.
pub fn end_token_at(id: &str, at: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::ExpiresAt, at)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .and_where(
            Expr::col(Tokens::ExpiresAt)
                .is_null()
                .or(Expr::col(Tokens::ExpiresAt).gt(at)),
        )
        .take()
}

/// Whether any token (live or not) was minted from `id`: without one, revoking `id` needs no
/// lineage walk. Most tokens have none, and a walk costs a recursive statement whose plan
/// Postgres picks from estimates it cannot make well for a recursive CTE.
pub fn first_child(id: &str) -> SelectStatement {
    Query::select()
        .column(Tokens::Id)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::CreatedBy).eq(id))
        .limit(1)
        .take()
}

/// Revokes `id` alone (see [`first_child`]) unless already revoked; with `owner`, only
/// that user's token.
pub fn revoke_alone(id: &str, owner: Option<&str>, now: Millis) -> UpdateStatement {
    let mut st = Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .take();
    if let Some(owner) = owner {
        st.and_where(Expr::col(Tokens::Subject).eq(owner));
    }
    st
}
