//! Which credentials may mint a PAT (`--pat-issuers`), and what a PAT minted with a session
//! depends on: its user only. On both backends.

use std::sync::Arc;
use std::time::Duration;

use tessera::domain::app::{LoginConfig, PatIssuers};
use tessera::proto::v1 as pb;
use tonic::Code;

use crate::accounts::{PASSWORD, totp_at};
use crate::helpers::*;

async fn app_with(pat_issuers: PatIssuers) -> TestApp {
    spawn_app_on(
        Arc::new(crate::db::TestDb::fresh().await),
        Setup {
            logins: LoginConfig {
                pat_issuers,
                ..LoginConfig::default()
            },
            ..Setup::default()
        },
    )
    .await
}

/// A user holding role `dev`, and its credentials of every kind: an API key, a
/// password-only session and a session with a TOTP code.
struct Credentials {
    key: String,
    password_session: String,
    totp_session: String,
}

async fn credentials(t: &TestApp) -> Credentials {
    t.create_role("dev", &["read:code", "write:code"]).await;
    let id = t.user_with_password("pat-maker", &["dev"]).await;
    let key = t.key_for(&id, &["*"]).await.token;
    let first = t.login("pat-maker", PASSWORD, "").await.expect("login");
    let seed = t.turn_on_totp(&first.token).await;
    t.clock.advance(Duration::from_secs(30));
    let totp_session = t
        .login("pat-maker", PASSWORD, &totp_at(&seed, t.now_seconds()))
        .await
        .expect("totp login")
        .token;
    Credentials {
        key,
        password_session: first.token,
        totp_session,
    }
}

#[tokio::test]
async fn by_default_only_a_two_factor_session_or_a_pat_mints_a_pat() {
    let t = app_with(PatIssuers::TwoFactor).await;
    let c = credentials(&t).await;
    for (what, credential) in [
        ("API key", &c.key),
        ("password session", &c.password_session),
    ] {
        let status = assert_code(t.pat(credential, "dev").await, Code::PermissionDenied);
        assert!(
            status.message().contains("second factor"),
            "{what}: {status:?}"
        );
    }
    let pat = t
        .pat(&c.totp_session, "dev")
        .await
        .expect("a 2FA session mints");
    assert_eq!(pat.scopes, strings(&["read:code", "write:code"]));
    t.pat(&pat.token, "dev").await.expect("a PAT mints a PAT");
}

#[tokio::test]
async fn pat_issuers_session_and_any_widen_the_rule() {
    let t = app_with(PatIssuers::Session).await;
    let c = credentials(&t).await;
    t.pat(&c.password_session, "dev")
        .await
        .expect("any session mints");
    assert_code(t.pat(&c.key, "dev").await, Code::PermissionDenied);
    let t = app_with(PatIssuers::Any).await;
    let c = credentials(&t).await;
    t.pat(&c.key, "dev").await.expect("an API key mints");
}

#[tokio::test]
async fn a_pat_minted_with_a_session_outlives_it() {
    let t = app_with(PatIssuers::TwoFactor).await;
    let c = credentials(&t).await;
    let pat = t.pat(&c.totp_session, "dev").await.expect("pat");
    let listed = t
        .tokens_of(&t.admin_key, &t.introspect(&pat.token).await.subject)
        .await;
    let info = listed
        .iter()
        .find(|i| i.token_id == pat.token_id)
        .expect("listed");
    assert_eq!(info.parent_token_id, "", "a session is never a parent");
    assert_eq!(info.expires_at, None, "not capped by the session's hour");
    // Logging out does not end it, nor does the hour passing.
    let session_id = t.introspect(&c.totp_session).await.token_id;
    t.revoke(
        &c.totp_session,
        pb::revoke_request::Target::TokenId(session_id),
    )
    .await
    .expect("logout");
    t.clock.advance(Duration::from_secs(2 * 3600));
    assert_allow(&t.check(&pat.token, &["write:code"]).await);
}
