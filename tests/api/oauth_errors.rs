//! The OAuth endpoints refusing what they must: redirect URI near-misses, PKCE missing,
//! `plain` or wrong, codes replayed, expired or misused, concurrent refreshes, every RFC
//! 6749 §5.2 error code with its status, and garbage in every form field.

use tessera::proto::v1 as pb;

use super::oauth_apps::{self as apps, REDIRECT, Registered, post_form};
use crate::helpers::*;

const ALL_GRANTS: [&str; 3] = ["authorization_code", "refresh_token", "client_credentials"];
/// RFC 7636 Appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn request(client_id: &str, redirect: &str, challenge: &str) -> pb::ApproveAuthorizationRequest {
    pb::ApproveAuthorizationRequest {
        client_id: client_id.into(),
        redirect_uri: redirect.into(),
        response_type: "code".into(),
        scopes: strings(&["read:contacts"]),
        state: "xyz".into(),
        code_challenge: challenge.into(),
        code_challenge_method: if challenge.is_empty() { "" } else { "S256" }.into(),
    }
}

async fn approve(
    t: &TestApp,
    session: &str,
    req: pb::ApproveAuthorizationRequest,
) -> Result<pb::ApproveAuthorizationResponse, tonic::Status> {
    t.oauth_service()
        .approve_authorization(authed(session, req))
        .await
        .map(tonic::Response::into_inner)
}

async fn setup() -> (TestApp, String, Registered, Registered) {
    let t = spawn_app().await;
    t.create_role("editor", &["read:contacts", "write:contacts"])
        .await;
    let session = t.session_for("ann", &["editor"]).await;
    let public = t
        .register_app(
            pb::ClientType::Public,
            &["read:*"],
            &["authorization_code", "refresh_token"],
        )
        .await;
    let confidential = t
        .register_app(pb::ClientType::Confidential, &["read:*"], &ALL_GRANTS)
        .await;
    (t, session, public, confidential)
}

/// The code grant over HTTP with `client_secret_post` (or a public client's id alone).
async fn exchange(
    t: &TestApp,
    app: &Registered,
    code: &str,
    redirect: &str,
    verifier: &str,
) -> (u16, serde_json::Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", app.id.as_str()),
    ];
    if !app.secret.is_empty() {
        form.push(("client_secret", app.secret.as_str()));
    }
    if !verifier.is_empty() {
        form.push(("code_verifier", verifier));
    }
    let (status, json, _) = post_form(&t.http_url("/oauth/token"), None, &form).await;
    (status, json)
}

fn error_of(redirect_url: &str) -> Option<String> {
    apps::param(&url::Url::parse(redirect_url).expect("url"), "error")
}

#[tokio::test]
async fn redirect_uri_near_misses_are_refused_and_never_redirected_to() {
    let (t, session, public, _) = setup().await;
    for bad in [
        "https://app.example.com/callback/",
        "https://APP.example.com/callback",
        "https://app.example.com/Callback",
        "https://app.example.com/callback?x=1",
        "https://app.example.com:8443/callback",
        "http://app.example.com/callback",
        "https://app.example.com/callback#frag",
        "https://evil.example.com/callback",
    ] {
        let refused = approve(&t, &session, request(&public.id, bad, CHALLENGE))
            .await
            .expect_err(bad);
        assert_eq!(refused.code(), tonic::Code::InvalidArgument, "{bad}");
        assert!(
            refused.message().contains("redirect_uri"),
            "{bad}: {refused:?}"
        );
        // The browser endpoint shows a page, never a Location.
        let mut url = url::Url::parse(&t.http_url("/oauth/authorize")).expect("url");
        url.query_pairs_mut()
            .append_pair("client_id", &public.id)
            .append_pair("redirect_uri", bad)
            .append_pair("response_type", "code");
        let res = apps::http().get(url).send().await.expect("answers");
        assert_eq!(res.status().as_u16(), 400, "{bad}");
        assert!(res.headers().get("location").is_none(), "{bad}");
    }
    // Loopback: any port matches (RFC 8252 §7.3).
    let ok = approve(
        &t,
        &session,
        request(&public.id, "http://127.0.0.1:53127/loopback", CHALLENGE),
    )
    .await
    .expect("loopback port");
    assert!(
        ok.redirect_url
            .starts_with("http://127.0.0.1:53127/loopback?code=")
    );
    // Unknown client: refused the same way.
    let unknown = approve(
        &t,
        &session,
        request("cli_nosuchclient", REDIRECT, CHALLENGE),
    )
    .await
    .expect_err("unknown client");
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
}

