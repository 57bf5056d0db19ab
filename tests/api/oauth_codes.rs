//! The token endpoint's §5.2 error codes and statuses, garbage in every field, refresh
//! races, and an app's access ending: narrowed, disabled, deleted, revoked by an admin or
//! by the user, listed as connections.

use tessera::proto::v1 as pb;

use super::oauth_apps::{REDIRECT, ann, connected, post_form};
use crate::helpers::*;

/// Basic credentials, the form, the status and the error code expected.
type Case<'a> = (
    Option<(&'a str, &'a str)>,
    Vec<(&'a str, &'a str)>,
    u16,
    &'a str,
);

#[tokio::test]
async fn every_error_code_comes_with_its_status() {
    let t = spawn_app().await;
    let token = t.http_url("/oauth/token");
    let app = t
        .register_app(
            pb::ClientType::Confidential,
            &["read:*"],
            &["authorization_code"],
        )
        .await;
    let id = app.id.as_str();
    let secret = app.secret.as_str();
    let cases: Vec<Case> = vec![
        (Some((id, secret)), vec![], 400, "invalid_request"),
        (
            Some((id, secret)),
            vec![
                ("grant_type", "client_credentials"),
                ("grant_type", "client_credentials"),
            ],
            400,
            "invalid_request",
        ),
        (
            Some((id, secret)),
            vec![("grant_type", "password")],
            400,
            "unsupported_grant_type",
        ),
        (
            Some((id, secret)),
            vec![("grant_type", "client_credentials")],
            400,
            "unauthorized_client",
        ),
        (
            Some((id, secret)),
            vec![
                ("grant_type", "authorization_code"),
                ("code", "nope"),
                ("redirect_uri", REDIRECT),
            ],
            400,
            "invalid_grant",
        ),
        (
            Some((id, "tsc_wrong")),
            vec![("grant_type", "authorization_code")],
            401,
            "invalid_client",
        ),
        (
            None,
            vec![("grant_type", "authorization_code"), ("client_id", id)],
            401,
            "invalid_client",
        ),
    ];
    for (basic, form, status, code) in cases {
        let (got, json, challenge) = post_form(&token, basic, &form).await;
        assert_eq!(
            (got, json["error"].as_str()),
            (status, Some(code)),
            "{form:?}: {json}"
        );
        assert!(json["error_description"].is_string());
        if status == 401 && basic.is_some() {
            assert!(challenge.expect("WWW-Authenticate").starts_with("Basic"));
        }
    }
    let cc = t
        .register_app(
            pb::ClientType::Confidential,
            &["read:*"],
            &["client_credentials"],
        )
        .await;
    let (status, json, _) = post_form(
        &token,
        Some((&cc.id, &cc.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "write:contacts"),
        ],
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    let (status, json, _) = post_form(
        &token,
        Some((&cc.id, &cc.secret)),
        &[
            ("grant_type", "client_credentials"),
            ("scope", "read:contacts"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{json}");
    assert_eq!(json["token_type"], "Bearer");
    assert_eq!(json["scope"], "read:contacts");
    assert!(json.get("refresh_token").is_none());

    // Not a form, or too large: refused before anything else.
    let res = super::oauth_apps::http()
        .post(&token)
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("answers");
    assert_eq!(res.status().as_u16(), 400);
    let big = "a".repeat(70 * 1024);
    let (status, _, _) = post_form(&token, None, &[("grant_type", &big)]).await;
    assert_eq!(status, 413);
}

#[tokio::test]
async fn garbage_in_every_form_field_never_gets_a_token() {
    let t = spawn_app().await;
    let session = ann(&t).await;
    let (app, _) = connected(&t, &session, &["read:*"]).await;
    let garbage = [
        "",
        " ",
        "\u{0}",
        "%ZZ",
        "tsr_0000000000000000000000000000000000000000000000000000000000",
        "\u{202e}evil",
        &"x".repeat(5000),
        "read:* write:*",
    ];
    let fields = [
        "grant_type",
        "code",
        "redirect_uri",
        "client_id",
        "client_secret",
        "code_verifier",
        "refresh_token",
        "scope",
    ];
    for grant in ["authorization_code", "refresh_token"] {
        for field in fields {
            for value in garbage {
                let mut form = vec![
                    ("grant_type", grant),
                    ("client_id", app.id.as_str()),
                    ("client_secret", app.secret.as_str()),
                ];
                form.retain(|(k, _)| *k != field);
                form.push((field, value));
                let (status, json, _) = post_form(&t.http_url("/oauth/token"), None, &form).await;
                assert!(
                    status == 400 || status == 401,
                    "{grant} {field}={value:?}: {status} {json}"
                );
                assert!(json["error"].is_string(), "{json}");
                assert!(json.get("access_token").is_none());
            }
        }
    }
}

#[tokio::test]
async fn of_twenty_concurrent_refreshes_one_wins() {
    let t = spawn_app().await;
    let session = ann(&t).await;
    let (app, first) = connected(&t, &session, &["read:*"]).await;
    let refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    let url = t.http_url("/oauth/token");
    let attempts = (0..20).map(|_| {
        let (url, app_id, secret, refresh) = (
            url.clone(),
            app.id.clone(),
            app.secret.clone(),
            refresh.clone(),
        );
        tokio::spawn(async move {
            post_form(
                &url,
                Some((&app_id, &secret)),
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await
        })
    });
    let mut won = Vec::new();
    for attempt in attempts {
        let (status, json, _) = attempt.await.expect("task");
        match status {
            200 => won.push(json),
            400 => assert_eq!(json["error"], "invalid_grant"),
            other => panic!("{other}: {json}"),
        }
    }
    assert_eq!(won.len(), 1, "exactly one refresh wins");
    // A loser that read the token after the rotation presented a used token: that is
    // reuse and ends the family, the winner's pair too (as fosite does), so whether the
    // winner's pair survives depends on timing. Presenting the used token once more is
    // reuse for certain: the winner's access token ends with its family.
    let (status, json, _) = post_form(
        &url,
        Some((&app.id, &app.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let winner = won[0]["access_token"].as_str().expect("access");
    assert_unauthenticated(&t.check(winner, &["read:contacts"]).await);
}

#[tokio::test]
async fn within_the_reuse_grace_a_lost_answer_may_be_retried() {
    let t = spawn_app_on(
        std::sync::Arc::new(crate::db::TestDb::fresh().await),
        Setup {
            oauth: tessera::domain::app::oauth::OAuthConfig {
                refresh_reuse_grace: std::time::Duration::from_secs(30),
                ..Default::default()
            },
            ..Setup::default()
        },
    )
    .await;
    let session = ann(&t).await;
    let (app, first) = connected(&t, &session, &["read:*"]).await;
    let refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    let url = t.http_url("/oauth/token");
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let basic = Some((app.id.as_str(), app.secret.as_str()));
    let (status, lost, _) = post_form(&url, basic, &grant).await;
    assert_eq!(status, 200, "{lost}");
    // The client never saw that answer and retries: tolerated within the grace.
    let (status, retried, _) = post_form(&url, basic, &grant).await;
    assert_eq!(status, 200, "{retried}");
    let access = retried["access_token"].as_str().expect("access").to_owned();
    assert_allow(&t.check(&access, &["read:contacts"]).await);
    // Past the grace the same reuse is theft: refused, and the family ends.
    t.clock.advance(std::time::Duration::from_secs(31));
    let (status, json, _) = post_form(&url, basic, &grant).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);
}

#[tokio::test]
async fn a_family_ends_at_its_lifetime_however_often_refreshed() {
    let t = spawn_app_on(
        std::sync::Arc::new(crate::db::TestDb::fresh().await),
        Setup {
            oauth: tessera::domain::app::oauth::OAuthConfig {
                family_lifetime: std::time::Duration::from_secs(3 * 3600),
                access_ttl: std::time::Duration::from_secs(2 * 3600),
                ..Default::default()
            },
            ..Setup::default()
        },
    )
    .await;
    let session = ann(&t).await;
    let (app, first) = connected(&t, &session, &["read:*"]).await;
    let url = t.http_url("/oauth/token");
    let basic = Some((app.id.as_str(), app.secret.as_str()));
    let mut refresh = first["refresh_token"].as_str().expect("refresh").to_owned();
    // Hourly refreshes: an access token lasts two hours, but none past the family's end.
    for (hour, expected) in [(1, 7200), (2, 3600)] {
        t.clock.advance(std::time::Duration::from_secs(3600));
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.as_str()),
        ];
        let (status, json, _) = post_form(&url, basic, &grant).await;
        assert_eq!(status, 200, "hour {hour}: {json}");
        assert_eq!(json["expires_in"], expected, "hour {hour}");
        refresh = json["refresh_token"].as_str().expect("refresh").to_owned();
    }
    t.clock.advance(std::time::Duration::from_secs(3601));
    let grant = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh.as_str()),
    ];
    let (status, json, _) = post_form(&url, basic, &grant).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (400, Some("invalid_grant"))
    );
}
