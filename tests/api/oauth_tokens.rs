//! OAuth tokens in the store and on the check path, before the grants that mint them: an
//! app's token is capped by its client now and ends with it, a code is redeemed once, a
//! refresh token rotates once and is never a bearer credential.

use tessera::domain::model::TokenRecord;
use tessera::domain::oauth_grant::{AuthorizationCode, OAuthGrant};
use tessera::domain::permission_set::PermissionSet;
use tessera::domain::ports::{ClientStore, OAuthStore, TokenStore};
use tessera::domain::secret_hash::SecretHasher;
use tessera::domain::token_format::{self, TokenKind};
use tessera::proto::v1 as pb;

use crate::helpers::*;

/// A confidential client allowed `scopes` and every grant type; its id.
pub async fn client(t: &TestApp, scopes: &[&str]) -> String {
    let made = t
        .admin
        .clone()
        .create_client(authed(
            &t.admin_key,
            pb::CreateClientRequest {
                name: "app".into(),
                r#type: pb::ClientType::Confidential.into(),
                redirect_uris: strings(&["https://app.example.com/cb"]),
                scopes: strings(scopes),
                grant_types: strings(&[
                    "authorization_code",
                    "refresh_token",
                    "client_credentials",
                ]),
            },
        ))
        .await
        .expect("client")
        .into_inner();
    made.client.expect("client").client_id
}

/// A token of `kind` for `subject` issued to `client_id`, and its secret.
pub fn app_token(
    kind: TokenKind,
    subject: &str,
    client_id: &str,
    grant: Option<&str>,
    scopes: &str,
) -> (TokenRecord, String) {
    let new = token_format::generate(kind).expect("os rng");
    let mut record = token_record(&new.id, subject, kind, None);
    record.secret_hash = SecretHasher::new(None).hash(&new.secret).to_vec();
    record.scopes = PermissionSet::from_stored(scopes);
    record.client_id = Some(client_id.to_owned());
    record.grant_id = grant.map(str::to_owned);
    (record, new.secret)
}

/// A code for `subject` and the grant its exchange makes (read and write contacts).
pub fn code_and_grant(client_id: &str, subject: &str) -> (AuthorizationCode, OAuthGrant) {
    let code = AuthorizationCode {
        code_hash: vec![7; 32],
        client_id: client_id.into(),
        redirect_uri: "https://app.example.com/cb".into(),
        subject: subject.into(),
        scopes: PermissionSet::from_stored("read:contacts write:contacts"),
        code_challenge: None,
        created_at: 1,
        expires_at: i64::MAX,
        used_at: None,
        grant_id: None,
    };
    let grant = OAuthGrant {
        id: format!("grt_{}", token_format::random_base62(20).expect("rng")),
        client_id: client_id.into(),
        subject: subject.into(),
        scopes: code.scopes.clone(),
        created_at: 1,
        last_used_at: None,
        expires_at: i64::MAX,
        revoked_at: None,
    };
    (code, grant)
}

async fn set_client(t: &TestApp, id: &str, disabled: bool) {
    let mut admin = t.admin.clone();
    let res = match disabled {
        true => {
            admin
                .disable_client(authed(
                    &t.admin_key,
                    pb::DisableClientRequest {
                        client_id: id.into(),
                    },
                ))
                .await
        }
        false => {
            admin
                .enable_client(authed(
                    &t.admin_key,
                    pb::EnableClientRequest {
                        client_id: id.into(),
                    },
                ))
                .await
        }
    };
    res.expect("client state");
}

