//! Statements on session signing keys.

use sea_query::{
    Expr, ExprTrait, Iden, InsertStatement, Order, Query, SelectStatement, UpdateStatement,
};

use crate::domain::clock::Millis;
use crate::domain::model::StoredSigningKey;

#[derive(Iden, Clone, Copy)]
pub enum SigningKeys {
    Table,
    Kid,
    PublicKey,
    PrivateKey,
    CreatedAt,
    RetireAt,
}

const COLUMNS: [SigningKeys; 5] = [
    SigningKeys::Kid,
    SigningKeys::PublicKey,
    SigningKeys::PrivateKey,
    SigningKeys::CreatedAt,
    SigningKeys::RetireAt,
];

/// Keys not retired at `now`: the signer (the one not scheduled to retire) first, then
/// newest first. Two keys made in the same millisecond still order by which one rotation
/// kept.
pub fn select_live(now: Millis) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(SigningKeys::Table)
        .and_where(
            Expr::col(SigningKeys::RetireAt)
                .is_null()
                .or(Expr::col(SigningKeys::RetireAt).gt(now)),
        )
        .order_by_expr(Expr::col(SigningKeys::RetireAt).is_null(), Order::Desc)
        .order_by(SigningKeys::CreatedAt, Order::Desc)
        .order_by(SigningKeys::Kid, Order::Desc)
        .take()
}

pub fn select_by_kid(kid: &str) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(SigningKeys::Table)
        .and_where(Expr::col(SigningKeys::Kid).eq(kid))
        .take()
}

pub fn retire_current(at: Millis) -> UpdateStatement {
    Query::update()
        .table(SigningKeys::Table)
        .value(SigningKeys::RetireAt, at)
        .and_where(Expr::col(SigningKeys::RetireAt).is_null())
        .take()
}

pub fn insert(key: &StoredSigningKey) -> InsertStatement {
    Query::insert()
        .into_table(SigningKeys::Table)
        .columns(COLUMNS)
        .values_panic([
            key.kid.clone().into(),
            key.public_key.clone().into(),
            key.sealed_private_key.clone().into(),
            key.created_at.into(),
            key.retire_at.into(),
        ])
        .take()
}
