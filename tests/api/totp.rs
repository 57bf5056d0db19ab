//! TOTP second factors, with codes from totp-lite (an implementation tessera does not use):
//! enrollment through a session, logins that need the code, a code accepted once, one step
//! of skew either way, and removal. On both backends.

use std::time::Duration;

use tessera::proto::v1 as pb;
use tonic::Code;

use crate::accounts::{PASSWORD, base32_decode, totp_at};
use crate::helpers::*;

/// A user with TOTP on, and its seed; the clock is put at the start of a 30-second step so
/// codes for this, the previous and the next step are all distinct.
async fn user_with_totp(t: &TestApp, name: &str) -> (String, Vec<u8>) {
    let into_step = t.now_seconds() % 30;
    t.clock.advance(Duration::from_secs(30 - into_step));
    let id = t.user_with_password(name, &[]).await;
    let session = t.login(name, PASSWORD, "").await.expect("password login");
    let seed = t.turn_on_totp(&session.token).await;
    // The confirming code's step is used: move on to the next step.
    t.clock.advance(Duration::from_secs(30));
    (id, seed)
}

#[tokio::test]
async fn enrollment_gives_a_base32_seed_and_an_otpauth_uri_shown_once() {
    let t = spawn_app().await;
    t.user_with_password("alice", &[]).await;
    let session = t.login("alice", PASSWORD, "").await.expect("login");
    let enrolled = t
        .account()
        .enroll_totp(authed(&session.token, pb::EnrollTotpRequest {}))
        .await
        .expect("enroll")
        .into_inner();
    assert_eq!(base32_decode(&enrolled.secret).len(), 20, "160 bits");
    assert!(
        enrolled.otpauth_uri.starts_with(&format!(
            "otpauth://totp/tessera:alice?secret={}&issuer=tessera",
            enrolled.secret
        )),
        "{}",
        enrolled.otpauth_uri
    );
    // Not on until confirmed: a login without a code still works.
    t.login("alice", PASSWORD, "")
        .await
        .expect("still password only");
    let wrong = t
        .account()
        .confirm_totp(authed(
            &session.token,
            pb::ConfirmTotpRequest {
                code: "000000".into(),
            },
        ))
        .await;
    let status = assert_code(wrong, Code::InvalidArgument);
    assert!(status.message().starts_with("code:"), "{status:?}");
    // No response and no listing carries the seed again.
    let user = t
        .admin
        .clone()
        .list_users(authed(&t.admin_key, pb::ListUsersRequest::default()))
        .await
        .expect("list")
        .into_inner();
    assert!(!format!("{user:?}").contains(&enrolled.secret));
}

#[tokio::test]
async fn a_user_with_totp_needs_a_current_code_and_each_code_works_once() {
    let t = spawn_app().await;
    let (id, seed) = user_with_totp(&t, "bob").await;
    let user = t
        .admin
        .clone()
        .get_user(authed(&t.admin_key, pb::GetUserRequest { id }))
        .await
        .expect("get")
        .into_inner();
    assert!(user.totp_enabled && user.has_password);
    let now = t.now_seconds();
    let mut messages = Vec::new();
    for code in [String::new(), "123".into(), totp_at(&seed, now + 60)] {
        let status = assert_code(t.login("bob", PASSWORD, &code).await, Code::Unauthenticated);
        messages.push(status.message().to_owned());
    }
    assert!(
        messages.windows(2).all(|w| w[0] == w[1]),
        "one message: {messages:?}"
    );
    let two_factor = t
        .login("bob", PASSWORD, &totp_at(&seed, now))
        .await
        .expect("a current code");
    assert_eq!(two_factor.kind, "session");
    // The same code again: refused, it was used.
    assert_code(
        t.login("bob", PASSWORD, &totp_at(&seed, now)).await,
        Code::Unauthenticated,
    );
    // The next step's code is accepted once (one step of skew), and then the current
    // step's code is refused too: steps only move forward.
    t.login("bob", PASSWORD, &totp_at(&seed, now + 30))
        .await
        .expect("next step");
    assert_code(
        t.login("bob", PASSWORD, &totp_at(&seed, now + 30)).await,
        Code::Unauthenticated,
    );
    // Two steps on, the previous step's code is within the skew but already used; the
    // current one is not.
    t.clock.advance(Duration::from_secs(90));
    let later = t.now_seconds();
    assert_code(
        t.login("bob", PASSWORD, &totp_at(&seed, later - 60)).await,
        Code::Unauthenticated,
    );
    t.login("bob", PASSWORD, &totp_at(&seed, later - 30))
        .await
        .expect("the previous step, unused");
    // Two steps away is outside the skew, used or not.
    t.clock.advance(Duration::from_secs(30));
    let t2 = t.now_seconds();
    assert_code(
        t.login("bob", PASSWORD, &totp_at(&seed, t2 + 60)).await,
        Code::Unauthenticated,
    );
}

#[tokio::test]
async fn removing_totp_needs_a_totp_session_and_an_admin_can_reset_it() {
    let t = spawn_app().await;
    let (id, seed) = user_with_totp(&t, "carol").await;
    // An enrolment cannot be replaced while TOTP is on.
    let with_code = t
        .login("carol", PASSWORD, &totp_at(&seed, t.now_seconds()))
        .await
        .expect("login");
    let again = t
        .account()
        .enroll_totp(authed(&with_code.token, pb::EnrollTotpRequest {}))
        .await;
    assert_code(again, Code::FailedPrecondition);
    let removed = t
        .account()
        .remove_totp(authed(&with_code.token, pb::RemoveTotpRequest {}))
        .await
        .expect("removed")
        .into_inner();
    assert!(!removed.totp_enabled);
    let password_only = t.login("carol", PASSWORD, "").await.expect("no code now");
    let denied = t
        .account()
        .remove_totp(authed(&password_only.token, pb::RemoveTotpRequest {}))
        .await;
    assert_code(denied, Code::PermissionDenied);
    // The admin resets a second enrolment (a lost phone).
    t.turn_on_totp(&password_only.token).await;
    assert_code(t.login("carol", PASSWORD, "").await, Code::Unauthenticated);
    t.admin
        .clone()
        .reset_user_totp(authed(&t.admin_key, pb::ResetUserTotpRequest { id }))
        .await
        .expect("reset");
    t.login("carol", PASSWORD, "")
        .await
        .expect("password only again");
}
