//! Users and their role assignments, for every SQL backend.

use std::collections::HashMap;

use super::{Db, exec_in, map_err, sql};
use crate::domain::model::{Page, PageRequest, User};
use crate::store::rows::{Columns, finish_page, probe_limit, user_from_row};
use crate::store::{StoreError, StoreResult, schema};

/// Inside a user write, a foreign-key failure on `user_roles` means an unknown role.
fn unknown_role(role: &str) -> impl Fn(StoreError) -> StoreError + '_ {
    move |e| match e {
        StoreError::InUse(_) => StoreError::NotFound(format!("role {role:?}")),
        other => other,
    }
}

impl Db {
    async fn attach_roles(&self, users: &mut [User]) -> StoreResult<()> {
        if users.is_empty() {
            return Ok(());
        }
        let ids: Vec<String> = users.iter().map(|u| u.id.clone()).collect();
        let mut by_user: HashMap<String, Vec<String>> = HashMap::new();
        for row in self
            .fetch_all(sql(&schema::select_user_roles(&ids)))
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

    pub(in super::super) async fn select_user(
        &self,
        query: sea_query::SelectStatement,
    ) -> StoreResult<Option<User>> {
        let Some(row) = self.fetch_optional(sql(&query)).await? else {
            return Ok(None);
        };
        let mut users = [user_from_row(&row)?];
        self.attach_roles(&mut users).await?;
        let [user] = users;
        Ok(Some(user))
    }

    async fn require_user(&self, id: &str) -> StoreResult<User> {
        self.select_user(schema::select_user(id))
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id:?}")))
    }

    pub(in super::super) async fn insert_user(&self, user: &User) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(map_err("user"))?;
        exec_in(&mut tx, &schema::insert_user(user), "user")
            .await
            .map_err(|e| match e {
                StoreError::AlreadyExists(_) => {
                    StoreError::AlreadyExists(format!("user {:?}", user.name))
                }
                other => other,
            })?;
        for role in &user.roles {
            exec_in(&mut tx, &schema::insert_user_role(&user.id, role), "role")
                .await
                .map_err(unknown_role(role))?;
        }
        tx.commit().await.map_err(map_err("user"))
    }

    pub(in super::super) async fn replace_user_roles(
        &self,
        id: &str,
        roles: &[String],
    ) -> StoreResult<User> {
        let mut tx = self.pool.begin().await.map_err(map_err("user"))?;
        // Lock the user row first: concurrent replacements of one user's roles (from any
        // replica) then run one after the other instead of interleaving their deletes and
        // inserts, which under READ COMMITTED could fail or merge two role lists.
        let (q, v) = sql(&*schema::select_user(id).lock(sea_query::LockType::Update));
        let exists = sqlx::query_with(sqlx::AssertSqlSafe(q), v)
            .fetch_optional(&mut *tx)
            .await
            .map_err(map_err("user"))?
            .is_some();
        if !exists {
            return Err(StoreError::NotFound(format!("user {id:?}")));
        }
        exec_in(&mut tx, &schema::delete_user_roles(id), "user").await?;
        for role in roles {
            exec_in(&mut tx, &schema::insert_user_role(id, role), "role")
                .await
                .map_err(unknown_role(role))?;
        }
        tx.commit().await.map_err(map_err("user"))?;
        self.require_user(id).await
    }

    pub(in super::super) async fn update_user_disabled(
        &self,
        id: &str,
        disabled: bool,
    ) -> StoreResult<User> {
        let done = self
            .execute(sql(&schema::update_user_disabled(id, disabled)), "user")
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id:?}")));
        }
        self.require_user(id).await
    }

    pub(in super::super) async fn page_users(&self, page: &PageRequest) -> StoreResult<Page<User>> {
        let q = schema::list_users(page.after.as_deref(), probe_limit(page));
        let users = self
            .fetch_all(sql(&q))
            .await?
            .iter()
            .map(user_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        let mut page = finish_page(users, page, |u| u.name.clone());
        self.attach_roles(&mut page.items).await?;
        Ok(page)
    }

    pub(in super::super) async fn count_all_users(&self) -> StoreResult<u64> {
        let row = self.fetch_optional(sql(&schema::count_users())).await?;
        let n: i64 = match row {
            Some(r) => {
                use sqlx::Row;
                r.try_get(0)
                    .map_err(|e| StoreError::Internal(Box::new(e)))?
            }
            None => 0,
        };
        Ok(u64::try_from(n).unwrap_or(0))
    }
}
