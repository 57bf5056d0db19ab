//! The store contract: the promises the ports make, checked by calling the store traits
//! directly, on every backend (SQLite file, SQLite in memory, Postgres), in the spirit of
//! influxdb IOx's `interface_tests.rs`. Each promise runs on a fresh store.

use std::sync::Arc;

use tessera::domain::model::{PageRequest, Role, TokenRecord, User};
use tessera::domain::permission_set::PermissionSet;
use tessera::domain::ports::{Entity, Store, StoreError};
use tessera::domain::token_format::TokenKind;
use tessera::store::Backend;

use crate::db::{Kind, TestDb};
use crate::helpers::token_record;

/// A fresh, migrated store of each kind this binary tests, with what keeps it alive.
pub async fn stores() -> Vec<(&'static str, Arc<dyn Store>, Option<TestDb>)> {
    let mut out = Vec::new();
    match crate::BACKEND {
        Kind::Sqlite => {
            let db = TestDb::fresh().await;
            let file = crate::db::open(&db.url).await;
            out.push(("sqlite file", file.store(), Some(db)));
            let memory = crate::db::open("sqlite::memory:").await;
            out.push(("sqlite memory", memory.store(), None));
        }
        Kind::Postgres => {
            let db = TestDb::fresh().await;
            let pg: Backend = crate::db::open(&db.url).await;
            out.push(("postgres", pg.store(), Some(db)));
        }
    }
    out
}

/// Role `name`, whose id (in these tests) is `id-<name>`, as `token_record`'s PATs expect.
fn role(name: &str, permissions: &str) -> Role {
    Role {
        id: format!("id-{name}"),
        name: name.into(),
        permissions: PermissionSet::from_stored(permissions),
        description: String::new(),
    }
}

/// A user holding `roles`, enabled, with no password or TOTP.
pub fn user(id: &str, name: &str, roles: &[&str]) -> User {
    User {
        id: id.into(),
        name: name.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        disabled: false,
        created_at: 1,
        has_password: false,
        totp_enabled: false,
    }
}

fn page(after: Option<String>, limit: u32) -> PageRequest {
    PageRequest { after, limit }
}

/// Runs `promise` on a fresh store of every kind, naming the kind when it fails.
macro_rules! on_every_store {
    ($promise:ident) => {
        for (kind, store, _keep) in stores().await {
            eprintln!("store contract: {} on {kind}", stringify!($promise));
            $promise(store.clone()).await;
        }
    };
}

