//! Two replicas writing at the same moment: the database's constraints decide, so a name is
//! taken once, a token id is issued once, and concurrent replacements never merge.

use std::collections::HashSet;
use std::sync::Arc;

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::db::TestDb;
use crate::helpers::*;

async fn replicas() -> (TestApp, TestApp) {
    let db = Arc::new(TestDb::fresh().await);
    let a = spawn_app_on(db.clone(), Setup::default()).await;
    let b = spawn_app_on(db, Setup::default()).await;
    (a, b)
}

async fn create_user(t: &TestApp, name: &str, roles: &[&str]) -> Result<pb::User, tonic::Status> {
    t.admin
        .clone()
        .create_user(authed(
            &t.admin_key,
            pb::CreateUserRequest {
                name: name.into(),
                roles: strings(roles),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Exactly one of two racing creates wins; the other is told the name is taken.
fn one_winner<T: std::fmt::Debug>(a: Result<T, tonic::Status>, b: Result<T, tonic::Status>) {
    match (a, b) {
        (Ok(_), Err(e)) | (Err(e), Ok(_)) => assert_eq!(e.code(), Code::AlreadyExists, "{e:?}"),
        other => panic!("expected one winner: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_creates_of_one_name_make_exactly_one() {
    let (a, b) = replicas().await;
    for i in 0..25 {
        let name = format!("race-{i}");
        let (ra, rb) = tokio::join!(
            a.try_create_role(&name, &["read:*"]),
            b.try_create_role(&name, &["read:*"])
        );
        one_winner(ra, rb);
        let (ua, ub) = tokio::join!(create_user(&a, &name, &[]), create_user(&b, &name, &[]));
        one_winner(ua, ub);
    }
    let listed = a
        .admin
        .clone()
        .list_users(authed(
            &a.admin_key,
            pb::ListUsersRequest {
                page_size: 100,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .users;
    // admin plus one per race
    assert_eq!(listed.len(), 26, "{listed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_role_replacements_never_merge_or_fail() {
    let (a, b) = replicas().await;
    for role in ["x", "y", "z", "w"] {
        a.create_role(role, &["read:*"]).await;
    }
    let user = a.create_user("pat", &["x"]).await;
    let set = |t: &TestApp, roles: &'static [&'static str]| {
        let mut admin = t.admin.clone();
        let req = authed(
            &t.admin_key,
            pb::SetUserRolesRequest {
                id: user.id.clone(),
                roles: strings(roles),
            },
        );
        async move { admin.set_user_roles(req).await.expect("set roles") }
    };
    for _ in 0..25 {
        let _ = tokio::join!(set(&a, &["x", "y"]), set(&b, &["z", "w"]));
        let roles: HashSet<String> = b
            .admin
            .clone()
            .get_user(authed(
                &b.admin_key,
                pb::GetUserRequest {
                    id: user.id.clone(),
                },
            ))
            .await
            .expect("get")
            .into_inner()
            .roles
            .into_iter()
            .collect();
        let xy: HashSet<String> = strings(&["x", "y"]).into_iter().collect();
        let zw: HashSet<String> = strings(&["z", "w"]).into_iter().collect();
        assert!(roles == xy || roles == zw, "merged: {roles:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_issued_on_two_replicas_at_once_are_all_distinct() {
    let (a, b) = replicas().await;
    let issue = |t: &TestApp| {
        let (t_tokens, key, subject) = (t.tokens.clone(), t.admin_key.clone(), t.admin_id.clone());
        async move {
            let mut ids = Vec::new();
            for _ in 0..50 {
                let r = t_tokens
                    .clone()
                    .issue(authed(
                        &key,
                        pb::IssueRequest {
                            grant: Some(api_key(&["read:*"], &subject)),
                        },
                    ))
                    .await
                    .expect("issue")
                    .into_inner();
                ids.push(r.token_id);
            }
            ids
        }
    };
    let (ia, ib) = tokio::join!(issue(&a), issue(&b));
    let all: HashSet<String> = ia.iter().chain(&ib).cloned().collect();
    assert_eq!(all.len(), 100);
    // Each is visible from the other replica.
    for id in ia.iter().take(5) {
        let listed = b.tokens_of(&b.admin_key, &b.admin_id).await;
        assert!(listed.iter().any(|t| &t.token_id == id));
    }
}

/// Two cascades over overlapping trees at once, on two replicas: a minting user's tokens by
/// subject, and its minting key by id, which reaches the same 50 children. Both succeed
/// every round (Postgres locks the rows in id order), and between them every token is
/// revoked exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_cascades_on_two_replicas_both_succeed() {
    let (a, b) = replicas().await;
    a.create_role("minting", &["read:*"]).await;
    for round in 0..10 {
        let user = a
            .create_user(&format!("minter-{round}"), &["minting"])
            .await;
        let key = a.key_for(&user.id, &["*"]).await;
        for _ in 0..50 {
            a.issue(&key.token, api_key(&["read:*"], ""))
                .await
                .expect("child");
        }
        let (by_subject, by_parent) = tokio::join!(
            a.revoke(
                &a.admin_key,
                pb::revoke_request::Target::Subject(user.id.clone())
            ),
            b.revoke(
                &b.admin_key,
                pb::revoke_request::Target::TokenId(key.token_id.clone())
            ),
        );
        let total = by_subject.expect("by subject") + by_parent.expect("by parent");
        assert_eq!(total, 51, "round {round}");
    }
}
