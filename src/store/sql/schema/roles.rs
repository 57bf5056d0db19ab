//! Statements on roles.

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Iden, InsertStatement, Order, Query, SelectStatement,
    UpdateStatement,
};

use crate::domain::clock::Millis;
use crate::domain::model::Role;
use crate::domain::permission_set::PermissionSet;

#[derive(Iden, Clone, Copy)]
pub enum Roles {
    Table,
    Id,
    Name,
    Description,
    Permissions,
    CreatedAt,
    UpdatedAt,
}

pub const ROLE_COLUMNS: [Roles; 4] = [
    Roles::Id,
    Roles::Name,
    Roles::Description,
    Roles::Permissions,
];

pub fn insert_role(role: &Role, now: Millis) -> InsertStatement {
    Query::insert()
        .into_table(Roles::Table)
        .columns([
            Roles::Id,
            Roles::Name,
            Roles::Description,
            Roles::Permissions,
            Roles::CreatedAt,
            Roles::UpdatedAt,
        ])
        .values_panic([
            role.id.clone().into(),
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
