//! Statements on tokens, including the check path's read.

use sea_query::{
    CommonTableExpression, Expr, ExprTrait, Iden, InsertStatement, JoinType, Order, Query,
    SelectStatement, UnionType, UpdateStatement, WithClause, WithQuery,
};

use super::clients::OauthClients;
use super::roles::Roles;
use super::users::{UserRoles, Users};
use crate::domain::clock::Millis;
use crate::domain::model::TokenRecord;
use crate::domain::permission_set::PermissionSet;
use crate::domain::token_format::TokenKind;

#[derive(Iden, Clone, Copy)]
pub enum Tokens {
    Table,
    Seq,
    Id,
    Kind,
    Name,
    Subject,
    Role,
    RoleId,
    SecretHash,
    Scopes,
    Cap,
    ReadOnly,
    IssuedAt,
    ExpiresAt,
    LastUsedAt,
    RevokedAt,
    CreatedBy,
    /// The OAuth client an access or refresh token was issued to (migration 0011).
    ClientId,
    /// The OAuth grant an access or refresh token came from (migration 0011).
    GrantId,
}

pub(super) const TOKEN_COLUMNS: [Tokens; 18] = [
    Tokens::Seq,
    Tokens::Id,
    Tokens::Kind,
    Tokens::Name,
    Tokens::Subject,
    Tokens::Role,
    Tokens::RoleId,
    Tokens::SecretHash,
    Tokens::Scopes,
    Tokens::Cap,
    Tokens::ReadOnly,
    Tokens::IssuedAt,
    Tokens::ExpiresAt,
    Tokens::LastUsedAt,
    Tokens::RevokedAt,
    Tokens::CreatedBy,
    Tokens::ClientId,
    Tokens::GrantId,
];

/// Inserts the token if its subject exists: a user, or, for an app's own token, its client
/// (no foreign key can say "a user or a client"). No row inserted means no such subject.
pub fn insert_token(t: &TokenRecord) -> InsertStatement {
    insert_selected(checked_row(t))
}

/// Inserts the rows `rows` selects (each from `checked_row`, or a union of them).
pub(super) fn insert_selected(rows: SelectStatement) -> InsertStatement {
    Query::insert()
        .into_table(Tokens::Table)
        .columns(TOKEN_COLUMNS.into_iter().skip(1))
        .select_from(rows)
        .map(|q| q.to_owned())
        .expect("one value per column")
}

/// The token's row, selected only while its subject exists: a user, or the client itself
/// for a client-credentials token.
pub(super) fn checked_row(t: &TokenRecord) -> SelectStatement {
    let user = Query::select()
        .expr(Expr::val(1))
        .from(Users::Table)
        .and_where(Expr::col(Users::Id).eq(&t.subject))
        .take();
    let client = Query::select()
        .expr(Expr::val(1))
        .from(OauthClients::Table)
        .and_where(Expr::col(OauthClients::Id).eq(&t.subject))
        .and_where(Expr::val(
            t.client_id.as_deref() == Some(t.subject.as_str()),
        ))
        .take();
    Query::select()
        .exprs(token_values(t))
        .and_where(Expr::exists(user).or(Expr::exists(client)))
        .take()
}

pub(super) fn token_values(t: &TokenRecord) -> [Expr; 17] {
    let values: [sea_query::Value; 17] = [
        t.id.clone().into(),
        t.kind.as_str().into(),
        t.name.clone().into(),
        t.subject.clone().into(),
        t.role.clone().into(),
        t.role_id.clone().into(),
        t.secret_hash.clone().into(),
        t.scopes.to_stored().into(),
        t.cap.as_ref().map(PermissionSet::to_stored).into(),
        t.read_only.into(),
        t.issued_at.into(),
        t.expires_at.into(),
        t.last_used_at.into(),
        t.revoked_at.into(),
        t.created_by.clone().into(),
        t.client_id.clone().into(),
        t.grant_id.clone().into(),
    ];
    values.map(Expr::val)
}

pub fn select_token(id: &str) -> SelectStatement {
    Query::select()
        .columns(TOKEN_COLUMNS)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .take()
}

