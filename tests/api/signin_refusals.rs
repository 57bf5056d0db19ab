//! What the built-in pages refuse: a form without this browser's CSRF token, a consent form
//! whose request was changed, expired or rendered for another browser, and a session that
//! was signed out or whose user was disabled. None of them yields a code.

use base64::Engine as _;
use tessera::proto::v1 as pb;

use super::browser::{Browser, Page};
use super::signin_pages::{authorize_url, setup, signed_in};
use crate::accounts::PASSWORD;
use crate::helpers::*;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

fn assert_refused(page: &Page, status: u16) {
    assert_eq!(page.status, status, "{}", page.body);
    assert!(page.header("location").is_empty(), "never a redirect");
    assert!(page.cookie("tessera_session").is_none());
}

#[tokio::test]
async fn a_form_without_this_browsers_csrf_token_is_refused() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let page = b.get(&url).await;
    let request = page.field("request");
    let csrf = page.field("csrf");
    let login = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("request".to_owned(), request.clone()),
            ("username".to_owned(), "ann".to_owned()),
            ("password".to_owned(), PASSWORD.to_owned()),
        ]
    };
    for bad in ["", "AAAA", &csrf[1..]] {
        let fields = login(bad);
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_refused(&b.post("/oauth/ui/sign-in", &fields).await, 403);
    }
    // The right token, but the browser cookie gone (another site posting the form).
    let cookie = b.jar.remove("tessera_browser").expect("cookie");
    let fields = login(&csrf);
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_refused(&b.post("/oauth/ui/sign-in", &fields).await, 403);
    // A browser id tessera did not make is not trusted, and gets a new one.
    b.jar
        .insert("tessera_browser".into(), format!("{}.AAAA", "x".repeat(43)));
    assert_refused(&b.post("/oauth/ui/sign-in", &fields).await, 403);
    let fresh = b.get(&url).await;
    assert!(
        fresh.cookie("tessera_browser").is_some(),
        "a made-up id is replaced"
    );
    // Another browser's form is not this one's, nor this one's form another's.
    let mut other = Browser::new(&t);
    let elsewhere = other.get(&url).await;
    b.jar.insert("tessera_browser".into(), cookie);
    assert_refused(&b.sign_in(&elsewhere, "ann", PASSWORD, "").await, 403);
    assert_refused(&other.sign_in(&page, "ann", PASSWORD, "").await, 403);
    assert_eq!(b.sign_in(&page, "ann", PASSWORD, "").await.status, 303);
}

#[tokio::test]
async fn another_users_consent_form_approves_nothing() {
    let (t, reg) = setup().await;
    t.user_with_password("bob", &["editor"]).await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let anns = signed_in(&mut b, &url, "ann", "").await;
    let (csrf, request) = (anns.field("csrf"), anns.field("request"));
    b.post(
        "/oauth/ui/sign-out",
        &[("csrf", &csrf), ("request", &request)],
    )
    .await;
    signed_in(&mut b, &url, "bob", "").await;
    // Bob's session with Ann's page: refused (the browser's id changed at sign-in).
    let page = b.decide(&anns, "allow").await;
    assert_refused(&page, 403);
}
#[tokio::test]
async fn a_changed_consent_form_is_refused() {
    let (t, reg) = setup().await;
    let (url, _, verifier) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let consent = signed_in(&mut b, &url, "ann", "").await;
    let (csrf, request) = (consent.field("csrf"), consent.field("request"));
    let (payload, tag) = request.split_once('.').expect("payload.tag");
    let payload = String::from_utf8(B64.decode(payload).expect("b64")).expect("utf8");
    let changes = [
        payload.replace(
            "scope=read%3Acontacts",
            "scope=read%3Acontacts+write%3Acontacts",
        ),
        payload.replace(
            "https%3A%2F%2Fapp.example.com",
            "https%3A%2F%2Fevil.example.com",
        ),
        payload.replace(&reg.id, "cli_another0000000000"),
    ];
    for changed in changes {
        assert_ne!(changed, payload);
        let forged = format!("{}.{tag}", B64.encode(&changed));
        let page = b
            .post(
                "/oauth/ui/consent",
                &[("csrf", &csrf), ("request", &forged), ("decision", "allow")],
            )
            .await;
        assert_refused(&page, 400);
        assert!(page.body.contains("was changed"), "{}", page.body);
    }
    // A field the form never had is not obeyed either: the sealed request decides.
    let page = b
        .post(
            "/oauth/ui/consent",
            &[
                ("csrf", &csrf),
                ("request", &request),
                ("decision", "allow"),
                ("scope", "write:contacts"),
            ],
        )
        .await;
    let target = url::Url::parse(page.location()).expect("redirect");
    let code = super::oauth_apps::param(&target, "code").expect("code");
    let tokens = t
        .oauth_app(&reg, false)
        .exchange_code(oauth2::AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&super::oauth_apps::http())
        .await
        .expect("exchange");
    let scopes: Vec<String> = oauth2::TokenResponse::scopes(&tokens)
        .expect("scope")
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(scopes, ["read:contacts"]);
}

#[tokio::test]
async fn an_expired_authorization_request_is_refused() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let consent = signed_in(&mut b, &url, "ann", "").await;
    t.clock.advance(std::time::Duration::from_secs(10 * 60 + 1));
    assert_refused(&b.decide(&consent, "allow").await, 400);
    // Starting again from the app works: the session is still good.
    let again = b.get(&url).await;
    assert!(again.body.contains("wants to use your account"));
    assert_eq!(b.decide(&again, "allow").await.status, 303);
    // Signing out works from a page however old, and ends the session.
    let jwt = b.jar["tessera_session"].clone();
    t.clock.advance(std::time::Duration::from_secs(10 * 60 + 1));
    let (csrf, request) = (again.field("csrf"), again.field("request"));
    let out = b
        .post(
            "/oauth/ui/sign-out",
            &[("csrf", &csrf), ("request", &request)],
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert!(out.body.contains("You are signed out"));
    assert!(
        out.cookie("tessera_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    assert_unauthenticated(&t.check(&jwt, &["read:contacts"]).await);
}

#[tokio::test]
async fn a_signed_out_or_disabled_session_approves_nothing() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let consent = signed_in(&mut b, &url, "ann", "").await;
    let jwt = b.jar["tessera_session"].clone();
    let (csrf, request) = (consent.field("csrf"), consent.field("request"));
    let out = b
        .post(
            "/oauth/ui/sign-out",
            &[("csrf", &csrf), ("request", &request)],
        )
        .await;
    assert!(
        out.cookie("tessera_session")
            .expect("cleared")
            .contains("Max-Age=0")
    );
    assert!(out.location().starts_with("/oauth/authorize?"));
    // The session is revoked, not just forgotten by this browser.
    assert_unauthenticated(&t.check(&jwt, &["read:contacts"]).await);
    b.jar.insert("tessera_session".into(), jwt);
    let again = b.decide(&consent, "allow").await;
    assert!(
        again.location().starts_with("/oauth/authorize?"),
        "back to sign-in"
    );
    let sign_in = b.get(again.location()).await;
    assert!(sign_in.body.contains("Sign in"));

    // A user disabled after signing in is signed out everywhere.
    let cy = t.user_with_password("cy", &["editor"]).await;
    let consent = signed_in(&mut b, &url, "cy", "").await;
    t.admin
        .clone()
        .disable_user(authed(&t.admin_key, pb::DisableUserRequest { id: cy }))
        .await
        .expect("disable");
    let again = b.decide(&consent, "allow").await;
    assert!(
        again.location().starts_with("/oauth/authorize?"),
        "back to sign-in"
    );
}
