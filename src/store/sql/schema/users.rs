//! Statements on users and their role assignments.

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Func, Iden, InsertStatement, Order, Query, SelectStatement,
    UpdateStatement,
};

use crate::domain::model::User;

#[derive(Iden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    Name,
    Disabled,
    CreatedAt,
    PasswordHash,
    TotpSecret,
    TotpEnabled,
    TotpLastStep,
}

#[derive(Iden, Clone, Copy)]
pub enum UserRoles {
    Table,
    UserId,
    RoleName,
}

const USER_COLUMNS: [Users; 4] = [Users::Id, Users::Name, Users::Disabled, Users::CreatedAt];

/// A user as every listing and lookup reads it: never a secret, only whether one is set.
pub fn select_users() -> SelectStatement {
    Query::select()
        .columns(USER_COLUMNS)
        .column(Users::TotpEnabled)
        .expr_as(Expr::col(Users::PasswordHash).is_not_null(), "has_password")
        .from(Users::Table)
        .take()
}

pub fn insert_user(user: &User) -> InsertStatement {
    Query::insert()
        .into_table(Users::Table)
        .columns(USER_COLUMNS)
        .values_panic([
            user.id.clone().into(),
            user.name.clone().into(),
            user.disabled.into(),
            user.created_at.into(),
        ])
        .take()
}

pub fn insert_user_role(user_id: &str, role: &str) -> InsertStatement {
    Query::insert()
        .into_table(UserRoles::Table)
        .columns([UserRoles::UserId, UserRoles::RoleName])
        .values_panic([user_id.into(), role.into()])
        .take()
}

pub fn delete_user_roles(user_id: &str) -> DeleteStatement {
    Query::delete()
        .from_table(UserRoles::Table)
        .and_where(Expr::col(UserRoles::UserId).eq(user_id))
        .take()
}

pub fn update_user_disabled(id: &str, disabled: bool) -> UpdateStatement {
    Query::update()
        .table(Users::Table)
        .value(Users::Disabled, disabled)
        .and_where(Expr::col(Users::Id).eq(id))
        .take()
}

pub fn select_user(id: &str) -> SelectStatement {
    select_users().and_where(Expr::col(Users::Id).eq(id)).take()
}

/// Locks a user's row against other writers that lock it (Postgres `FOR NO KEY UPDATE`;
/// SQLite's writers are serial anyway, and sea-query renders no lock there). Foreign-key
/// checks of inserts referencing the user are not blocked.
pub fn lock_user(id: &str) -> SelectStatement {
    Query::select()
        .column(Users::Id)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .lock(sea_query::LockType::NoKeyUpdate)
        .take()
}

/// The user whose name equals `name` regardless of case (names are ASCII), through the
/// `users_by_folded_name` index of migration 0008.
pub fn select_user_by_name(name: &str) -> SelectStatement {
    select_users()
        .and_where(Expr::expr(Func::lower(Expr::col(Users::Name))).eq(name.to_ascii_lowercase()))
        .take()
}

/// Role names of the given users, as (user_id, role_name) rows.
pub fn select_user_roles(user_ids: &[String]) -> SelectStatement {
    Query::select()
        .columns([UserRoles::UserId, UserRoles::RoleName])
        .from(UserRoles::Table)
        .and_where(Expr::col(UserRoles::UserId).is_in(user_ids.iter().cloned()))
        .order_by(UserRoles::RoleName, Order::Asc)
        .take()
}

pub fn list_users(after: Option<&str>, limit: u64) -> SelectStatement {
    let mut q = select_users();
    q.order_by(Users::Name, Order::Asc).limit(limit);
    if let Some(after) = after {
        q.and_where(Expr::col(Users::Name).gt(after));
    }
    q
}

pub fn count_users() -> SelectStatement {
    Query::select()
        .expr_as(Func::count(Expr::col(Users::Id)), "n")
        .from(Users::Table)
        .take()
}
