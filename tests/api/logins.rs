//! The password grant and sessions: a login gives a session JWT that Authorize, Introspect
//! and the caller's own credential accept; failures are one answer and lock the username
//! after five; passwords are checked for length only. On both backends.

use std::time::Duration;

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::accounts::PASSWORD;
use crate::helpers::*;

#[tokio::test]
async fn a_login_gives_a_session_that_acts_with_the_users_permissions_now() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:contacts"]).await;
    let id = t.user_with_password("alice", &["reader"]).await;
    let session = t.login("Alice", PASSWORD, "").await.expect("login");
    assert_eq!(session.kind, "session");
    assert_eq!(session.scopes, strings(&["read:contacts"]));
    assert_eq!(session.token.split('.').count(), 3, "a JWT");
    let expires = session.expires_at.expect("expires").seconds;
    let lifetime = expires - i64::try_from(t.now_seconds()).expect("now");
    assert!((3590..=3600).contains(&lifetime), "60 minutes: {lifetime}");

    assert_allow(&t.check(&session.token, &["read:contacts"]).await);
    assert_denied(&t.check(&session.token, &["write:contacts"]).await);
    let seen = t.introspect(&session.token).await;
    assert!(seen.active);
    assert_eq!(
        (seen.kind.as_str(), seen.subject.as_str()),
        ("session", id.as_str())
    );
    assert_eq!(seen.token_id, session.token_id);

    // As the caller's own credential: it lists its user's tokens, itself among them.
    let listed = t.tokens_of(&session.token, "").await;
    assert!(
        listed
            .iter()
            .any(|i| i.token_id == session.token_id && i.kind == "session")
    );

    // Permissions now: a role narrowed narrows the session at its next check.
    t.set_role("reader", &["read:other"]).await;
    assert_denied(&t.check(&session.token, &["read:contacts"]).await);
}

#[tokio::test]
async fn a_login_may_ask_for_a_shorter_session_never_a_longer_one() {
    let t = spawn_app().await;
    t.user_with_password("bob", &[]).await;
    for (asked, want) in [(600, 600), (86_400, 3600)] {
        let grant = pb::issue_request::Grant::Password(pb::PasswordGrant {
            username: "bob".into(),
            password: PASSWORD.into(),
            totp_code: String::new(),
            ttl: Some(prost_types::Duration {
                seconds: asked,
                nanos: 0,
            }),
        });
        let issued = t
            .tokens
            .clone()
            .issue(tonic::Request::new(pb::IssueRequest { grant: Some(grant) }))
            .await
            .expect("login")
            .into_inner();
        let lifetime = issued.expires_at.expect("exp").seconds - t.now_seconds() as i64;
        assert!(
            (want - 2..=want).contains(&lifetime),
            "asked {asked}: {lifetime}"
        );
    }
}

#[tokio::test]
async fn every_failed_login_is_the_same_answer() {
    let t = spawn_app().await;
    t.user_with_password("carol", &[]).await;
    let disabled = t.user_with_password("dave", &[]).await;
    t.admin
        .clone()
        .disable_user(authed(
            &t.admin_key,
            pb::DisableUserRequest { id: disabled },
        ))
        .await
        .expect("disable");
    let nobody = t.create_user("erin", &[]).await; // no password set
    let _ = nobody;
    let mut messages = Vec::new();
    for (user, password) in [
        ("carol", "wrong password, long enough"),
        ("nobody-at-all", PASSWORD),
        ("dave", PASSWORD),
        ("erin", PASSWORD),
    ] {
        let status = assert_code(t.login(user, password, "").await, Code::Unauthenticated);
        assert!(!status.message().contains(password));
        messages.push(status.message().to_owned());
    }
    messages.dedup();
    assert_eq!(
        messages.len(),
        1,
        "one message for every failure: {messages:?}"
    );
    // An empty or oversized password is a malformed request, named.
    let status = assert_code(t.login("carol", "", "").await, Code::InvalidArgument);
    assert!(status.message().contains("password.password"), "{status:?}");
    let long = "x".repeat(1025);
    assert_code(t.login("carol", &long, "").await, Code::InvalidArgument);
}

