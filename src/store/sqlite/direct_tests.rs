//! The direct reader against a real SQLite file, beside the pool it must agree with.
use super::*;
use crate::domain::model::{OwnerState, TokenAccess};
use crate::domain::model::{Role, TokenRecord, User};
use crate::domain::permission_set::PermissionSet;
use crate::domain::ports::{RoleStore, TokenStore, UserStore};
use crate::domain::token_format::TokenKind;
use crate::store::sql::rows::access_from_rows;
use crate::store::sql::{HotStatements, SqlBackend, SqlStore, Statement};
use crate::store::sqlite::{Sqlite, SqliteStore};

fn perms(text: &str) -> PermissionSet {
    PermissionSet::from_stored(text)
}

/// Role `name`, whose id (in these tests) is `id-<name>`.
fn role(name: &str, permissions: &str) -> Role {
    Role {
        id: format!("id-{name}"),
        name: name.into(),
        permissions: perms(permissions),
        description: String::new(),
    }
}

fn pat(id: &str, subject: &str, role: &str) -> TokenRecord {
    TokenRecord {
        id: id.into(),
        kind: TokenKind::Pat,
        name: "ci".into(),
        subject: subject.into(),
        role: Some(role.into()),
        role_id: Some(format!("id-{role}")),
        secret_hash: vec![7; 32],
        scopes: PermissionSet::empty(),
        cap: Some(perms("read:*")),
        read_only: true,
        issued_at: 1_000,
        expires_at: Some(9_000_000),
        last_used_at: None,
        revoked_at: None,
        created_by: Some("admin".into()),
        client_id: None,
        grant_id: None,
    }
}

/// A migrated file store holding user `u1` (roles `reader`, `writer`) and its PAT `t1`.
async fn seeded() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::connect(&url).await.expect("open");
    store.migrate().await.expect("migrate");
    store
        .create_role(&role("reader", "read:*"), 1)
        .await
        .expect("role");
    store
        .create_role(&role("writer", "write:contacts"), 1)
        .await
        .expect("role");
    let user = User {
        id: "u1".into(),
        name: "alice".into(),
        roles: vec!["reader".into(), "writer".into()],
        disabled: false,
        created_at: 1,
        has_password: false,
        totp_enabled: false,
    };
    store.create_user(&user).await.expect("user");
    store
        .insert_tokens(&[pat("t1", "u1", "reader")])
        .await
        .expect("token");
    (dir, store)
}

/// Token `id`'s check read through the pool only.
async fn pool_read(store: &SqliteStore, id: &str) -> StoreResult<Option<TokenAccess>> {
    let sql = HotStatements::render::<Sqlite>().token_access;
    let rows = store
        .backend()
        .fetch_all(Statement::keyed(&sql, id))
        .await?;
    access_from_rows(&rows)
}

/// Token `id`'s check read directly and through the pool, in that order.
async fn through_both(store: &SqliteStore, id: &str) -> (TokenAccess, TokenAccess) {
    let fast = direct(store)
        .token_access(id)
        .expect("answered")
        .expect("found");
    let pooled = pool_read(store, id).await.expect("read").expect("found");
    (fast, pooled)
}

fn direct(store: &SqliteStore) -> &DirectReader {
    store
        .backend()
        .direct
        .as_deref()
        .expect("a file store reads directly")
}

#[tokio::test]
async fn answers_exactly_as_the_pool_does() {
    let (_dir, store) = seeded().await;
    let (fast, pooled) = through_both(&store, "t1").await;
    assert_eq!(fast.record, pooled.record);
    assert_eq!(fast.record, pat("t1", "u1", "reader"));
    assert_eq!(fast.owner, OwnerState::Active);
    assert_eq!(fast.owner, pooled.owner);
    let names = |g: &TokenAccess| {
        let mut roles = g.owner_roles.clone();
        roles.sort_by(|a, b| a.name.cmp(&b.name));
        roles
    };
    assert_eq!(names(&fast), names(&pooled));
    assert_eq!(names(&fast).len(), 2);
    assert_eq!(fast.bound_role, pooled.bound_role);
    assert_eq!(
        fast.bound_role.map(|r| r.permissions),
        Some(perms("read:*"))
    );
    assert!(matches!(direct(&store).token_access("nope"), Some(None)));
}

