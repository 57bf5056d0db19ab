//! Every statement tessera runs, written once with sea-query for all SQL dialects.
//!
//! A backend renders these with its own query builder (`SqliteQueryBuilder` or
//! `PostgresQueryBuilder`) and runs them on its own typed pool; no SQL is written per dialect.

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Func, Iden, InsertStatement, Order, Query, SelectStatement,
    UpdateStatement,
};

use crate::domain::clock::Millis;
use crate::domain::model::{Role, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;

#[derive(Iden, Clone, Copy)]
pub enum Roles {
    Table,
    Name,
    Description,
    Permissions,
    CreatedAt,
    UpdatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum Users {
    Table,
    Id,
    Name,
    Disabled,
    CreatedAt,
}

#[derive(Iden, Clone, Copy)]
pub enum UserRoles {
    Table,
    UserId,
    RoleName,
}

#[derive(Iden, Clone, Copy)]
pub enum Tokens {
    Table,
    Seq,
    Id,
    Kind,
    Name,
    Subject,
    Role,
    SecretHash,
    Scopes,
    Cap,
    ReadOnly,
    IssuedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedBy,
}

/// Postgres only: the change feed's revision counter (one row).
#[derive(Iden, Clone, Copy)]
pub enum ChangeRevision {
    Table,
    Id,
    Revision,
}

const ROLE_COLUMNS: [Roles; 3] = [Roles::Name, Roles::Description, Roles::Permissions];
const USER_COLUMNS: [Users; 4] = [Users::Id, Users::Name, Users::Disabled, Users::CreatedAt];
const TOKEN_COLUMNS: [Tokens; 15] = [
    Tokens::Seq,
    Tokens::Id,
    Tokens::Kind,
    Tokens::Name,
    Tokens::Subject,
    Tokens::Role,
    Tokens::SecretHash,
    Tokens::Scopes,
    Tokens::Cap,
    Tokens::ReadOnly,
    Tokens::IssuedAt,
    Tokens::ExpiresAt,
    Tokens::LastUsedAt,
    Tokens::RevokedAt,
    Tokens::CreatedBy,
];

pub fn ping() -> SelectStatement {
    Query::select().expr(Expr::val(1)).to_owned()
}

// ---- roles ----

pub fn insert_role(role: &Role, now: Millis) -> InsertStatement {
    Query::insert()
        .into_table(Roles::Table)
        .columns([
            Roles::Name,
            Roles::Description,
            Roles::Permissions,
            Roles::CreatedAt,
            Roles::UpdatedAt,
        ])
        .values_panic([
            role.name.clone().into(),
            role.description.clone().into(),
            role.permissions.to_stored().into(),
            now.into(),
            now.into(),
        ])
        .take()
}

pub fn update_role_permissions(
    name: &str,
    permissions: &PermissionSet,
    now: Millis,
) -> UpdateStatement {
    Query::update()
        .table(Roles::Table)
        .values([
            (Roles::Permissions, permissions.to_stored().into()),
            (Roles::UpdatedAt, now.into()),
        ])
        .and_where(Expr::col(Roles::Name).eq(name))
        .take()
}

pub fn select_role(name: &str) -> SelectStatement {
    Query::select()
        .columns(ROLE_COLUMNS)
        .from(Roles::Table)
        .and_where(Expr::col(Roles::Name).eq(name))
        .take()
}

pub fn select_roles_in(names: &[String]) -> SelectStatement {
    Query::select()
        .columns(ROLE_COLUMNS)
        .from(Roles::Table)
        .and_where(Expr::col(Roles::Name).is_in(names.iter().cloned()))
        .order_by(Roles::Name, Order::Asc)
        .take()
}

pub fn list_roles(after: Option<&str>, limit: u64) -> SelectStatement {
    let mut q = Query::select();
    q.columns(ROLE_COLUMNS)
        .from(Roles::Table)
        .order_by(Roles::Name, Order::Asc)
        .limit(limit);
    if let Some(after) = after {
        q.and_where(Expr::col(Roles::Name).gt(after));
    }
    q
}

pub fn delete_role(name: &str) -> DeleteStatement {
    Query::delete()
        .from_table(Roles::Table)
        .and_where(Expr::col(Roles::Name).eq(name))
        .take()
}

/// Revokes the live PATs bound to a role (when it is deleted).
pub fn revoke_role_pats(role: &str, now: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Kind).eq(TokenKind::Pat.as_str()))
        .and_where(Expr::col(Tokens::Role).eq(role))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .take()
}

// ---- users ----

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
    Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(id))
        .take()
}

pub fn select_user_by_name(name: &str) -> SelectStatement {
    Query::select()
        .columns(USER_COLUMNS)
        .from(Users::Table)
        .and_where(Expr::col(Users::Name).eq(name))
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
    let mut q = Query::select();
    q.columns(USER_COLUMNS)
        .from(Users::Table)
        .order_by(Users::Name, Order::Asc)
        .limit(limit);
    if let Some(after) = after {
        q.and_where(Expr::col(Users::Name).gt(after));
    }
    q
}

