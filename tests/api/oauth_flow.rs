//! The whole OAuth 2 flow through a client library we did not write (the `oauth2` crate)
//! over the HTTP endpoints, with the product's consent page played by OAuthService calls.

use oauth2::basic::BasicErrorResponseType;
use oauth2::{
    AuthorizationCode, CsrfToken, PkceCodeChallenge, RequestTokenError, Scope,
    TokenIntrospectionResponse, TokenResponse,
};
use tessera::proto::v1 as pb;

use super::oauth_apps::{self as apps, REDIRECT};
use crate::helpers::*;

const CONSENT: &str = "https://product.example.com/consent";

async fn spawn() -> TestApp {
    spawn_app_on(
        std::sync::Arc::new(crate::db::TestDb::fresh().await),
        Setup {
            consent_url: Some(CONSENT.into()),
            ..Setup::default()
        },
    )
    .await
}

/// `/oauth/authorize` hands the browser to the consent page with the query unchanged.
async fn to_consent(auth_url: &url::Url) -> url::Url {
    let res = apps::http()
        .get(auth_url.as_str())
        .send()
        .await
        .expect("authorize answers");
    assert_eq!(res.status().as_u16(), 302, "{res:?}");
    let location = res.headers()["location"].to_str().expect("ascii");
    let consent = url::Url::parse(location).expect("consent url");
    assert!(location.starts_with(CONSENT), "{location}");
    assert_eq!(consent.query(), auth_url.query(), "the query unchanged");
    consent
}

#[tokio::test]
async fn a_public_app_with_pkce_gets_refreshes_and_loses_its_tokens_on_reuse() {
    let t = spawn().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let session = t.session_for("ann", &["editor"]).await;
    let reg = t
        .register_app(
            pb::ClientType::Public,
            &["read:*", "write:contacts"],
            &["authorization_code", "refresh_token"],
        )
        .await;
    assert!(reg.secret.is_empty(), "a public client gets no secret");
    let app = t.oauth_app(&reg, false);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf) = app
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("read:contacts".into()))
        .set_pkce_challenge(challenge)
        .url();
    let consent = to_consent(&auth_url).await;
    let approved = t.approve(&session, &consent).await.expect("approve");
    assert_eq!(approved.scopes, ["read:contacts"]);
    assert!(approved.error.is_empty());
    let back = url::Url::parse(&approved.redirect_url).expect("redirect");
    assert!(approved.redirect_url.starts_with(REDIRECT));
    assert_eq!(
        apps::param(&back, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = apps::param(&back, "code").expect("code");
    assert_eq!(code, approved.code);

    let tokens = app
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&apps::http())
        .await
        .expect("exchange");
    let access = tokens.access_token().secret().clone();
    assert!(access.starts_with("tsa_"));
    assert_eq!(
        tokens.expires_in().map(|d| d.as_secs()),
        Some(3600),
        "one hour"
    );
    let scopes: Vec<String> = tokens
        .scopes()
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["read:contacts"]);
    let refresh = tokens.refresh_token().expect("a refresh token").clone();
    assert!(refresh.secret().starts_with("tsr_"));

    // Checked like any token: a write with a read scope is 403, not 401.
    assert_allow(&t.check(&access, &["read:contacts"]).await);
    let write = t.check(&access, &["write:contacts"]).await;
    assert_denied(&write);
    assert_eq!(write.http_status, 403);
    assert_unauthenticated(&t.check(refresh.secret(), &["read:contacts"]).await);
    let seen = t.introspect(&access).await;
    assert!(seen.active);
    assert_eq!(seen.kind, "oauth_access");
    assert_eq!(seen.client_id, reg.id);

    let renewed = app
        .exchange_refresh_token(&refresh)
        .request_async(&apps::http())
        .await
        .expect("refresh");
    let access2 = renewed.access_token().secret().clone();
    let refresh2 = renewed.refresh_token().expect("rotated").clone();
    assert_ne!(refresh2.secret(), refresh.secret());
    assert_allow(&t.check(&access2, &["read:contacts"]).await);

    // The consumed refresh token again: theft, so the whole family ends.
    let reuse = app
        .exchange_refresh_token(&refresh)
        .request_async(&apps::http())
        .await;
    match reuse {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant);
        }
        other => panic!("reuse must fail with invalid_grant: {other:?}"),
    }
    assert_unauthenticated(&t.check(&access2, &["read:contacts"]).await);
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);
    let again = app
        .exchange_refresh_token(&refresh2)
        .request_async(&apps::http())
        .await;
    assert!(
        again.is_err(),
        "the newest refresh token ended with its family"
    );
}

