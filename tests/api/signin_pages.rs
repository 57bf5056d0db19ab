//! The built-in sign-in and consent pages (no `--consent-url`), driven over HTTP as a
//! browser drives them: sign in, TOTP, consent, deny, and what is refused (a missing or
//! wrong CSRF token, a changed or expired form, a form from another browser, a session
//! that ended). The code they hand out is exchanged by the `oauth2` crate.

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, PkceCodeVerifier, Scope};
use tessera::proto::v1 as pb;

use super::browser::{Browser, Page};
use super::oauth_apps::{self as apps, REDIRECT, Registered};
use crate::accounts::{PASSWORD, totp_at};
use crate::helpers::*;

const FAILED: &str = "The username, password or code is not right.";

/// A server with an editor `ann` (password set) and a public app asking for contacts.
pub async fn setup() -> (TestApp, Registered) {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    t.user_with_password("ann", &["editor"]).await;
    let reg = t
        .register_app(
            pb::ClientType::Public,
            &["read:*", "write:contacts"],
            &["authorization_code", "refresh_token"],
        )
        .await;
    (t, reg)
}

/// The app's authorize URL (PKCE S256, `scopes`), its state and its verifier.
pub fn authorize_url(
    t: &TestApp,
    reg: &Registered,
    scopes: &[&str],
) -> (String, String, PkceCodeVerifier) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let app = t.oauth_app(reg, false);
    let mut req = app.authorize_url(CsrfToken::new_random);
    for s in scopes {
        req = req.add_scope(Scope::new((*s).into()));
    }
    let (url, state) = req.set_pkce_challenge(challenge).url();
    (url.to_string(), state.secret().clone(), verifier)
}

fn assert_secure_page(page: &Page, form_origin: &str) {
    assert_eq!(
        page.header("content-security-policy"),
        format!(
            "default-src 'none'; style-src 'self'; form-action 'self' {form_origin}; frame-ancestors 'none'"
        )
    );
    assert_eq!(page.header("x-frame-options"), "DENY");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("cache-control"), "no-store");
    assert!(!page.body.contains("<script"), "no script");
}

/// Signs `username` in from the authorize URL: the consent page.
pub async fn signed_in(b: &mut Browser, url: &str, username: &str, code: &str) -> Page {
    let sign_in = b.get(url).await;
    assert_eq!(sign_in.status, 200, "{}", sign_in.body);
    let done = b.sign_in(&sign_in, username, PASSWORD, code).await;
    let consent = b.get(done.location()).await;
    assert_eq!(consent.status, 200, "{}", consent.body);
    assert!(
        consent.body.contains("wants to use your account"),
        "{}",
        consent.body
    );
    consent
}

#[tokio::test]
async fn sign_in_and_allow_hand_the_app_a_code_it_exchanges_with_its_verifier() {
    let (t, reg) = setup().await;
    let (url, state, verifier) = authorize_url(&t, &reg, &["read:contacts", "write:contacts"]);
    let mut b = Browser::new(&t);
    let sign_in = b.get(&url).await;
    assert_eq!(sign_in.status, 200);
    assert!(sign_in.body.contains("Sign in") && sign_in.body.contains("test app"));
    assert!(sign_in.body.contains("Acme"), "the --ui-title");
    assert_secure_page(&sign_in, "https://app.example.com");
    let browser = sign_in.cookie("tessera_browser").expect("a browser cookie");
    assert!(browser.contains("HttpOnly") && browser.contains("SameSite=Lax"));
    assert!(
        browser.contains("Path=/oauth") && !browser.contains("Secure"),
        "{browser}"
    );

    let done = b.sign_in(&sign_in, "ann", PASSWORD, "").await;
    let session = done.cookie("tessera_session").expect("a session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(
        session.contains("Path=/oauth") && session.contains("Max-Age=3600"),
        "{session}"
    );
    // An ordinary session: listed among the user's tokens.
    let jwt = b.jar["tessera_session"].clone();
    let own = t.tokens_of_result(&jwt).await.expect("list own tokens");
    assert!(own.iter().any(|tok| tok.kind == "session"), "{own:?}");

    let consent = b.get(done.location()).await;
    assert_secure_page(&consent, "https://app.example.com");
    for text in [
        "test app",
        "ann",
        "app.example.com",
        "read:contacts",
        "reads data",
        "write:contacts",
        "changes data",
    ] {
        assert!(
            consent.body.contains(text),
            "{text} missing from {}",
            consent.body
        );
    }
    // Signed in already: the next request goes straight to consent.
    assert!(b.get(&url).await.body.contains("wants to use your account"));

    let back = b.decide(&consent, "allow").await;
    let target = url::Url::parse(back.location()).expect("redirect");
    assert!(back.location().starts_with(REDIRECT), "{}", back.location());
    assert_eq!(apps::param(&target, "state"), Some(state));
    let code = apps::param(&target, "code").expect("a code");
    let tokens = t
        .oauth_app(&reg, false)
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&apps::http())
        .await
        .expect("exchange");
    let access = oauth2::TokenResponse::access_token(&tokens)
        .secret()
        .clone();
    assert_allow(&t.check(&access, &["write:contacts"]).await);
    assert_denied(&t.check(&access, &["delete:contacts"]).await);
}

