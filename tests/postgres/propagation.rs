//! Every kind of change made on one replica, or straight in the database, reaches another
//! replica's cache within a second, with no clock advanced: role edits, user role changes,
//! disable and enable, revocations, and hand-written SQL.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::proto::v1 as pb;

use crate::db::TestDb;
use crate::helpers::*;

/// Asks `decide` in a tight loop until it returns `want`; panics after a second.
async fn within_a_second<F, Fut>(what: &str, want: pb::Decision, decide: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = pb::AuthorizeResponse>,
{
    let started = Instant::now();
    loop {
        if decision(&decide().await) == want {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{what}: still not {want:?} after 1 s"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_on_one_replica_reach_the_other_within_a_second() {
    use pb::Decision::{Allow, PermissionDenied, Unauthenticated};
    let db = Arc::new(TestDb::fresh().await);
    let a = spawn_app_on(db.clone(), Setup::default()).await;
    let b = spawn_app_on(db.clone(), Setup::default()).await;
    a.create_role("r", &["read:*"]).await;
    let user = a.create_user("nia", &["r"]).await;
    let key = a.key_for(&user.id, &["read:*"]).await;
    let on_b = || b.check(&key.token, &["read:x"]);
    assert_allow(&on_b().await);

    a.set_role("r", &["write:*"]).await;
    within_a_second("role edit", PermissionDenied, on_b).await;
    a.set_role("r", &["read:*"]).await;
    within_a_second("role edit back", Allow, on_b).await;

    let mut admin = a.admin.clone();
    let id = user.id.clone();
    admin
        .disable_user(authed(
            &a.admin_key,
            pb::DisableUserRequest { id: id.clone() },
        ))
        .await
        .expect("disable");
    within_a_second("disable", Unauthenticated, on_b).await;
    admin
        .enable_user(authed(
            &a.admin_key,
            pb::EnableUserRequest { id: id.clone() },
        ))
        .await
        .expect("enable");
    within_a_second("enable", Allow, on_b).await;
    admin
        .set_user_roles(authed(
            &a.admin_key,
            pb::SetUserRolesRequest {
                id,
                roles: Vec::new(),
            },
        ))
        .await
        .expect("set roles");
    within_a_second("user role change", PermissionDenied, on_b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_written_sql_reaches_every_replica_within_a_second() {
    use pb::Decision::{PermissionDenied, Unauthenticated};
    use sqlx::{Connection, Executor};
    let db = Arc::new(TestDb::fresh().await);
    let t = spawn_app_on(db.clone(), Setup::default()).await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("hal", &["r"]).await;
    let first = t.key_for(&user.id, &["read:*"]).await;
    let second = t.key_for(&user.id, &["read:*"]).await;
    assert_allow(&t.check(&first.token, &["read:x"]).await);
    assert_allow(&t.check(&second.token, &["read:x"]).await);

    let mut sql = sqlx::PgConnection::connect(&db.url).await.expect("connect");
    sql.execute(sqlx::AssertSqlSafe(format!(
        "UPDATE tokens SET revoked_at = 1 WHERE id = '{}'",
        first.token_id
    )))
    .await
    .expect("revoke by hand");
    within_a_second("UPDATE tokens", Unauthenticated, || {
        t.check(&first.token, &["read:x"])
    })
    .await;
    sql.execute("UPDATE roles SET permissions = 'write:*' WHERE name = 'r'")
        .await
        .expect("edit role by hand");
    within_a_second("UPDATE roles", PermissionDenied, || {
        t.check(&second.token, &["read:x"])
    })
    .await;
}

/// The change feed names what changed: a role edit on A makes B read again the tokens that
/// depend on the role, and nothing else.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_edit_elsewhere_reads_again_only_what_depends_on_it() {
    use pb::Decision::PermissionDenied;
    let db = Arc::new(TestDb::fresh().await);
    let a = spawn_app_on(db.clone(), Setup::default()).await;
    let b = spawn_app_on(db.clone(), Setup::default()).await;
    a.create_role("edited", &["read:*"]).await;
    a.create_role("other", &["read:*"]).await;
    let holder = a.create_user("ida", &["edited"]).await;
    let bystander = a.create_user("ivo", &["other"]).await;
    let held = a.key_for(&holder.id, &["*"]).await;
    let untouched = a.key_for(&bystander.id, &["*"]).await;
    b.settle().await;
    assert_allow(&b.check(&held.token, &["read:x"]).await);
    assert_allow(&b.check(&untouched.token, &["read:x"]).await);

    let before = b.store.token_reads();
    a.set_role("edited", &["write:*"]).await;
    within_a_second("role edit", PermissionDenied, || {
        b.check(&held.token, &["read:x"])
    })
    .await;
    b.settle().await;
    assert_allow(&b.check(&untouched.token, &["read:x"]).await);
    assert_eq!(
        b.store.token_reads(),
        before + 1,
        "only the holder's token was read again"
    );
}
