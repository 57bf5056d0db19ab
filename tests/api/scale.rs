//! Permission sets at scale, through the API: a product of scopes computed within its bound
//! and refused past it, the limits named in the error, health answering while big sets are
//! combined, and role or user changes that make stale only what depends on them.

use std::time::{Duration, Instant};

use tonic::Code;

use crate::helpers::*;

/// `n` scopes from `f`, as an API key grant for the caller's own user.
fn grant(n: usize, f: impl Fn(usize) -> String) -> tessera::proto::v1::issue_request::Grant {
    let scopes: Vec<String> = (0..n).map(f).collect();
    let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
    api_key(&refs, "")
}

/// The user a token acts as.
async fn product_owner(t: &TestApp, token: &str) -> String {
    t.introspect(token).await.subject
}

/// A user holding `read:*` and a key of it scoped `read:<row>I:*` for `rows` values of I:
/// a key scoped `read:*:bJ` issued through it is the product of both.
async fn rows_key(t: &TestApp, name: &str, row: &str, rows: usize) -> String {
    t.create_role(&format!("{name}-reader"), &["read:*"]).await;
    let user = t.create_user(name, &[&format!("{name}-reader")]).await;
    let key = t.key_for(&user.id, &["read:*"]).await;
    t.issue(&key.token, grant(rows, |i| format!("read:{row}{i}:*")))
        .await
        .expect("rows")
        .token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_product_of_scopes_is_computed_within_its_bound_and_refused_past_it() {
    let t = spawn_app().await;
    let rows = rows_key(&t, "prod", "a", 128).await;
    let started = Instant::now();
    let product = t
        .issue(&rows, grant(128, |j| format!("read:*:b{j}")))
        .await
        .expect("128 × 128");
    report(&format!(
        "Issue of the 128 × 128 product (16,384 permissions): {:?} (debug build)",
        started.elapsed()
    ));
    assert_eq!(product.scopes.len(), 16_384);
    assert_allow(&t.check(&product.token, &["read:a127:b0"]).await);
    assert_denied(&t.check(&product.token, &["read:a128:b0"]).await);
    assert_denied(&t.check(&product.token, &["read:a1:b1:c"]).await);
    // The owner's listing shows each key's own scopes: the product among them.
    let started = Instant::now();
    let listed = t
        .tokens_of(&t.admin_key, &product_owner(&t, &rows).await)
        .await;
    report(&format!(
        "ListTokens with the product among {} keys: {:?} (debug build)",
        listed.len(),
        started.elapsed()
    ));
    let shown = listed
        .iter()
        .find(|k| k.token_id == product.token_id)
        .expect("listed");
    assert_eq!(shown.scopes.len(), 16_384);

    let wider = rows_key(&t, "wider", "a", 129).await;
    let refused = t
        .issue(&wider, grant(128, |j| format!("read:*:b{j}")))
        .await
        .expect_err("129 × 128 passes the bound");
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");
    assert!(refused.message().contains("MAX_PATTERNS"), "{refused:?}");
    assert!(refused.message().contains("api_key.scopes"), "{refused:?}");
}

#[tokio::test]
async fn limits_are_refused_naming_them() {
    let t = spawn_app().await;
    let many: Vec<String> = (0..65).map(|i| format!("r{i}")).collect();
    for name in &many {
        t.create_role(name, &["read:x"]).await;
    }
    let names: Vec<&str> = many.iter().map(String::as_str).collect();
    let refused = t
        .admin
        .clone()
        .create_user(authed(
            &t.admin_key,
            tessera::proto::v1::CreateUserRequest {
                name: "hoarder".into(),
                roles: strings(&names),
            },
        ))
        .await
        .expect_err("65 roles");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(
        refused.message().contains("MAX_ROLES_PER_USER"),
        "{refused:?}"
    );
    // 64 is the limit, not past it.
    t.create_user("collector", &names[..64]).await;

    let perms: Vec<String> = (0..257).map(|i| format!("p{i}:read")).collect();
    let perm_refs: Vec<&str> = perms.iter().map(String::as_str).collect();
    let refused = t
        .try_create_role("wide", &perm_refs)
        .await
        .expect_err("257 permissions");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("MAX_PERMISSIONS"), "{refused:?}");
}

