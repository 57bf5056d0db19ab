//! Rows to domain values, written once for every backend.
//!
//! Every sqlx row type implements [`Columns`] through one impl over sqlx's typed `try_get`
//! (SQLite's direct reader has its own), and the mapping from columns to roles, users, tokens and the check read lives
//! here only, so the backends cannot drift apart in how they read the same schema.

use crate::domain::model::{
    ClientAccess, OwnerState, Page, PageRequest, Role, StoredSigningKey, TokenAccess, TokenRecord,
    User, UserCredentials,
};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{StoreError, StoreResult};
use crate::domain::token_format::TokenKind;

/// Typed column reads by name; a type mismatch (a hand-edited row) is an internal error.
pub trait Columns {
    fn text(&self, name: &str) -> StoreResult<String>;
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>>;
    fn int(&self, name: &str) -> StoreResult<i64>;
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>>;
    fn flag(&self, name: &str) -> StoreResult<bool>;
    fn opt_flag(&self, name: &str) -> StoreResult<Option<bool>>;
    fn bytes(&self, name: &str) -> StoreResult<Vec<u8>>;
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
}

/// Every sqlx row type (SQLite's, Postgres's) reads its columns through sqlx's typed
/// `try_get`; a type mismatch (a hand-edited row) is an internal error.
impl<R> Columns for R
where
    R: sqlx::Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn text(&self, name: &str) -> StoreResult<String> {
        column(self, name)
    }
    fn opt_text(&self, name: &str) -> StoreResult<Option<String>> {
        column(self, name)
    }
    fn int(&self, name: &str) -> StoreResult<i64> {
        column(self, name)
    }
    fn opt_int(&self, name: &str) -> StoreResult<Option<i64>> {
        column(self, name)
    }
    fn flag(&self, name: &str) -> StoreResult<bool> {
        column(self, name)
    }
    fn opt_flag(&self, name: &str) -> StoreResult<Option<bool>> {
        column(self, name)
    }
    fn bytes(&self, name: &str) -> StoreResult<Vec<u8>> {
        column(self, name)
    }
    fn opt_bytes(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        column(self, name)
    }
}

fn column<'r, R, T>(row: &'r R, name: &str) -> StoreResult<T>
where
    R: sqlx::Row,
    for<'n> &'n str: sqlx::ColumnIndex<R>,
    T: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    row.try_get(name)
        .map_err(|e| StoreError::Internal(Box::new(e)))
}

pub fn role_from_row(row: &impl Columns) -> StoreResult<Role> {
    Ok(Role {
        id: row.text("id")?,
        name: row.text("name")?,
        description: row.text("description")?,
        permissions: PermissionSet::from_stored(&row.text("permissions")?),
    })
}

/// A user row without its roles, which come from a second query.
pub fn user_from_row(row: &impl Columns) -> StoreResult<User> {
    Ok(User {
        id: row.text("id")?,
        name: row.text("name")?,
        roles: Vec::new(),
        disabled: row.flag("disabled")?,
        created_at: row.int("created_at")?,
        has_password: row.flag("has_password")?,
        totp_enabled: row.flag("totp_enabled")?,
    })
}