#[tokio::test]
async fn a_users_app_token_is_capped_by_its_client_now_and_ends_with_its_grant() {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let user = t.create_user("ann", &["editor"]).await;
    let app = client(&t, &["read:*", "write:*"]).await;
    let (code, grant) = code_and_grant(&app, &user.id);
    t.store.insert_code(&code).await.expect("code");
    let (access, secret) = app_token(
        TokenKind::OAuthAccess,
        &user.id,
        &app,
        Some(&grant.id),
        "read:contacts write:contacts",
    );
    let (refresh, refresh_secret) = app_token(
        TokenKind::OAuthRefresh,
        &user.id,
        &app,
        Some(&grant.id),
        "read:contacts write:contacts",
    );
    let tokens = [access.clone(), refresh.clone()];
    assert!(
        t.store
            .redeem_code(&code.code_hash, 5, &grant, &tokens)
            .await
            .expect("redeem")
    );
    let again = code_and_grant(&app, &user.id).1;
    assert!(
        !t.store
            .redeem_code(&code.code_hash, 6, &again, &[])
            .await
            .expect("second use"),
        "a code is used once"
    );
    let used = t
        .store
        .get_code(&code.code_hash)
        .await
        .expect("read")
        .expect("code");
    assert_eq!(
        used.grant_id.as_deref(),
        Some(grant.id.as_str()),
        "the first use's grant"
    );

    assert_allow(&t.check(&secret, &["write:contacts"]).await);
    assert_unauthenticated(&t.check(&refresh_secret, &["read:contacts"]).await);

    // Narrowing the client narrows the token at its next check.
    t.admin
        .clone()
        .update_client(authed(
            &t.admin_key,
            pb::UpdateClientRequest {
                client_id: app.clone(),
                scopes: strings(&["read:*"]),
                ..Default::default()
            },
        ))
        .await
        .expect("narrow");
    assert_denied(&t.check(&secret, &["write:contacts"]).await);
    assert_allow(&t.check(&secret, &["read:contacts"]).await);
    set_client(&t, &app, true).await;
    assert_unauthenticated(&t.check(&secret, &["read:contacts"]).await);
    set_client(&t, &app, false).await;
    assert_allow(&t.check(&secret, &["read:contacts"]).await);

    let revoked = t
        .store
        .revoke_grant(&grant.id, 10)
        .await
        .expect("revoke grant");
    assert_eq!(revoked, 2, "the access and the refresh token");
    // Revoked behind the cache's back (no use case yet): seen once the entry's TTL passed.
    t.clock.advance(std::time::Duration::from_secs(6));
    assert_unauthenticated(&t.check(&secret, &["read:contacts"]).await);
    assert!(
        t.store
            .get_grant(&grant.id)
            .await
            .expect("read")
            .expect("grant")
            .revoked_at
            .is_some()
    );
}

#[tokio::test]
async fn a_refresh_token_rotates_exactly_once_among_concurrent_rotations() {
    let t = spawn_app().await;
    let user = t.create_user("bob", &[]).await;
    let app = client(&t, &["read:*"]).await;
    let (grant, refresh) = redeemed(&t, &app, &user.id, 7).await;
    let rotations = (0..20).map(|_| {
        let store = t.store.clone();
        let (mut next, _) = app_token(
            TokenKind::OAuthRefresh,
            &user.id,
            &app,
            Some(&grant.id),
            "read:*",
        );
        // Issued by the rotation at 9: the grant's last use is its tokens' latest.
        next.issued_at = 9;
        let (grant, old) = (grant.id.clone(), refresh.id.clone());
        tokio::spawn(async move { store.rotate_refresh(&grant, Some(&old), 9, &[next]).await })
    });
    let mut won = 0;
    for r in rotations.collect::<Vec<_>>() {
        if r.await.expect("task").expect("rotation") {
            won += 1;
        }
    }
    assert_eq!(won, 1, "exactly one rotation wins");
    let listed = t
        .store
        .list_grants(
            &tessera::domain::ports::GrantFilter {
                subject: Some(user.id.clone()),
                client_id: None,
            },
            10,
            &tessera::domain::model::PageRequest {
                after: None,
                limit: 10,
            },
        )
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].last_used_at, Some(9));
}

/// A grant made by the exchange of code `n` (its hash is `n` repeated), with its live
/// refresh token.
pub async fn redeemed(t: &TestApp, app: &str, subject: &str, n: u8) -> (OAuthGrant, TokenRecord) {
    let (mut code, grant) = code_and_grant(app, subject);
    code.code_hash = vec![n; 32];
    t.store.insert_code(&code).await.expect("code");
    let (refresh, _) = app_token(
        TokenKind::OAuthRefresh,
        subject,
        app,
        Some(&grant.id),
        "read:*",
    );
    assert!(
        t.store
            .redeem_code(&code.code_hash, 5, &grant, std::slice::from_ref(&refresh))
            .await
            .expect("redeem")
    );
    (grant, refresh)
}