/// The check path's only query. One row for the token, with its owner's state
/// (`owner_disabled` NULL when the owner is gone), a PAT's bound role, joined by id
/// (`bound_permissions` NULL when there is none), and an OAuth token's client
/// (`client_disabled`, `client_scopes`; NULL when there is none), then one row per role the owner holds
/// (`role_name`, `held_role_id`, `role_permissions`; every other column NULL).
///
/// Why not one plain join: every role row would repeat the token's columns, so a token
/// capped at 10,000 permissions held through 40 roles copied its cap 40 times a check.
pub fn select_token_access(id: &str) -> WithQuery {
    let (t, bound) = ("t", "bound");
    let token = Query::select()
        .columns(TOKEN_COLUMNS)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .take();
    let null = || Expr::cust("NULL");
    let mut access = Query::select();
    access
        .columns(TOKEN_COLUMNS.map(|c| (t, c)))
        .expr_as(Expr::col((Users::Table, Users::Disabled)), "owner_disabled")
        .expr_as(null(), "role_name")
        .expr_as(null(), "held_role_id")
        .expr_as(null(), "role_permissions")
        .expr_as(Expr::col((bound, Roles::Permissions)), "bound_permissions")
        .expr_as(
            Expr::col((OauthClients::Table, OauthClients::Disabled)),
            "client_disabled",
        )
        .expr_as(
            Expr::col((OauthClients::Table, OauthClients::Scopes)),
            "client_scopes",
        )
        .from(t)
        .left_join(
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((t, Tokens::Subject)),
        )
        .join_as(
            JoinType::LeftJoin,
            Roles::Table,
            bound,
            Expr::col((bound, Roles::Id)).equals((t, Tokens::RoleId)),
        )
        .left_join(
            OauthClients::Table,
            Expr::col((OauthClients::Table, OauthClients::Id)).equals((t, Tokens::ClientId)),
        );
    let mut roles = Query::select();
    for _ in TOKEN_COLUMNS {
        roles.expr(null());
    }
    roles
        .expr(null())
        .expr(Expr::col((Roles::Table, Roles::Name)))
        .expr(Expr::col((Roles::Table, Roles::Id)))
        .expr(Expr::col((Roles::Table, Roles::Permissions)))
        .expr(null())
        .expr(null())
        .expr(null())
        .from(t)
        .inner_join(
            UserRoles::Table,
            Expr::col((UserRoles::Table, UserRoles::UserId)).equals((t, Tokens::Subject)),
        )
        .inner_join(
            Roles::Table,
            Expr::col((Roles::Table, Roles::Name)).equals((UserRoles::Table, UserRoles::RoleName)),
        );
    access.union(UnionType::All, roles);
    let cte = CommonTableExpression::new()
        .query(token)
        .table_name(t)
        .to_owned();
    access.with(WithClause::new().cte(cte).to_owned())
}

/// How many of a subject's tokens are active at `now` (`live`), counting no further than
/// `up_to`: neither revoked nor expired. Through the partial index of migration 0009, so
/// revoked history costs nothing, and the count stops at the quota, so a user with many
/// tokens costs no more than one at the quota.
pub fn count_active(subject: &str, now: Millis, up_to: u32) -> SelectStatement {
    let active = Query::select()
        .column(Tokens::Id)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Subject).eq(subject))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .and_where(
            Expr::col(Tokens::ExpiresAt)
                .is_null()
                .or(Expr::col(Tokens::ExpiresAt).gt(now)),
        )
        .limit(u64::from(up_to))
        .take();
    Query::select()
        .expr_as(Expr::col(Tokens::Id).count(), "live")
        .from_subquery(active, "active")
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

/// Revokes a token (optionally only the owner's) and every token derived from it.
pub use super::token_ends::{end_token_at, revoke_live};

pub fn revoke_token(id: &str, owner: Option<&str>, now: Millis) -> WithQuery {
    let mut root = roots();
    root.and_where(Expr::col(Tokens::Id).eq(id));
    if let Some(owner) = owner {
        root.and_where(Expr::col(Tokens::Subject).eq(owner));
    }
    revoke_lineage(root, now)
}

/// Revokes every token of a subject and every token derived from them.
pub fn revoke_subject(subject: &str, now: Millis) -> WithQuery {
    let mut root = roots();
    root.and_where(Expr::col(Tokens::Subject).eq(subject));
    revoke_lineage(root, now)
}

pub(super) fn roots() -> SelectStatement {
    Query::select()
        .column(Tokens::Id)
        .from(Tokens::Table)
        .take()
}