/// The `google.rpc.RetryInfo` delay in a status's details, as a gRPC client library reads
/// it (tonic-types decodes `grpc-status-details-bin`).
fn retry_delay(status: &tonic::Status) -> Option<Duration> {
    use tonic_types::StatusExt;
    status.get_details_retry_info()?.retry_delay
}

#[tokio::test]
async fn five_failures_lock_the_username_with_a_doubling_backoff_and_a_success_resets_it() {
    let t = spawn_app().await;
    t.user_with_password("frank", &[]).await;
    for _ in 0..5 {
        assert_code(
            t.login("frank", "not the password at all", "").await,
            Code::Unauthenticated,
        );
    }
    // Locked: even the right password is refused, with a delay to retry after.
    let locked = assert_code(
        t.login("FRANK", PASSWORD, "").await,
        Code::ResourceExhausted,
    );
    assert!(locked.message().contains("retry in 30 s"), "{locked:?}");
    assert_eq!(retry_delay(&locked), Some(Duration::from_secs(30)));
    t.clock.advance(Duration::from_secs(31));
    // A sixth failure doubles the lock.
    assert_code(
        t.login("frank", "still not it, sorry", "").await,
        Code::Unauthenticated,
    );
    let locked = assert_code(
        t.login("frank", PASSWORD, "").await,
        Code::ResourceExhausted,
    );
    assert!(locked.message().contains("retry in 60 s"), "{locked:?}");
    assert_eq!(retry_delay(&locked), Some(Duration::from_secs(60)));
    t.clock.advance(Duration::from_secs(61));
    t.login("frank", PASSWORD, "").await.expect("unlocked");
    // The success reset the count: four more failures do not lock.
    for _ in 0..4 {
        assert_code(
            t.login("frank", "wrong again, and again", "").await,
            Code::Unauthenticated,
        );
    }
    t.login("frank", PASSWORD, "").await.expect("not locked");
    // Unknown names are counted too, so probing them is throttled alike.
    for _ in 0..5 {
        assert_code(t.login("ghost", PASSWORD, "").await, Code::Unauthenticated);
    }
    assert_code(
        t.login("ghost", PASSWORD, "").await,
        Code::ResourceExhausted,
    );
}

#[tokio::test]
async fn passwords_are_12_to_1024_bytes_and_setting_one_needs_the_users_permissions() {
    let t = spawn_app().await;
    let user = t.create_user("gina", &[]).await;
    for (password, ok) in [
        (String::new(), false),
        ("eleven byte".to_owned(), false),
        ("twelve bytes".to_owned(), true),
        ("x".repeat(1024), true),
        ("x".repeat(1025), false),
    ] {
        let answer = t
            .admin
            .clone()
            .set_user_password(authed(
                &t.admin_key,
                pb::SetUserPasswordRequest {
                    id: user.id.clone(),
                    password: password.clone(),
                },
            ))
            .await;
        match ok {
            true => assert!(answer.expect("accepted").into_inner().has_password),
            false => {
                let status = assert_code(answer, Code::InvalidArgument);
                assert!(status.message().starts_with("password:"), "{status:?}");
            }
        }
    }
    // A holder of tessera:users:write who lacks the admin's permissions cannot set its
    // password (it could then log in as the admin).
    t.create_role("user-admin", &["tessera:users:write"]).await;
    let helper = t.create_user("helper", &["user-admin"]).await;
    let key = t.key_for(&helper.id, &["tessera:users:write"]).await;
    let admin_id = t.admin_id.clone();
    let answer = t
        .admin
        .clone()
        .set_user_password(authed(
            &key.token,
            pb::SetUserPasswordRequest {
                id: admin_id,
                password: PASSWORD.into(),
            },
        ))
        .await;
    assert_code(answer, Code::PermissionDenied);
}