/// Four products combined at once run on the blocking pool: the health check keeps
/// answering at once. (The bound here is loose for a debug build on a shared machine; the
/// benchmark reports the release figure.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_while_products_are_combined() {
    let t = spawn_app().await;
    let rows = rows_key(&t, "busy", "a", 128).await;
    let stop = Instant::now() + Duration::from_secs(2);
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (tokens, rows) = (t.tokens.clone(), rows.clone());
        workers.push(tokio::spawn(async move {
            let mut issued = 0;
            while Instant::now() < stop {
                let req = tessera::proto::v1::IssueRequest {
                    grant: Some(grant(128, |j| format!("read:*:b{j}"))),
                };
                let done = tokens.clone().issue(authed(&rows, req)).await;
                assert_eq!(done.expect("product").into_inner().scopes.len(), 16_384);
                issued += 1;
            }
            issued
        }));
    }
    let mut health = tonic_health::pb::health_client::HealthClient::new(t.channel.clone());
    let mut worst = Duration::ZERO;
    let mut checks = 0;
    while Instant::now() < stop {
        let started = Instant::now();
        health
            .check(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("health");
        worst = worst.max(started.elapsed());
        checks += 1;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut issued = 0;
    for w in workers {
        issued += w.await.expect("worker");
    }
    report(&format!(
        "{checks} health checks during {issued} product Issues (4 at a time): slowest {worst:?} (debug build)"
    ));
    assert!(issued >= 4, "{issued}");
    assert!(worst < Duration::from_millis(250), "{worst:?}");
}

#[tokio::test]
async fn a_role_change_reads_again_only_the_tokens_that_depend_on_it() {
    let t = spawn_app().await;
    t.create_role("edited", &["read:*"]).await;
    t.create_role("other", &["read:*"]).await;
    let holder = t.create_user("holder", &["edited"]).await;
    let bystander = t.create_user("bystander", &["other"]).await;
    let held = t.key_for(&holder.id, &["*"]).await;
    let untouched = t.key_for(&bystander.id, &["*"]).await;
    // A PAT bound to the edited role, of a user who holds it through another role too.
    t.create_role("both", &["read:*", "write:*"]).await;
    let binder = t.create_user("binder", &["edited", "both"]).await;
    let binder_key = t.key_for(&binder.id, &["*"]).await;
    let bound = t.pat(&binder_key.token, "edited").await.expect("pat");
    t.settle().await;
    for token in [&held.token, &untouched.token, &bound.token] {
        assert_allow(&t.check(token, &["read:x"]).await);
    }

    let before = t.store.token_reads();
    t.set_role("edited", &["write:*"]).await;
    assert_allow(&t.check(&untouched.token, &["read:x"]).await);
    assert_eq!(
        t.store.token_reads(),
        before,
        "the bystander's entry stays warm"
    );
    assert_denied(&t.check(&held.token, &["read:x"]).await);
    assert_denied(&t.check(&bound.token, &["read:x"]).await);
    assert_allow(&t.check(&bound.token, &["write:x"]).await);
    assert_eq!(
        t.store.token_reads(),
        before + 3,
        "the holder, the bound PAT and the key that minted it (its owner holds the role)"
    );

    // A user change: only that user's tokens.
    let before = t.store.token_reads();
    t.admin
        .clone()
        .disable_user(authed(
            &t.admin_key,
            tessera::proto::v1::DisableUserRequest {
                id: holder.id.clone(),
            },
        ))
        .await
        .expect("disable");
    assert_allow(&t.check(&untouched.token, &["read:x"]).await);
    assert_unauthenticated(&t.check(&held.token, &["write:x"]).await);
    assert_eq!(t.store.token_reads(), before + 1);
}
