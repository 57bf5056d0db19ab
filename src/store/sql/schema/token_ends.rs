//! The statements that end one token early without its lineage walk: a rotation's old
//! token, revoked at once or given an earlier expiry (see `TokenStore::rotate_token`).

use sea_query::{Expr, ExprTrait, Query, UpdateStatement};

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