#[tokio::test]
async fn without_a_server_secret_logins_answer_failed_precondition_naming_it() {
    let db = std::sync::Arc::new(crate::db::TestDb::fresh().await);
    let t = spawn_app_on(
        db,
        Setup {
            secret: None,
            ..Setup::default()
        },
    )
    .await;
    t.user_with_password("hank", &[]).await;
    let status = assert_code(
        t.login("hank", PASSWORD, "").await,
        Code::FailedPrecondition,
    );
    assert!(
        status.message().contains("TESSERA_SECRET_KEY"),
        "{status:?}"
    );
    // Everything else works.
    assert_allow(&t.check(&t.admin_key, &["read:x"]).await);
}

#[tokio::test]
async fn account_calls_need_a_session_and_a_password_change_ends_the_other_sessions() {
    let t = spawn_app().await;
    t.create_role("any", &["read:x"]).await;
    let id = t.user_with_password("ivy", &["any"]).await;
    let key = t.key_for(&id, &["*"]).await;
    let change = |credential: String, current: &str| {
        let mut account = t.account();
        let current = current.to_owned();
        async move {
            account
                .change_password(authed(
                    &credential,
                    pb::ChangePasswordRequest {
                        current_password: current,
                        new_password: "a brand new passphrase".into(),
                    },
                ))
                .await
        }
    };
    assert_code(
        change(key.token.clone(), PASSWORD).await,
        Code::PermissionDenied,
    );
    let first = t.login("ivy", PASSWORD, "").await.expect("login");
    let second = t.login("ivy", PASSWORD, "").await.expect("login");
    assert_code(
        change(second.token.clone(), "not the current one").await,
        Code::PermissionDenied,
    );
    change(second.token.clone(), PASSWORD)
        .await
        .expect("changed");
    assert_unauthenticated(&t.check(&first.token, &["read:x"]).await);
    assert!(
        t.introspect(&second.token).await.active,
        "the calling session stays"
    );
    assert!(
        t.introspect(&key.token).await.active,
        "API keys are not sessions"
    );
    assert_code(t.login("ivy", PASSWORD, "").await, Code::Unauthenticated);
    t.login("ivy", "a brand new passphrase", "")
        .await
        .expect("the new password");
    // An administrator setting it ends every session.
    t.admin
        .clone()
        .set_user_password(authed(
            &t.admin_key,
            pb::SetUserPasswordRequest {
                id,
                password: PASSWORD.into(),
            },
        ))
        .await
        .expect("set");
    assert!(!t.introspect(&second.token).await.active);
}

/// Attempts are counted before their password is checked: a burst of parallel guesses is
/// locked out after five as a sequence is.
#[tokio::test]
async fn a_burst_of_parallel_guesses_gets_five_tries_not_more() {
    let t = spawn_app().await;
    t.user_with_password("jack", &[]).await;
    let guesses: Vec<_> = (0..20)
        .map(|i| {
            let t = &t;
            async move {
                t.login("jack", &format!("guess number {i:02}, wrong"), "")
                    .await
            }
        })
        .collect();
    let mut tried = 0;
    let mut refused = 0;
    for answer in futures_lite_join(guesses).await {
        match answer.map_err(|s| s.code()) {
            Err(Code::Unauthenticated) => tried += 1,
            Err(Code::ResourceExhausted) => refused += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((tried, refused), (5, 15));
}

/// Runs the futures concurrently on this task and collects their outputs in order.
async fn futures_lite_join<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("ready")).collect()
}

#[tokio::test]
async fn guesses_of_the_current_password_count_as_failed_logins() {
    let t = spawn_app().await;
    t.user_with_password("kate", &[]).await;
    let session = t.login("kate", PASSWORD, "").await.expect("login");
    let mut last = None;
    for i in 0..6 {
        let answer = t
            .account()
            .change_password(authed(
                &session.token,
                pb::ChangePasswordRequest {
                    current_password: format!("a wrong guess, number {i}"),
                    new_password: "whatever comes next".into(),
                },
            ))
            .await;
        last = Some(answer.map(|_| ()).map_err(|s| s.code()));
    }
    assert_eq!(
        last,
        Some(Err(Code::ResourceExhausted)),
        "the sixth is refused"
    );
    assert_code(t.login("kate", PASSWORD, "").await, Code::ResourceExhausted);
}