#[tokio::test]
async fn usage_never_moves_backwards() {
    async fn promise(s: Arc<dyn Store>) {
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        // More tokens than one flush chunk, so the write spans several transactions.
        let ids: Vec<String> = (0..300).map(|i| format!("t{i:03}")).collect();
        let tokens: Vec<TokenRecord> = ids
            .iter()
            .map(|id| token_record(id, "u1", TokenKind::ApiKey, None))
            .collect();
        s.insert_tokens(&tokens).await.expect("tokens");
        let at = |t: i64| ids.iter().map(|id| (id.clone(), t)).collect::<Vec<_>>();
        s.record_usage(&at(100)).await.expect("usage");
        s.record_usage(&at(50)).await.expect("older usage");
        for id in [&ids[0], &ids[299]] {
            let t = s.get_token(id).await.expect("read").expect("token");
            assert_eq!(t.last_used_at, Some(100), "{id}");
        }
        s.record_usage(&at(200)).await.expect("newer usage");
        let t = s.get_token(&ids[150]).await.expect("read").expect("token");
        assert_eq!(t.last_used_at, Some(200));
        // Usage for a token that does not exist is no error and creates nothing.
        s.record_usage(&[("nope".into(), 5)])
            .await
            .expect("unknown");
        assert!(s.get_token("nope").await.expect("read").is_none());
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn deleting_a_role_revokes_its_pats_in_the_same_transaction() {
    async fn promise(s: Arc<dyn Store>) {
        s.create_role(&role("r", "read:*"), 1).await.expect("role");
        s.create_user(&user("u1", "ann", &["r"]))
            .await
            .expect("user");
        s.insert_token(&token_record("p1", "u1", TokenKind::Pat, Some("r")))
            .await
            .expect("pat");
        // Held by a user: refused, and the PAT revocation in the same transaction undone.
        let held = s.delete_role("r", 10).await;
        assert!(
            matches!(&held, Err(StoreError::InUse { entity: Entity::Role, key }) if key == "r"),
            "{held:?}"
        );
        let pat = s.get_token("p1").await.expect("read").expect("pat");
        assert_eq!(pat.revoked_at, None, "a refused delete revoked nothing");
        s.set_user_roles("u1", &[]).await.expect("drop role");
        assert_eq!(s.delete_role("r", 20).await.expect("delete"), 1);
        let pat = s.get_token("p1").await.expect("read").expect("pat");
        assert_eq!(pat.revoked_at, Some(20));
        // A new role of the same name does not bring the PAT back.
        s.create_role(&role("r", "read:*"), 30)
            .await
            .expect("again");
        let pat = s.get_token("p1").await.expect("read").expect("pat");
        assert_eq!(pat.revoked_at, Some(20));
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn revoking_is_idempotent() {
    async fn promise(s: Arc<dyn Store>) {
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        for id in ["a", "b", "c"] {
            s.insert_token(&token_record(id, "u1", TokenKind::ApiKey, None))
                .await
                .expect("token");
        }
        assert_eq!(s.revoke_token("a", None, 10).await.expect("revoke"), 1);
        assert_eq!(s.revoke_token("a", None, 11).await.expect("again"), 0);
        assert_eq!(
            s.revoke_token("b", Some("other"), 12)
                .await
                .expect("not theirs"),
            0
        );
        assert_eq!(s.revoke_subject("u1", 13).await.expect("subject"), 2);
        assert_eq!(s.revoke_subject("u1", 14).await.expect("again"), 0);
        let a = s.get_token("a").await.expect("read").expect("a");
        assert_eq!(a.revoked_at, Some(10), "the first revocation's time stays");
        let c = s.get_token("c").await.expect("read").expect("c");
        assert_eq!(c.revoked_at, Some(13));
        assert_eq!(s.revoke_token("nope", None, 15).await.expect("unknown"), 0);
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn token_pages_are_stable_under_inserts() {
    async fn promise(s: Arc<dyn Store>) {
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        s.create_user(&user("u2", "bob", &[])).await.expect("user");
        for i in 0..5 {
            s.insert_token(&token_record(
                &format!("a{i}"),
                "u1",
                TokenKind::ApiKey,
                None,
            ))
            .await
            .expect("token");
        }
        let first = s.list_tokens("u1", &page(None, 2)).await.expect("page");
        let mut seen: Vec<String> = first.items.iter().map(|t| t.id.clone()).collect();
        assert_eq!(seen, ["a0", "a1"]);
        // Inserted mid-listing, for this user and another: later pages show this user's
        // new tokens after the old ones, and nothing twice or missing.
        for i in 5..8 {
            s.insert_token(&token_record(
                &format!("a{i}"),
                "u1",
                TokenKind::ApiKey,
                None,
            ))
            .await
            .expect("token");
            s.insert_token(&token_record(
                &format!("b{i}"),
                "u2",
                TokenKind::ApiKey,
                None,
            ))
            .await
            .expect("token");
        }
        let mut next = first.next;
        while let Some(after) = next {
            let p = s
                .list_tokens("u1", &page(Some(after), 2))
                .await
                .expect("page");
            seen.extend(p.items.iter().map(|t| t.id.clone()));
            next = p.next;
        }
        let want: Vec<String> = (0..8).map(|i| format!("a{i}")).collect();
        assert_eq!(seen, want);
        let bad = s.list_tokens("u1", &page(Some("x".into()), 2)).await;
        assert!(matches!(bad, Err(StoreError::InvalidCursor)), "{bad:?}");
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn names_and_ids_are_unique() {
    async fn promise(s: Arc<dyn Store>) {
        s.create_role(&role("r", "read:*"), 1).await.expect("role");
        let again = s.create_role(&role("r", "write:*"), 2).await;
        assert!(
            matches!(&again, Err(StoreError::Conflict { entity: Entity::Role, key }) if key == "r"),
            "{again:?}"
        );
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        let twin = s.create_user(&user("u2", "ann", &["r"])).await;
        assert!(
            matches!(&twin, Err(StoreError::Conflict { entity: Entity::User, key }) if key == "ann"),
            "{twin:?}"
        );
        assert!(
            s.get_user("u2").await.expect("read").is_none(),
            "nothing half-written"
        );
        s.insert_token(&token_record("t", "u1", TokenKind::ApiKey, None))
            .await
            .expect("token");
        let dup = s
            .insert_token(&token_record("t", "u1", TokenKind::ApiKey, None))
            .await;
        assert!(
            matches!(&dup, Err(StoreError::Conflict { entity: Entity::Token, key }) if key == "t"),
            "{dup:?}"
        );
        // A batch with one duplicate inserts none of it.
        let batch = [
            token_record("n1", "u1", TokenKind::ApiKey, None),
            token_record("t", "u1", TokenKind::ApiKey, None),
        ];
        assert!(s.insert_tokens(&batch).await.is_err());
        assert!(s.get_token("n1").await.expect("read").is_none());
        assert_eq!(
            s.get_role("r")
                .await
                .expect("read")
                .expect("r")
                .permissions
                .to_stored(),
            "read:*"
        );
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn a_missing_entity_is_not_found_with_its_key() {
    async fn promise(s: Arc<dyn Store>) {
        fn missing<T: std::fmt::Debug>(e: StoreResult<T>, want: Entity, key: &str) {
            match e {
                Err(StoreError::NotFound { entity, key: k }) if entity == want && k == key => {}
                other => panic!("expected {want} {key:?} not found, got {other:?}"),
            }
        }
        use tessera::domain::ports::StoreResult;
        let perms = PermissionSet::from_stored("read:*");
        missing(
            s.set_role_permissions("ghost", &perms, 1).await,
            Entity::Role,
            "ghost",
        );
        missing(s.delete_role("ghost", 1).await, Entity::Role, "ghost");
        missing(s.set_user_roles("usr_x", &[]).await, Entity::User, "usr_x");
        missing(
            s.set_user_disabled("usr_x", true).await,
            Entity::User,
            "usr_x",
        );
        missing(
            s.create_user(&user("u1", "ann", &["ghost"])).await,
            Entity::Role,
            "ghost",
        );
        assert!(
            s.get_user("u1").await.expect("read").is_none(),
            "nothing half-written"
        );
        missing(
            s.insert_token(&token_record("t", "usr_x", TokenKind::ApiKey, None))
                .await,
            Entity::User,
            "usr_x",
        );
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        missing(
            s.set_user_roles("u1", &["ghost".into()]).await,
            Entity::Role,
            "ghost",
        );
        assert!(s.get_role("ghost").await.expect("read").is_none());
        assert!(s.token_access("t").await.expect("read").is_none());
        assert!(s.get_token("t").await.expect("read").is_none());
    }
    on_every_store!(promise);
}

#[tokio::test]
async fn concurrent_role_replacements_all_commit_and_never_merge() {
    async fn promise(s: Arc<dyn Store>) {
        for r in ["a", "b", "c", "d"] {
            s.create_role(&role(r, "read:*"), 1).await.expect("role");
        }
        s.create_user(&user("u1", "ann", &[])).await.expect("user");
        s.create_user(&user("u2", "bob", &[])).await.expect("user");
        let lists = [
            vec!["a".to_owned(), "b".to_owned()],
            vec!["c".to_owned(), "d".to_owned()],
        ];
        // Two writers on one user, one on another, one inserting tokens, all at once: under
        // SQLite's deferred transactions about a third of these failed with SQLITE_BUSY.
        let mut tasks = Vec::new();
        for i in 0..40 {
            let list = lists[i % 2].clone();
            let (a, b, c) = (s.clone(), s.clone(), s.clone());
            let l1 = list.clone();
            tasks.push(tokio::spawn(async move {
                a.set_user_roles("u1", &l1).await.map(|u| u.roles)
            }));
            tasks.push(tokio::spawn(async move {
                b.set_user_roles("u2", &list).await.map(|u| u.roles)
            }));
            tasks.push(tokio::spawn(async move {
                c.insert_token(&token_record(
                    &format!("t{i}"),
                    "u2",
                    TokenKind::ApiKey,
                    None,
                ))
                .await
                .map(|()| Vec::new())
            }));
        }
        for task in tasks {
            let roles = task
                .await
                .expect("task")
                .expect("every concurrent write commits");
            assert!(
                roles.is_empty() || lists.contains(&roles),
                "merged: {roles:?}"
            );
        }
        let u1 = s.get_user("u1").await.expect("read").expect("u1");
        assert!(lists.contains(&u1.roles), "merged: {:?}", u1.roles);
    }
    on_every_store!(promise);
}