#[tokio::test]
async fn pkce_is_required_s256_only_and_checked_at_the_exchange() {
    let (t, session, public, confidential) = setup().await;
    let missing = approve(&t, &session, request(&public.id, REDIRECT, ""))
        .await
        .expect("redirected");
    assert_eq!(
        error_of(&missing.redirect_url).as_deref(),
        Some("invalid_request")
    );
    assert!(missing.code.is_empty());
    assert_eq!(
        apps::param(
            &url::Url::parse(&missing.redirect_url).expect("url"),
            "state"
        )
        .as_deref(),
        Some("xyz")
    );
    let mut plain = request(&public.id, REDIRECT, VERIFIER);
    plain.code_challenge_method = "plain".into();
    let plain = approve(&t, &session, plain).await.expect("redirected");
    assert_eq!(
        error_of(&plain.redirect_url).as_deref(),
        Some("invalid_request")
    );

    let code = approve(&t, &session, request(&public.id, REDIRECT, CHALLENGE))
        .await
        .expect("approve")
        .code;
    let wrong = VERIFIER.replace('d', "e");
    let (status, json) = exchange(&t, &public, &code, REDIRECT, &wrong).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, json) = exchange(&t, &public, &code, REDIRECT, "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = exchange(&t, &public, &code, REDIRECT, VERIFIER).await;
    assert_eq!(status, 200, "a failed attempt does not use the code up");

    // Confidential: PKCE optional, but a verifier without a challenge is a downgrade.
    let code = approve(&t, &session, request(&confidential.id, REDIRECT, ""))
        .await
        .expect("approve")
        .code;
    let (status, json) = exchange(&t, &confidential, &code, REDIRECT, VERIFIER).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, _) = exchange(&t, &confidential, &code, REDIRECT, "").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_code_is_used_once_by_its_client_with_its_redirect_uri_before_it_expires() {
    let (t, session, public, confidential) = setup().await;
    let code = approve(&t, &session, request(&confidential.id, REDIRECT, ""))
        .await
        .expect("approve")
        .code;
    // Another client, another redirect URI: refused, and the code stays good.
    let (status, json) = exchange(&t, &public, &code, REDIRECT, VERIFIER).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, json) = exchange(&t, &confidential, &code, "http://127.0.0.1/loopback", "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let (status, first) = exchange(&t, &confidential, &code, REDIRECT, "").await;
    assert_eq!(status, 200, "{first}");
    let access = first["access_token"].as_str().expect("access");
    assert_allow(&t.check(access, &["read:contacts"]).await);
    // Replay: refused, and what the first use gave is revoked (RFC 6749 §4.1.2).
    let (status, json) = exchange(&t, &confidential, &code, REDIRECT, "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_unauthenticated(&t.check(access, &["read:contacts"]).await);
    let refresh = first["refresh_token"].as_str().expect("refresh");
    let (status, json, _) = post_form(
        &t.http_url("/oauth/token"),
        Some((&confidential.id, &confidential.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );

    // Expired: 60 s by default.
    let code = approve(&t, &session, request(&confidential.id, REDIRECT, ""))
        .await
        .expect("approve")
        .code;
    t.clock.advance(std::time::Duration::from_secs(61));
    let (status, json) = exchange(&t, &confidential, &code, REDIRECT, "").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