pub fn count_users() -> SelectStatement {
    Query::select()
        .expr(Func::count(Expr::col(Users::Id)))
        .from(Users::Table)
        .take()
}

// ---- tokens ----

pub fn insert_token(t: &TokenRecord) -> InsertStatement {
    Query::insert()
        .into_table(Tokens::Table)
        .columns(TOKEN_COLUMNS.into_iter().skip(1))
        .values_panic([
            t.id.clone().into(),
            t.kind.as_str().into(),
            t.name.clone().into(),
            t.subject.clone().into(),
            t.role.clone().into(),
            t.secret_hash.clone().into(),
            t.scopes.to_stored().into(),
            t.cap.as_ref().map(PermissionSet::to_stored).into(),
            t.read_only.into(),
            t.issued_at.into(),
            t.expires_at.into(),
            t.last_used_at.into(),
            t.revoked_at.into(),
            t.created_by.clone().into(),
        ])
        .take()
}

pub fn select_token(id: &str) -> SelectStatement {
    Query::select()
        .columns(TOKEN_COLUMNS)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .take()
}

/// One row per role the owner holds (or one row with NULL role columns), each carrying the
/// token, the owner's state (`owner_disabled` NULL when the owner is gone) and a PAT's bound
/// role (`bound_permissions` NULL when there is none). Plain joins on primary keys: this is
/// the cold check's only query.
pub fn select_token_grant(id: &str) -> SelectStatement {
    let bound = "bound";
    Query::select()
        .columns(TOKEN_COLUMNS.map(|c| (Tokens::Table, c)))
        .expr_as(Expr::col((Users::Table, Users::Disabled)), "owner_disabled")
        .expr_as(Expr::col((Roles::Table, Roles::Name)), "role_name")
        .expr_as(
            Expr::col((Roles::Table, Roles::Permissions)),
            "role_permissions",
        )
        .expr_as(Expr::col((bound, Roles::Permissions)), "bound_permissions")
        .from(Tokens::Table)
        .left_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Tokens::Table, Tokens::Subject)),
        )
        .left_join(
            UserRoles::Table,
            Expr::col((UserRoles::Table, UserRoles::UserId))
                .equals((Tokens::Table, Tokens::Subject)),
        )
        .left_join(
            Roles::Table,
            Expr::col((Roles::Table, Roles::Name)).equals((UserRoles::Table, UserRoles::RoleName)),
        )
        .join_as(
            sea_query::JoinType::LeftJoin,
            Roles::Table,
            bound,
            Expr::col((bound, Roles::Name)).equals((Tokens::Table, Tokens::Role)),
        )
        .and_where(Expr::col((Tokens::Table, Tokens::Id)).eq(id))
        .take()
}

/// A subject's tokens in issue order, after the `seq` cursor.
pub fn list_tokens(subject: &str, after_seq: Option<i64>, limit: u64) -> SelectStatement {
    let mut q = Query::select();
    q.columns(TOKEN_COLUMNS)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Subject).eq(subject))
        .order_by(Tokens::Seq, Order::Asc)
        .limit(limit);
    if let Some(after) = after_seq {
        q.and_where(Expr::col(Tokens::Seq).gt(after));
    }
    q
}

/// Revokes a live token (optionally only the owner's); already revoked rows are untouched
/// so the count says what this call did.
pub fn revoke_token(id: &str, owner: Option<&str>, now: Millis) -> UpdateStatement {
    let mut q = Query::update();
    q.table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(Expr::col(Tokens::RevokedAt).is_null());
    if let Some(owner) = owner {
        q.and_where(Expr::col(Tokens::Subject).eq(owner));
    }
    q
}

pub fn revoke_subject(subject: &str, now: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Subject).eq(subject))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .take()
}

/// Moves `last_used_at` forward only, so batches written out of order never rewind it.
pub fn update_last_used(id: &str, at: Millis) -> UpdateStatement {
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::LastUsedAt, at)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(
            Expr::col(Tokens::LastUsedAt)
                .is_null()
                .or(Expr::col(Tokens::LastUsedAt).lt(at)),
        )
        .take()
}

/// The change feed's current revision (Postgres).
pub fn select_revision() -> SelectStatement {
    Query::select()
        .column(ChangeRevision::Revision)
        .from(ChangeRevision::Table)
        .and_where(Expr::col(ChangeRevision::Id).eq(1))
        .take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::SqliteQueryBuilder;

    #[test]
    fn statements_render_with_placeholders() {
        let (sql, _) = select_token("abc").build(SqliteQueryBuilder);
        assert!(sql.contains(r#"FROM "tokens" WHERE "id" = ?"#), "{sql}");
        let (sql, values) = revoke_token("abc", Some("u1"), 5).build(SqliteQueryBuilder);
        assert!(sql.contains(r#""revoked_at" IS NULL"#), "{sql}");
        assert_eq!(values.0.len(), 3);
    }
}
