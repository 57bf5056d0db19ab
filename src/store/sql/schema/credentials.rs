//! Statements on what users log in with: password hashes, TOTP state, failed-login counts.

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Iden, InsertStatement, OnConflict, Query, SelectStatement,
    UpdateStatement,
};

use super::tokens::Tokens;
use super::users::{Users, select_users};
use crate::domain::clock::Millis;
use crate::domain::token_format::TokenKind;

#[derive(Iden, Clone, Copy)]
pub enum LoginFailuresTable {
    #[iden = "login_failures"]
    Table,
    NameHash,
    Failures,
    LockedUntil,
}

/// A user with its secrets, for a login or a credential change only.
fn select_credentials() -> SelectStatement {
    select_users()
        .columns([Users::PasswordHash, Users::TotpSecret, Users::TotpLastStep])
        .take()
}

pub fn select_credentials_by_id(id: &str) -> SelectStatement {
    select_credentials()
        .and_where(Expr::col(Users::Id).eq(id))
        .take()
}

/// Regardless of case, through the `users_by_folded_name` index (names are ASCII).
pub fn select_credentials_by_name(name: &str) -> SelectStatement {
    select_credentials()
        .and_where(
            Expr::expr(sea_query::Func::lower(Expr::col(Users::Name)))
                .eq(name.to_ascii_lowercase()),
        )
        .take()
}

pub fn update_password(id: &str, phc: &str) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::PasswordHash, phc)
        .and_where(Expr::col(Users::Id).eq(id))
        .take()
}

/// Revokes a user's live sessions, but `keep`. Sessions are never parents (a token minted
/// with one depends on its user only), so there is no lineage to walk.
pub fn revoke_sessions(subject: &str, keep: Option<&str>, now: Millis) -> UpdateStatement {
    let mut q = Query::update();
    q.table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Subject).eq(subject))
        .and_where(Expr::col(Tokens::Kind).eq(TokenKind::Session.as_str()))
        .and_where(Expr::col(Tokens::RevokedAt).is_null());
    if let Some(keep) = keep {
        q.and_where(Expr::col(Tokens::Id).ne(keep));
    }
    q
}

/// A fresh seed, pending: only while TOTP is off, so a session without a second factor
/// cannot replace one that is on.
pub fn update_pending_totp(id: &str, sealed: &[u8]) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::TotpSecret, sealed.to_vec())
        .value(Users::TotpEnabled, false)
        .value(Users::TotpLastStep, Expr::cust("NULL"))
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::TotpEnabled).eq(false))
        .take()
}

pub fn update_enable_totp(id: &str, step: i64, sealed: &[u8]) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::TotpEnabled, true)
        .value(Users::TotpLastStep, step)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::TotpSecret).eq(sealed.to_vec()))
        .and_where(Expr::col(Users::TotpEnabled).eq(false))
        .take()
}

pub fn update_remove_totp(id: &str) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::TotpSecret, Expr::cust("NULL"))
        .value(Users::TotpEnabled, false)
        .value(Users::TotpLastStep, Expr::cust("NULL"))
        .and_where(Expr::col(Users::Id).eq(id))
        .take()
}

/// Records `step` only if it is later than the last one: one row changes or none, so of two
/// replicas accepting the same code at once, one wins.
pub fn update_totp_step(id: &str, step: i64) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::TotpLastStep, step)
        .and_where(Expr::col(Users::Id).eq(id))
        .and_where(Expr::col(Users::TotpEnabled).eq(true))
        .and_where(
            Expr::col(Users::TotpLastStep)
                .is_null()
                .or(Expr::col(Users::TotpLastStep).lt(step)),
        )
        .take()
}

/// `locked`: inside a transaction that updates the row next (Postgres `FOR UPDATE`).
pub fn select_login_failures(name_hash: &[u8], locked: bool) -> SelectStatement {
    let mut q = Query::select();
    q.columns([
        LoginFailuresTable::Failures,
        LoginFailuresTable::LockedUntil,
    ])
    .from(LoginFailuresTable::Table)
    .and_where(Expr::col(LoginFailuresTable::NameHash).eq(name_hash.to_vec()));
    if locked {
        q.lock(sea_query::LockType::Update);
    }
    q
}

/// One more failure: a new row at 1, or the row's count plus one.
pub fn count_login_attempt(name_hash: &[u8], now: Millis) -> InsertStatement {
    Query::insert()
        .into_table(LoginFailuresTable::Table)
        .columns([
            LoginFailuresTable::NameHash,
            LoginFailuresTable::Failures,
            LoginFailuresTable::LockedUntil,
        ])
        .values_panic([name_hash.to_vec().into(), 1i64.into(), now.into()])
        .on_conflict(
            OnConflict::column(LoginFailuresTable::NameHash)
                .value(
                    LoginFailuresTable::Failures,
                    Expr::col((LoginFailuresTable::Table, LoginFailuresTable::Failures)).add(1),
                )
                .to_owned(),
        )
        .take()
}

pub fn update_locked_until(name_hash: &[u8], until: Millis) -> UpdateStatement {
    Query::update()
        .table(LoginFailuresTable::Table)
        .value(LoginFailuresTable::LockedUntil, until)
        .and_where(Expr::col(LoginFailuresTable::NameHash).eq(name_hash.to_vec()))
        .take()
}

pub fn delete_login_failures(name_hash: &[u8]) -> DeleteStatement {
    Query::delete()
        .from_table(LoginFailuresTable::Table)
        .and_where(Expr::col(LoginFailuresTable::NameHash).eq(name_hash.to_vec()))
        .take()
}