#[tokio::test]
async fn deny_sends_access_denied_and_no_code() {
    let (t, reg) = setup().await;
    let (url, state, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let consent = signed_in(&mut b, &url, "ann", "").await;
    let back = b.decide(&consent, "deny").await;
    let target = url::Url::parse(back.location()).expect("redirect");
    assert_eq!(
        apps::param(&target, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(apps::param(&target, "state"), Some(state));
    assert_eq!(apps::param(&target, "code"), None);
}

#[tokio::test]
async fn every_failed_sign_in_says_the_same_and_keeps_nothing_of_the_password() {
    let (t, reg) = setup().await;
    let session = t.login("ann", PASSWORD, "").await.expect("login").token;
    let seed = t.turn_on_totp(&session).await;
    t.user_with_password("bob", &["editor"]).await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let page = b.get(&url).await;
    let wrong_code = if totp_at(&seed, t.now_seconds()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let tries = [
        ("ann", "not the password at all", ""),
        ("ann", PASSWORD, ""),
        ("ann", PASSWORD, wrong_code),
        ("nobody", "hunter2-hunter2", ""),
        ("bob", "a-wrong-password-for-bob", ""),
    ];
    for (user, password, code) in tries {
        let failed = b.sign_in(&page, user, password, code).await;
        assert_eq!(failed.status, 401, "{user}");
        assert!(failed.body.contains(FAILED), "{user}: {}", failed.body);
        assert!(
            !failed.body.contains(password),
            "the password echoed for {user}"
        );
        assert!(
            failed.body.contains(&format!("value=\"{user}\"")),
            "the username kept"
        );
        assert!(failed.cookie("tessera_session").is_none());
    }
    // The right code signs ann in (at the next step: a code is used once).
    t.clock.advance(std::time::Duration::from_secs(30));
    let code = totp_at(&seed, t.now_seconds());
    let done = b.sign_in(&page, "ann", PASSWORD, &code).await;
    assert!(done.cookie("tessera_session").is_some(), "{done:?}");
    let consent = b.get(done.location()).await;
    assert!(consent.body.contains("wants to use your account"));
}

#[tokio::test]
async fn bad_clients_and_redirect_uris_get_an_error_page_never_a_redirect() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let other = url.replace(&reg.id, "cli_unknownclient00000");
    let elsewhere = url.replace(
        &form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        "https%3A%2F%2Fevil.example.com%2Fcb",
    );
    assert_ne!(elsewhere, url);
    for bad in [other, elsewhere] {
        let page = b.get(&bad).await;
        assert_eq!(page.status, 400, "{}", page.body);
        assert!(page.header("location").is_empty());
        assert!(page.body.contains("cannot be handled"));
    }
    // A request the client may make but that is wrong otherwise goes back to the app.
    let page = b
        .get(&url.replace("response_type=code", "response_type=token"))
        .await;
    let target = url::Url::parse(page.location()).expect("redirect");
    assert_eq!(
        apps::param(&target, "error").as_deref(),
        Some("unsupported_response_type")
    );
}

#[tokio::test]
async fn a_hostile_client_name_is_shown_escaped() {
    let t = spawn_app().await;
    t.user_with_password("ann", &[]).await;
    let reg = t
        .public_app(
            "<script>alert(1)</script>\"'&",
            "http://127.0.0.1/cb",
            &["read:*"],
            &["authorization_code"],
        )
        .await;
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let url = format!(
        "/oauth/authorize?response_type=code&client_id={}&code_challenge={}&code_challenge_method=S256&state=%3Cb%3E",
        reg.id,
        challenge.as_str()
    );
    let mut b = Browser::new(&t);
    for page in [b.get(&url).await, signed_in(&mut b, &url, "ann", "").await] {
        assert!(!page.body.contains("<script>"), "{}", page.body);
        assert!(
            page.body
                .contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || page.body.contains("&lt;script&gt;"),
            "{}",
            page.body
        );
        // Loopback: the redirect origin in form-action is the one the request named.
        assert!(
            page.header("content-security-policy")
                .contains("form-action 'self' http://127.0.0.1;")
        );
    }
}

#[tokio::test]
async fn scopes_the_app_will_not_get_are_shown_apart() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(
        &t,
        &reg,
        &["read:contacts", "read:billing", "delete:contacts"],
    );
    let mut b = Browser::new(&t);
    let consent = signed_in(&mut b, &url, "ann", "").await;
    let (granted, withheld) = consent
        .body
        .split_once("which it will not get")
        .expect("a withheld list");
    assert!(granted.contains("read:contacts"));
    assert!(!granted.contains("read:billing") && !granted.contains("delete:contacts"));
    assert!(withheld.contains("read:billing") && withheld.contains("delete:contacts"));
}

#[tokio::test]
async fn repeated_failures_lock_the_sign_in_page_like_the_login_grant() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let page = b.get(&url).await;
    for _ in 0..5 {
        assert_eq!(
            b.sign_in(&page, "ann", "not-the-password-1", "")
                .await
                .status,
            401
        );
    }
    let locked = b.sign_in(&page, "ann", PASSWORD, "").await;
    assert_eq!(locked.status, 429, "{}", locked.body);
    assert!(
        locked.body.contains("Too many sign-in attempts"),
        "{}",
        locked.body
    );
    assert!(locked.cookie("tessera_session").is_none());
}

#[tokio::test]
async fn error_pages_and_redirects_carry_the_same_headers() {
    let (t, reg) = setup().await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let error = b.get(&url.replace(&reg.id, "cli_unknownclient00000")).await;
    assert_eq!(error.status, 400);
    assert_eq!(
        error.header("content-security-policy"),
        "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    let page = b.get(&url).await;
    let done = b.sign_in(&page, "ann", PASSWORD, "").await;
    for (name, value) in [
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ] {
        assert_eq!(error.header(name), value, "{name} on an error page");
        assert_eq!(done.header(name), value, "{name} on a redirect");
    }
    let css = b.get("/oauth/ui/style.css").await;
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").starts_with("text/css"));
    assert!(css.body.contains("#0a7d5a"), "the --ui-accent-color");
}

#[tokio::test]
async fn cookies_are_secure_and_the_browser_id_host_only_off_loopback() {
    let mut setup = Setup::default();
    setup.ui.secure_cookies = true;
    let t = spawn_app_on(std::sync::Arc::new(crate::db::TestDb::fresh().await), setup).await;
    t.user_with_password("ann", &[]).await;
    let reg = t
        .register_app(pb::ClientType::Public, &["read:*"], &["authorization_code"])
        .await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let mut b = Browser::new(&t);
    let page = b.get(&url).await;
    let browser = page
        .cookie("__Host-tessera_browser")
        .expect("a __Host- browser cookie");
    assert!(
        browser.contains("Path=/;") && browser.contains("Secure"),
        "{browser}"
    );
    let done = b.sign_in(&page, "ann", PASSWORD, "").await;
    let session = done.cookie("tessera_session").expect("session");
    assert!(
        session.contains("Secure") && session.contains("Path=/oauth"),
        "{session}"
    );
}

#[tokio::test]
async fn without_a_server_secret_the_pages_say_what_to_set() {
    let setup = Setup {
        secret: None,
        ..Setup::default()
    };
    let t = spawn_app_on(std::sync::Arc::new(crate::db::TestDb::fresh().await), setup).await;
    let reg = t
        .register_app(pb::ClientType::Public, &["read:*"], &["authorization_code"])
        .await;
    let (url, _, _) = authorize_url(&t, &reg, &["read:contacts"]);
    let page = Browser::new(&t).get(&url).await;
    assert_eq!(page.status, 503, "{}", page.body);
    assert!(page.body.contains("TESSERA_SECRET_KEY"), "{}", page.body);
    assert!(page.header("location").is_empty());
}