#[tokio::test]
async fn a_confidential_app_with_basic_and_with_post_exchanges_introspects_and_revokes() {
    let t = spawn().await;
    t.create_role("reader", &["read:contacts", "read:deals"])
        .await;
    let session = t.session_for("bob", &["reader"]).await;
    for post in [false, true] {
        let reg = t
            .register_app(
                pb::ClientType::Confidential,
                &["read:*"],
                &["authorization_code", "refresh_token", "client_credentials"],
            )
            .await;
        assert!(reg.secret.starts_with("tsc_"));
        let app = t.oauth_app(&reg, post);
        let (auth_url, _) = app.authorize_url(CsrfToken::new_random).url();
        let approved = t
            .approve(&session, &to_consent(&auth_url).await)
            .await
            .expect("approve");
        assert_eq!(approved.scopes, ["read:contacts", "read:deals"]);
        let tokens = app
            .exchange_code(AuthorizationCode::new(approved.code))
            .request_async(&apps::http())
            .await
            .expect("exchange");
        let access = tokens.access_token().clone();
        assert_allow(&t.check(access.secret(), &["read:deals"]).await);

        let seen = app
            .introspect(&access)
            .request_async(&apps::http())
            .await
            .expect("introspect");
        assert!(seen.active());
        assert_eq!(seen.client_id().map(|c| c.as_str()), Some(reg.id.as_str()));
        assert_eq!(seen.username(), Some("bob"));
        assert!(seen.exp().is_some() && seen.iat().is_some());

        // Client credentials: the app itself, for what it asks ∩ its scopes.
        let own = app
            .exchange_client_credentials()
            .add_scope(Scope::new("read:contacts".into()))
            .request_async(&apps::http())
            .await
            .expect("client credentials");
        assert!(own.refresh_token().is_none(), "no refresh token (§4.4.3)");
        let decided = t
            .check(own.access_token().secret(), &["read:contacts"])
            .await;
        assert_allow(&decided);
        assert_eq!(decided.subject, reg.id);
        assert_denied(&t.check(own.access_token().secret(), &["read:deals"]).await);

        // The crate refuses a revocation URL over plain http (tests run without TLS), so
        // revocation is the RFC 7009 request written out.
        let revoke = |token: String, hint: &'static str| {
            let (url, id, secret) = (
                t.http_url("/oauth/revoke"),
                reg.id.clone(),
                reg.secret.clone(),
            );
            async move {
                let basic = (!post).then_some((id.as_str(), secret.as_str()));
                let mut form = vec![("token", token.as_str()), ("token_type_hint", hint)];
                if post {
                    form.extend([
                        ("client_id", id.as_str()),
                        ("client_secret", secret.as_str()),
                    ]);
                }
                let (status, _, _) = apps::post_form(&url, basic, &form).await;
                assert_eq!(status, 200);
            }
        };
        revoke(own.access_token().secret().clone(), "access_token").await;
        assert_unauthenticated(
            &t.check(own.access_token().secret(), &["read:contacts"])
                .await,
        );
        // Unknown tokens are fine too (RFC 7009 §2.2).
        revoke("tsa_nothing".into(), "access_token").await;

        // Revoking the refresh token ends its family (RFC 7009 §2.1).
        let refresh = tokens.refresh_token().expect("refresh").secret().clone();
        revoke(refresh, "refresh_token").await;
        assert_unauthenticated(&t.check(access.secret(), &["read:deals"]).await);
        let gone = app
            .introspect(&access)
            .request_async(&apps::http())
            .await
            .expect("introspect");
        assert!(!gone.active());
    }
}

#[tokio::test]
async fn discovery_names_every_endpoint_and_the_signing_keys() {
    let t = spawn().await;
    // A login makes the first signing key (`serve` makes it at startup).
    t.session_for("carol", &[]).await;
    let get = |path: &str| {
        let url = t.http_url(path);
        async move {
            let res = apps::http().get(url).send().await.expect("answers");
            assert_eq!(res.status().as_u16(), 200);
            let bytes = res.bytes().await.expect("body");
            serde_json::from_slice::<serde_json::Value>(&bytes).expect("json")
        }
    };
    let meta = get("/.well-known/oauth-authorization-server").await;
    let issuer = t.http_url("");
    assert_eq!(meta["issuer"], issuer.as_str());
    assert_eq!(meta["token_endpoint"], format!("{issuer}/oauth/token"));
    assert_eq!(
        meta["revocation_endpoint"],
        format!("{issuer}/oauth/revoke")
    );
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{issuer}/oauth/introspect")
    );
    assert_eq!(
        meta["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(
        meta["response_types_supported"],
        serde_json::json!(["code"])
    );
    let jwks = get("/.well-known/jwks.json").await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert!(!keys.is_empty());
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
}
