//! Postgres at scale: revoking a subject's 50,000 tokens well inside the statement timeout
//! and seen by the other replica at once, and many-row writers that never deadlock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera::domain::model::{TokenRecord, User};
use tessera::domain::permission_set::PermissionSet;
use tessera::domain::ports::Store;
use tessera::domain::token_format::{TokenKind, random_base62};
use tessera::proto::v1 as pb;

use crate::db::TestDb;
use crate::helpers::*;

const SUBJECT_TOKENS: usize = 50_000;
/// Tokens the other replica has cached as allowed before the revocation.
const WATCHED: usize = 300;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_subject_of_50000_tokens_beats_the_default_timeout() {
    let db = Arc::new(TestDb::fresh().await);
    // The default settings: a 5 s statement timeout.
    let a = spawn_app_on(db.clone(), Setup::default()).await;
    let b = spawn_app_on(db, Setup::default()).await;
    a.create_role("r", &["read:*"]).await;
    let user = a.create_user("zed", &["r"]).await;
    let scopes = PermissionSet::from_stored("read:*");
    let mut secrets = Vec::with_capacity(SUBJECT_TOKENS);
    while secrets.len() < SUBJECT_TOKENS {
        let batch = a
            .app
            .seed_api_keys(&user.id, &scopes, 1_000)
            .await
            .expect("seed");
        secrets.extend(batch);
    }
    // Cached on B as allowed, so only the change feed can make B deny them.
    for secret in &secrets[..WATCHED] {
        assert_allow(&b.check(secret, &["read:x"]).await);
    }

    // Another user's key, revoked on B while A revokes the 50,000: it must not queue behind
    // the big revocation (the per-row trigger held the revision row's lock throughout).
    let other = a.create_user("yan", &["r"]).await;
    let other_key = a.key_for(&other.id, &["read:*"]).await;

    let started = Instant::now();
    let big = a.revoke(
        &a.admin_key,
        pb::revoke_request::Target::Subject(user.id.clone()),
    );
    let small = async {
        let started = Instant::now();
        let n = b
            .revoke(
                &b.admin_key,
                pb::revoke_request::Target::TokenId(other_key.token_id.clone()),
            )
            .await
            .expect("revoke another user's key meanwhile");
        (n, started.elapsed())
    };
    let (revoked, (small_revoked, small_took)) = tokio::join!(big, small);
    let revoked = revoked.expect("revoke a 50,000-token subject");
    let took = started.elapsed();
    assert_eq!(revoked as usize, SUBJECT_TOKENS);
    assert!(took < Duration::from_secs(5), "revoke took {took:?}");
    assert_eq!(small_revoked, 1);
    assert!(
        small_took < Duration::from_secs(1),
        "another revocation waited {small_took:?} behind the big one"
    );

    let acknowledged = Instant::now();
    while b.check(&secrets[0], &["read:x"]).await.decision == pb::Decision::Allow as i32 {
        tokio::task::yield_now().await;
    }
    let propagated = acknowledged.elapsed();
    assert!(
        propagated < Duration::from_secs(1),
        "B denied it after {propagated:?}"
    );
    // Once B has heard of the revocation, it denies every one it had cached, at once.
    for secret in &secrets[1..WATCHED] {
        assert_unauthenticated(&b.check(secret, &["read:x"]).await);
    }
    // And every one of the 50,000 on B, most of them uncached (read from the store), by
    // 16 callers at once.
    let secrets = Arc::new(secrets);
    let mut callers = Vec::new();
    for part in 0..16 {
        let (tokens, admin, secrets) = (b.tokens.clone(), b.admin_key.clone(), secrets.clone());
        callers.push(tokio::spawn(async move {
            let mut allowed = 0usize;
            for secret in secrets.iter().skip(part).step_by(16) {
                let answer = tokens
                    .clone()
                    .authorize(authed(
                        &admin,
                        pb::AuthorizeRequest {
                            token: secret.clone(),
                            required_scopes: strings(&["read:x"]),
                            ..Default::default()
                        },
                    ))
                    .await
                    .expect("authorize")
                    .into_inner();
                if answer.decision == pb::Decision::Allow as i32 {
                    allowed += 1;
                }
            }
            allowed
        }));
    }
    let mut allowed = 0;
    for caller in callers {
        allowed += caller.await.expect("caller");
    }
    assert_eq!(
        allowed, 0,
        "revoked tokens still allowed on the other replica"
    );
    report(&format!(
        "revoke of {SUBJECT_TOKENS} tokens: {took:?} (another user's revoke meanwhile on the \
         other replica: {small_took:?}); the other replica denied cached ones {propagated:?} \
         after the acknowledgement"
    ));
}

/// Two replicas' stores (two pools) on one database.
async fn two_stores() -> (Arc<dyn Store>, Arc<dyn Store>, TestDb) {
    let db = TestDb::fresh().await;
    let a = crate::db::open(&db.url).await.store();
    let b = crate::db::open(&db.url).await.store();
    (a, b, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_a_subject_never_deadlocks_with_the_other_replicas_usage_flush() {
    let (a, b, _db) = two_stores().await;
    for round in 0..20i64 {
        let subject = format!("usr_{round}");
        a.create_user(&User {
            id: subject.clone(),
            name: format!("user{round}"),
            roles: Vec::new(),
            disabled: false,
            created_at: 1,
            has_password: false,
            totp_enabled: false,
        })
        .await
        .expect("user");
        // Random ids: their order differs from the issue order the subject index keeps, so
        // an unordered revocation would lock rows in another order than the flush.
        let ids: Vec<String> = (0..1_000)
            .map(|_| format!("tsk_{}", random_base62(16).expect("random")))
            .collect();
        let records: Vec<TokenRecord> = ids
            .iter()
            .map(|id| token_record(id, &subject, TokenKind::ApiKey, None))
            .collect();
        a.insert_tokens(&records).await.expect("tokens");
        let usage: Vec<(String, i64)> = ids.iter().map(|id| (id.clone(), 100 + round)).collect();
        let flush = {
            let b = b.clone();
            tokio::spawn(async move {
                b.record_usage(&usage).await?;
                b.record_usage(&usage).await
            })
        };
        let revoke = {
            let a = a.clone();
            tokio::spawn(async move { a.revoke_subject(&subject, 7).await })
        };
        let (flushed, revoked) = (flush.await.expect("join"), revoke.await.expect("join"));
        flushed.unwrap_or_else(|e| panic!("round {round}: the flush failed: {e:?}"));
        let n = revoked.unwrap_or_else(|e| panic!("round {round}: the revocation failed: {e:?}"));
        assert_eq!(n, 1_000, "round {round}");
    }
}