/// Revokes the live tokens among `roots` and their descendants, in one statement: derived
/// tokens follow their source. The walk follows `created_by` (indexed, migration 0006)
/// over revoked rows too, so a live grandchild under a child revoked earlier is reached.
/// UNION, not UNION ALL: a row seen twice is not walked again, so a cycle made by hand
/// ends the walk instead of looping. Already revoked rows are untouched, so the count
/// says what this call did.
///
/// On Postgres the rows are locked in id order first (`ORDER BY id FOR UPDATE`), so two
/// cascades over overlapping trees (a subject's tokens and one of their parents, revoked
/// at once) queue instead of deadlocking; the usage flush skips locked rows anyway.
pub(super) fn revoke_lineage(roots: SelectStatement, now: Millis) -> WithQuery {
    let tree = "lineage";
    let mut walk = roots;
    walk.union(
        UnionType::Distinct,
        Query::select()
            .column((Tokens::Table, Tokens::Id))
            .from(Tokens::Table)
            .inner_join(
                tree,
                Expr::col((tree, Tokens::Id)).equals((Tokens::Table, Tokens::CreatedBy)),
            )
            .take(),
    );
    let cte = CommonTableExpression::new()
        .query(walk)
        .column(Tokens::Id)
        .table_name(tree)
        .to_owned();
    let live = Query::select()
        .column(Tokens::Id)
        .from(Tokens::Table)
        .and_where(
            Expr::col(Tokens::Id).in_subquery(Query::select().column(Tokens::Id).from(tree).take()),
        )
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .order_by(Tokens::Id, Order::Asc)
        .lock(sea_query::LockType::Update)
        .take();
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::RevokedAt, now)
        .and_where(Expr::col(Tokens::Id).in_subquery(live))
        .and_where(Expr::col(Tokens::RevokedAt).is_null())
        .take()
        .with(WithClause::new().recursive(true).cte(cte).to_owned())
}

/// Moves `last_used_at` forward only, so batches written out of order never rewind it.
/// One row per statement, on purpose: Postgres's token trigger (migration 0004) treats a
/// statement changing more than 100 rows as "flush everything" without comparing columns,
/// so a many-row usage statement would empty every replica's cache on each flush.
///
/// On Postgres the row is taken `FOR UPDATE SKIP LOCKED`: the usage flush never waits for a
/// row lock, so it cannot deadlock with a revocation (or another replica's flush) whatever
/// order they lock in. A token locked at that moment keeps its older time, which only a
/// later use moves on; a time is a hint, a revocation is not.
pub fn update_last_used(id: &str, at: Millis) -> UpdateStatement {
    let free = Query::select()
        .column(Tokens::Id)
        .from(Tokens::Table)
        .and_where(Expr::col(Tokens::Id).eq(id))
        .and_where(
            Expr::col(Tokens::LastUsedAt)
                .is_null()
                .or(Expr::col(Tokens::LastUsedAt).lt(at)),
        )
        .lock_with_behavior(
            sea_query::LockType::Update,
            sea_query::LockBehavior::SkipLocked,
        )
        .take();
    Query::update()
        .table(Tokens::Table)
        .value(Tokens::LastUsedAt, at)
        .and_where(Expr::col(Tokens::Id).in_subquery(free))
        .take()
}

/// Revokes the PATs bound to a role (when it is deleted, by name, inside the deleting
/// transaction) and every token derived from them.
pub fn revoke_role_pats(role: &str, now: Millis) -> WithQuery {
    let id = Query::select()
        .column(Roles::Id)
        .from(Roles::Table)
        .and_where(Expr::col(Roles::Name).eq(role))
        .take();
    let mut root = roots();
    root.and_where(Expr::col(Tokens::Kind).eq(TokenKind::Pat.as_str()))
        .and_where(Expr::col(Tokens::RoleId).in_subquery(id));
    revoke_lineage(root, now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn statements_render_with_placeholders() {
        let (sql, _) = select_token("abc").build(SqliteQueryBuilder);
        assert!(sql.contains(r#"FROM "tokens" WHERE "id" = ?"#), "{sql}");
        let (sql, values) = revoke_token("abc", Some("u1"), 5).build(SqliteQueryBuilder);
        assert!(sql.starts_with("WITH RECURSIVE"), "{sql}");
        let (pg, _) = revoke_token("abc", None, 5).build(PostgresQueryBuilder);
        assert!(pg.contains(r#"ORDER BY "id" ASC FOR UPDATE"#), "{pg}");
        assert!(sql.contains(r#""revoked_at" IS NULL"#), "{sql}");
        assert_eq!(values.0.len(), 3);
    }

    #[test]
    fn the_usage_flush_skips_locked_rows_on_postgres_only() {
        let (pg, _) = update_last_used("t", 1).build(PostgresQueryBuilder);
        assert!(pg.contains("FOR UPDATE SKIP LOCKED"), "{pg}");
        let (lite, _) = update_last_used("t", 1).build(SqliteQueryBuilder);
        assert!(!lite.contains("FOR UPDATE"), "{lite}");
    }
}
