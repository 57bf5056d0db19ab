//! Statements on OAuth clients (the app registry).

use sea_query::{
    DeleteStatement, Expr, ExprTrait, Iden, InsertStatement, Order, Query, SelectStatement,
    SimpleExpr, UpdateStatement,
};

use crate::domain::clock::Millis;
use crate::domain::oauth_client::{GrantType, OAuthClient};

#[derive(Iden, Clone, Copy)]
pub enum OauthClients {
    Table,
    Id,
    Name,
    ClientType,
    RedirectUris,
    Scopes,
    GrantTypes,
    Disabled,
    CreatedAt,
    SecretHash,
    PreviousSecretHash,
    PreviousSecretUntil,
}

/// What every lookup and listing reads: never a secret's hash.
const COLUMNS: [OauthClients; 8] = [
    OauthClients::Id,
    OauthClients::Name,
    OauthClients::ClientType,
    OauthClients::RedirectUris,
    OauthClients::Scopes,
    OauthClients::GrantTypes,
    OauthClients::Disabled,
    OauthClients::CreatedAt,
];

const SECRET_COLUMNS: [OauthClients; 3] = [
    OauthClients::SecretHash,
    OauthClients::PreviousSecretHash,
    OauthClients::PreviousSecretUntil,
];

/// Redirect URIs, one per line: a redirect URI holds no whitespace (see `oauth_client`).
pub fn stored_uris(uris: &[String]) -> String {
    uris.join("\n")
}

pub fn stored_grants(grants: &[GrantType]) -> String {
    let names: Vec<&str> = grants.iter().map(|g| g.as_str()).collect();
    names.join(" ")
}

fn editable(client: &OAuthClient) -> [(OauthClients, SimpleExpr); 4] {
    [
        (OauthClients::Name, client.name.clone().into()),
        (
            OauthClients::RedirectUris,
            stored_uris(&client.redirect_uris).into(),
        ),
        (OauthClients::Scopes, client.scopes.to_stored().into()),
        (
            OauthClients::GrantTypes,
            stored_grants(&client.grant_types).into(),
        ),
    ]
}

pub fn insert(client: &OAuthClient, secret_hash: Option<&[u8]>) -> InsertStatement {
    let [name, uris, scopes, grants] = editable(client).map(|(_, v)| v);
    Query::insert()
        .into_table(OauthClients::Table)
        .columns(COLUMNS.into_iter().chain([OauthClients::SecretHash]))
        .values_panic([
            client.id.clone().into(),
            name,
            client.client_type.as_str().into(),
            uris,
            scopes,
            grants,
            client.disabled.into(),
            client.created_at.into(),
            secret_hash.map(<[u8]>::to_vec).into(),
        ])
        .take()
}

pub fn select_by_id(id: &str) -> SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(OauthClients::Table)
        .and_where(Expr::col(OauthClients::Id).eq(id))
        .take()
}

pub fn select_with_secrets(id: &str) -> SelectStatement {
    select_by_id(id).columns(SECRET_COLUMNS).take()
}

pub fn list(after: Option<&str>, limit: u64) -> SelectStatement {
    let mut q = Query::select()
        .columns(COLUMNS)
        .from(OauthClients::Table)
        .order_by(OauthClients::Id, Order::Asc)
        .limit(limit)
        .take();
    if let Some(after) = after {
        q.and_where(Expr::col(OauthClients::Id).gt(after));
    }
    q
}

pub fn update(client: &OAuthClient) -> UpdateStatement {
    Query::update()
        .table(OauthClients::Table)
        .values(editable(client))
        .and_where(Expr::col(OauthClients::Id).eq(&client.id))
        .take()
}

/// The new secret becomes current; the replaced one is kept until `previous_until`, or
/// dropped at once.
pub fn set_secret(id: &str, hash: &[u8], previous_until: Option<Millis>) -> UpdateStatement {
    let previous: Expr = match previous_until {
        Some(_) => Expr::col(OauthClients::SecretHash),
        None => Expr::val(None::<Vec<u8>>),
    };
    Query::update()
        .table(OauthClients::Table)
        .value(OauthClients::PreviousSecretHash, previous)
        .value(OauthClients::PreviousSecretUntil, previous_until)
        .value(OauthClients::SecretHash, hash.to_vec())
        .and_where(Expr::col(OauthClients::Id).eq(id))
        .take()
}

pub fn set_disabled(id: &str, disabled: bool) -> UpdateStatement {
    Query::update()
        .table(OauthClients::Table)
        .value(OauthClients::Disabled, disabled)
        .and_where(Expr::col(OauthClients::Id).eq(id))
        .take()
}

pub fn delete(id: &str) -> DeleteStatement {
    Query::delete()
        .from_table(OauthClients::Table)
        .and_where(Expr::col(OauthClients::Id).eq(id))
        .take()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    #[test]
    fn a_rotation_keeps_the_old_hash_only_with_a_grace() {
        let (kept, _) = set_secret("c", b"h", Some(5)).build(PostgresQueryBuilder);
        assert!(
            kept.contains(r#""previous_secret_hash" = "secret_hash""#),
            "{kept}"
        );
        let (dropped, values) = set_secret("c", b"h", None).build(SqliteQueryBuilder);
        assert!(
            !dropped.contains(r#""previous_secret_hash" = "secret_hash""#),
            "{dropped}"
        );
        assert_eq!(values.0.len(), 4);
    }
}