/// A token row and its `seq`, the pagination cursor.
pub fn token_from_row(row: &impl Columns) -> StoreResult<(i64, TokenRecord)> {
    let kind = row.text("kind")?;
    let kind = TokenKind::from_name(&kind)
        .ok_or_else(|| StoreError::internal(format!("unknown token kind {kind:?}")))?;
    let record = TokenRecord {
        id: row.text("id")?,
        kind,
        name: row.text("name")?,
        subject: row.text("subject")?,
        role: row.opt_text("role")?,
        role_id: row.opt_text("role_id")?,
        secret_hash: row.bytes("secret_hash")?,
        scopes: PermissionSet::from_stored(&row.text("scopes")?),
        cap: row
            .opt_text("cap")?
            .as_deref()
            .map(PermissionSet::from_stored),
        read_only: row.flag("read_only")?,
        issued_at: row.int("issued_at")?,
        expires_at: row.opt_int("expires_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        revoked_at: row.opt_int("revoked_at")?,
        created_by: row.opt_text("created_by")?,
        client_id: row.opt_text("client_id")?,
        grant_id: row.opt_text("grant_id")?,
    };
    Ok((row.int("seq")?, record))
}

/// The rows of `schema::select_token_access`: the token's row and one per role its owner
/// holds, in any order. `None` when there are none (unknown token).
pub fn access_from_rows(rows: &[impl Columns]) -> StoreResult<Option<TokenAccess>> {
    let mut token = None;
    let mut owner_roles = Vec::new();
    for row in rows {
        match row.opt_text("role_name")? {
            Some(name) => owner_roles.push(Role {
                id: row.text("held_role_id")?,
                permissions: PermissionSet::from_stored(&row.text("role_permissions")?),
                description: String::new(),
                name,
            }),
            None => token = Some(row),
        }
    }
    let Some(first) = token else {
        return Ok(None);
    };
    let (_, record) = token_from_row(first)?;
    let owner = match first.opt_flag("owner_disabled")? {
        Some(false) => OwnerState::Active,
        Some(true) => OwnerState::Disabled,
        None => OwnerState::Missing,
    };
    let bound_role = match (
        record.role_id.clone(),
        record.role.clone(),
        first.opt_text("bound_permissions")?,
    ) {
        (Some(id), Some(name), Some(perms)) => Some(Role {
            id,
            name,
            permissions: PermissionSet::from_stored(&perms),
            description: String::new(),
        }),
        _ => None,
    };
    let client = match first.opt_flag("client_disabled")? {
        Some(disabled) => Some(ClientAccess {
            disabled,
            scopes: PermissionSet::from_stored(&first.text("client_scopes")?),
        }),
        None => None,
    };
    // An app's own token (client credentials) acts for the client: the client is its owner.
    let owner = match (&client, &record.client_id) {
        (Some(c), Some(id)) if *id == record.subject => match c.disabled {
            false => OwnerState::Active,
            true => OwnerState::Disabled,
        },
        _ => owner,
    };
    Ok(Some(TokenAccess {
        owner,
        client,
        owner_roles,
        bound_role,
        record,
    }))
}

/// Page size plus one, to learn whether another page follows without a count.
pub fn probe_limit(page: &PageRequest) -> u64 {
    u64::from(page.limit) + 1
}

/// Cuts the probe row off and derives the next page token from the last kept item.
pub fn finish_page<T>(
    mut items: Vec<T>,
    page: &PageRequest,
    key: impl Fn(&T) -> String,
) -> Page<T> {
    let limit = page.limit as usize;
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next }
}

/// A page of tokens keyed by `seq`, with the cursor made from the last one kept.
pub fn finish_token_page(rows: Vec<(i64, TokenRecord)>, page: &PageRequest) -> Page<TokenRecord> {
    let page = finish_page(rows, page, |(seq, _)| seq.to_string());
    Page {
        items: page.items.into_iter().map(|(_, t)| t).collect(),
        next: page.next,
    }
}

/// Parses a token page cursor (a `seq`).
pub fn token_cursor(page: &PageRequest) -> StoreResult<Option<i64>> {
    page.after
        .as_deref()
        .map(|s| s.parse::<i64>().map_err(|_| StoreError::InvalidCursor))
        .transpose()
}

pub fn credentials_from_row(row: &impl Columns) -> StoreResult<UserCredentials> {
    Ok(UserCredentials {
        user: user_from_row(row)?,
        password_hash: row.opt_text("password_hash")?,
        totp_secret: row.opt_bytes("totp_secret")?,
        totp_last_step: row.opt_int("totp_last_step")?,
    })
}

pub fn signing_key_from_row(row: &impl Columns) -> StoreResult<StoredSigningKey> {
    Ok(StoredSigningKey {
        kid: row.text("kid")?,
        public_key: row.bytes("public_key")?,
        sealed_private_key: row.bytes("private_key")?,
        created_at: row.int("created_at")?,
        retire_at: row.opt_int("retire_at")?,
    })
}