#[tokio::test]
async fn nothing_is_written_under_a_revoked_grant_not_even_a_retrys_tokens() {
    let t = spawn_app().await;
    let user = t.create_user("bob", &[]).await;
    let app = client(&t, &["read:*"]).await;
    let (grant, refresh) = redeemed(&t, &app, &user.id, 1).await;
    assert_eq!(t.store.revoke_grant(&grant.id, 7).await.expect("revoke"), 1);
    for old in [None, Some(refresh.id.as_str())] {
        let (next, _) = app_token(
            TokenKind::OAuthRefresh,
            &user.id,
            &app,
            Some(&grant.id),
            "read:*",
        );
        let written = t
            .store
            .rotate_refresh(&grant.id, old, 9, std::slice::from_ref(&next))
            .await
            .expect("rotation");
        assert!(!written, "a rotation ending {old:?} under a revoked grant");
        assert!(t.store.get_token(&next.id).await.expect("read").is_none());
    }
    // A retry under a live grant writes its tokens.
    let (other, _) = redeemed(&t, &app, &user.id, 2).await;
    let (next, _) = app_token(
        TokenKind::OAuthRefresh,
        &user.id,
        &app,
        Some(&other.id),
        "read:*",
    );
    assert!(
        t.store
            .rotate_refresh(&other.id, None, 9, std::slice::from_ref(&next))
            .await
            .expect("retry")
    );
    assert!(t.store.get_token(&next.id).await.expect("read").is_some());
}

#[tokio::test]
async fn an_apps_own_token_acts_for_the_client_and_goes_with_it() {
    let t = spawn_app().await;
    let app = client(&t, &["read:*"]).await;
    let (own, secret) = app_token(
        TokenKind::OAuthAccess,
        &app,
        &app,
        None,
        "read:reports write:reports",
    );
    t.store
        .insert_token(&own)
        .await
        .expect("an app's own token");
    assert_allow(&t.check(&secret, &["read:reports"]).await);
    assert_denied(&t.check(&secret, &["write:reports"]).await);
    // A subject that is neither a user nor the token's own client is refused.
    let (stray, _) = app_token(TokenKind::OAuthAccess, "usr_nobody", &app, None, "read:*");
    assert!(t.store.insert_token(&stray).await.is_err());
    let (other, _) = app_token(TokenKind::OAuthAccess, &app, "cli_other", None, "read:*");
    assert!(
        t.store.insert_token(&other).await.is_err(),
        "the client must be the token's own"
    );
    let gone = t
        .admin
        .clone()
        .delete_client(authed(
            &t.admin_key,
            pb::DeleteClientRequest {
                client_id: app.clone(),
            },
        ))
        .await
        .expect("delete")
        .into_inner();
    assert_eq!(gone.revoked, 1);
    assert_unauthenticated(&t.check(&secret, &["read:reports"]).await);
    assert!(t.store.get_client(&app).await.expect("read").is_none());
}

#[tokio::test]
async fn a_refresh_token_revoked_by_id_ends_its_family_in_one_call_and_only_its_owners() {
    let t = spawn_app().await;
    t.create_role("reader", &["read:contacts", "tessera:tokens:self"])
        .await;
    let ann = t.create_user("ann", &["reader"]).await;
    let bob = t.create_user("bob", &["reader"]).await;
    let app = client(&t, &["read:*"]).await;
    let (code, grant) = code_and_grant(&app, &ann.id);
    t.store.insert_code(&code).await.expect("code");
    let (access, secret) = app_token(
        TokenKind::OAuthAccess,
        &ann.id,
        &app,
        Some(&grant.id),
        "read:contacts",
    );
    let (refresh, _) = app_token(
        TokenKind::OAuthRefresh,
        &ann.id,
        &app,
        Some(&grant.id),
        "read:contacts",
    );
    let pair = [access, refresh.clone()];
    assert!(
        t.store
            .redeem_code(&code.code_hash, 5, &grant, &pair)
            .await
            .expect("redeem")
    );
    assert_allow(&t.check(&secret, &["read:contacts"]).await);
    let by_id = pb::revoke_request::Target::TokenId(refresh.id.clone());

    // Another user's credential (tokens:self only) revokes nothing of ann's.
    let bobs = t.key_for(&bob.id, &["tessera:tokens:self"]).await.token;
    assert_eq!(t.revoke(&bobs, by_id.clone()).await.expect("revoke"), 0);
    assert_allow(&t.check(&secret, &["read:contacts"]).await);

    // Her own credential ends the whole family: the refresh token and its access token.
    let anns = t.key_for(&ann.id, &["tessera:tokens:self"]).await.token;
    assert_eq!(t.revoke(&anns, by_id.clone()).await.expect("revoke"), 2);
    assert_unauthenticated(&t.check(&secret, &["read:contacts"]).await);
    let ended = t.store.get_grant(&grant.id).await.expect("read");
    assert!(
        ended.expect("grant").revoked_at.is_some(),
        "the grant ended"
    );
    assert_eq!(t.revoke(&anns, by_id).await.expect("again"), 0, "once");
}
