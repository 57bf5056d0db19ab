//! The user port for every SQL backend.

use std::collections::HashMap;

use async_trait::async_trait;

use super::rows::{Columns, finish_page, probe_limit, user_from_row};
use super::schema::users as q;
use super::{SqlBackend, SqlStore, SqlTx, audit_in, finish};
use crate::domain::model::{Page, PageRequest, User};
use crate::domain::ports::{Entity, StoreError, StoreResult, UserStore};

impl<B: SqlBackend> SqlStore<B> {
    pub(super) async fn attach_roles(&self, users: &mut [User]) -> StoreResult<()> {
        if users.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for row in self
            .fetch_all(B::render(&q::select_user_roles(&ids)))
            .await?
        {
            by_user
                .entry(row.text("user_id")?)
                .or_default()
                .push(row.text("role_name")?);
        }
        for user in users {
            user.roles = by_user.remove(&user.id).unwrap_or_default();
        }
        Ok(())
    }

    async fn select_user(&self, query: sea_query::SelectStatement) -> StoreResult<Option<User>> {
        let Some(row) = self.fetch_optional(B::render(&query)).await? else {
            return Ok(None);
        };
        let mut users = [user_from_row(&row)?];
        self.attach_roles(&mut users).await?;
        let [user] = users;
        Ok(Some(user))
    }

    async fn require_user(&self, id: &str) -> StoreResult<User> {
        self.select_user(q::select_user(id))
            .await?
            .ok_or_else(|| StoreError::not_found(Entity::User, id))
    }
}

/// Inserts `user_id`'s role rows; a foreign-key failure means an unknown role.
async fn insert_roles<X: SqlTx, B: SqlBackend>(
    tx: &mut X,
    user_id: &str,
    roles: &[String],
) -> StoreResult<()> {
    for role in roles {
        let unknown = || StoreError::not_found(Entity::Role, role);
        tx.execute(B::render(&q::insert_user_role(user_id, role)))
            .await
            .map_err(|e| e.or_constraint(|| StoreError::conflict(Entity::Role, role), unknown))?;
    }
    Ok(())
}

#[async_trait]
impl<B: SqlBackend> UserStore for SqlStore<B> {
    async fn create_user(&self, user: &User) -> StoreResult<()> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                let taken = || StoreError::conflict(Entity::User, &user.name);
                tx.execute(B::render(&q::insert_user(user)))
                    .await
                    .map_err(|e| e.or_constraint(taken, taken))?;
                insert_roles::<_, B>(&mut tx, &user.id, &user.roles).await?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(())
            }
            .await;
            finish(tx, outcome).await
        })
        .await
    }

    async fn set_user_roles(&self, id: &str, roles: &[String]) -> StoreResult<User> {
        self.write(async {
            let mut tx = self.backend.begin().await?;
            let outcome = async {
                // Lock the user row first (Postgres; SQLite's BEGIN IMMEDIATE already holds
                // the write lock): concurrent replacements of one user's roles, from any
                // replica, then run one after the other instead of interleaving their
                // deletes and inserts, which could fail or merge two role lists.
                let locked = q::select_user(id)
                    .lock(sea_query::LockType::Update)
                    .to_owned();
                if tx.fetch_optional(B::render(&locked)).await?.is_none() {
                    return Err(StoreError::not_found(Entity::User, id));
                }
                tx.execute(B::render(&q::delete_user_roles(id))).await?;
                insert_roles::<_, B>(&mut tx, id, roles).await?;
                audit_in::<B, _>(&mut tx).await?;
                Ok(())
            }
            .await;
            finish(tx, outcome).await
        })
        .await?;
        self.require_user(id).await
    }

    async fn set_user_disabled(&self, id: &str, disabled: bool) -> StoreResult<User> {
        let st = B::render(&q::update_user_disabled(id, disabled));
        if self.execute(st, |e| e.into_store()).await? == 0 {
            return Err(StoreError::not_found(Entity::User, id));
        }
        self.require_user(id).await
    }

    async fn get_user(&self, id: &str) -> StoreResult<Option<User>> {
        self.select_user(q::select_user(id)).await
    }

    async fn get_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        self.select_user(q::select_user_by_name(name)).await
    }

    async fn list_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        let st = B::render(&q::list_users(page.after.as_deref(), probe_limit(page)));
        let users = self
            .fetch_all(st)
            .await?
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut page = finish_page(users, page, |u| u.name.clone());
        self.attach_roles(&mut page.items).await?;
        Ok(page)
    }

    async fn count_users(&self) -> StoreResult<u64> {
        let n = match self.fetch_optional(B::render(&q::count_users())).await? {
            Some(row) => row.int("n")?,
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