#[tokio::test]
async fn sees_what_the_pool_committed_at_once() {
    let (_dir, store) = seeded().await;
    let reader = direct(&store);
    let before = reader.token_access("t1").expect("answered");
    assert_eq!(before.expect("found").record.revoked_at, None);
    assert_eq!(
        store.revoke_token("t1", None, 5_000).await.expect("revoke"),
        1
    );
    let after = reader.token_access("t1").expect("answered");
    assert_eq!(after.expect("found").record.revoked_at, Some(5_000));
    store.set_user_disabled("u1", true).await.expect("disable");
    let disabled = reader.token_access("t1").expect("answered");
    assert_eq!(disabled.expect("found").owner, OwnerState::Disabled);
}

#[tokio::test]
async fn a_failed_read_is_not_an_answer() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sql: Arc<str> = "SELECT id FROM tokens WHERE id = ?".into();
    // No file: the reader never creates one.
    let missing = DirectReader::new(&dir.path().join("absent.db"), sql.clone());
    assert!(missing.token_access("t1").is_none());
    assert!(!dir.path().join("absent.db").exists());
    // A database without the table: an error, not "unknown token".
    let empty = dir.path().join("empty.db");
    Connection::open(&empty).expect("create");
    assert!(DirectReader::new(&empty, sql).token_access("t1").is_none());
}

#[tokio::test]
async fn the_store_falls_back_to_the_pool() {
    let (_dir, store) = seeded().await;
    // A reader whose statement cannot run stands in for any failure of the direct path.
    let broken = SqlStore::new(Sqlite {
        direct: Some(Arc::new(DirectReader::new(
            store.path().expect("file"),
            "SELECT * FROM no_such_table WHERE id = ?".into(),
        ))),
        ..store.backend().clone()
    });
    let grant = broken
        .token_access("t1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(grant.record.id, "t1");
    assert!(broken.token_access("nope").await.expect("read").is_none());
}

#[tokio::test]
async fn the_store_reads_directly_while_the_file_is_readable() {
    let (_dir, store) = seeded().await;
    // With the pool closed, only the direct path can still answer.
    store.backend().pool.close().await;
    let grant = store
        .token_access("t1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(grant.record.id, "t1");
    assert!(store.token_access("nope").await.expect("read").is_none());
}

#[tokio::test]
async fn a_closed_store_answers_nothing() {
    let (_dir, store) = seeded().await;
    assert!(direct(&store).token_access("t1").is_some());
    store.close().await;
    assert!(direct(&store).token_access("t1").is_none());
    assert!(matches!(
        store.token_access("t1").await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_locked_database_is_not_an_answer() {
    let (_dir, store) = seeded().await;
    // The pool's connections would keep the holder from its exclusive lock.
    store.backend().pool.close().await;
    let holder = Connection::open(store.path().expect("file")).expect("open");
    holder
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        .expect("lock");
    let started = std::time::Instant::now();
    assert!(direct(&store).token_access("t1").is_none());
    // Not waited for: the busy timeout is zero.
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    holder.execute_batch("COMMIT").expect("unlock");
}

#[tokio::test]
async fn rows_decode_as_the_pool_decodes_them() {
    let (_dir, store) = seeded().await;
    let editor = Connection::open(store.path().expect("file")).expect("open");
    // A hash hand-written as text reads as its bytes, through either path.
    editor
        .execute("UPDATE tokens SET secret_hash = 'abc' WHERE id = 't1'", [])
        .expect("edit");
    let (fast, pooled) = through_both(&store, "t1").await;
    assert_eq!(fast.record.secret_hash, b"abc".to_vec());
    assert_eq!(fast.record, pooled.record);
    // A flag that is not a number does not decode: not an answer here, an error there.
    editor
        .execute("UPDATE tokens SET read_only = 'maybe' WHERE id = 't1'", [])
        .expect("edit");
    assert!(direct(&store).token_access("t1").is_none());
    assert!(pool_read(&store, "t1").await.is_err());
}

#[tokio::test]
async fn an_in_memory_store_has_no_direct_reader() {
    let store = SqliteStore::connect("sqlite::memory:").await.expect("open");
    assert!(store.backend().direct.is_none());
}
