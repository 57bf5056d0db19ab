//! Statements that write a whole batch at once: SQLite's writer commits many Issue calls
//! and refresh rotations in one transaction, and each statement it sends costs a round trip
//! to its connection's thread, so a batch is two or three statements, not two per caller.

use sea_query::{Expr, ExprTrait, InsertStatement, Query, UnionType, UpdateStatement};

use super::tokens::{Tokens, checked_row, insert_selected};
use crate::domain::clock::Millis;
use crate::domain::model::TokenRecord;
use crate::domain::token_format::TokenKind;

/// Ends the live refresh tokens among `ends`, each at its own time, and returns the ids it
/// ended: of two rotations of one token, only one finds it live. `None` for no tokens.
pub fn end_refresh_tokens(ends: &[(&str, Millis)]) -> Option<UpdateStatement> {
    let ((first, at), rest) = ends.split_first()?;
    let mut when = Expr::case(Expr::col(Tokens::Id).eq(*first), *at);
    for (id, at) in rest {
        when = when.case(Expr::col(Tokens::Id).eq(*id), *at);
    }
    Some(
        Query::update()
            .table(Tokens::Table)
            .value(Tokens::RevokedAt, when)
            .and_where(Expr::col(Tokens::Id).is_in(ends.iter().map(|(id, _)| *id)))
            .and_where(Expr::col(Tokens::Kind).eq(TokenKind::OAuthRefresh.as_str()))
            .and_where(Expr::col(Tokens::RevokedAt).is_null())
            .returning_col(Tokens::Id)
            .take(),
    )
}

/// Inserts each token whose subject exists (as `tokens::insert_token` does one); the count
/// of rows written tells whether every one was. `None` for no tokens.
pub fn insert_checked(tokens: &[&TokenRecord]) -> Option<InsertStatement> {
    let (first, rest) = tokens.split_first()?;
    let mut rows = checked_row(first);
    for t in rest {
        rows.union(UnionType::All, checked_row(t));
    }
    Some(insert_selected(rows))
}
