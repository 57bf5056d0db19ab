//! Input hygiene: malformed bodies, names that hide or reorder characters, names that
//! differ only in case or Unicode form, lifetimes too short to use, and the per-user token
//! quota. Each on both backends.

use std::sync::Arc;
use std::time::Duration;

use tessera::proto::v1 as pb;
use tonic::Code;
use tonic::codegen::http::uri::PathAndQuery;

use crate::helpers::*;
use crate::raw::RawCodec;

#[tokio::test]
async fn a_malformed_body_is_invalid_argument_not_internal() {
    let t = spawn_app().await;
    let bodies: [&[u8]; 3] = [
        &[0xff, 0xff, 0xff],       // a truncated varint key
        &[0x0a, 0x05, b'a'],       // a string field longer than the body
        &[0x0a, 0x02, 0xc3, 0x28], // a string field that is not UTF-8
    ];
    for method in [
        "/tessera.v1.TokenService/Authorize",
        "/tessera.v1.TokenService/Issue",
        "/tessera.v1.AdminService/CreateRole",
    ] {
        for body in bodies {
            let mut grpc = tonic::client::Grpc::new(t.channel.clone());
            grpc.ready().await.expect("ready");
            let answer = grpc
                .unary(
                    authed(&t.admin_key, body.to_vec()),
                    PathAndQuery::from_static(method),
                    RawCodec,
                )
                .await;
            let status = answer.expect_err("refused");
            assert_eq!(status.code(), Code::InvalidArgument, "{method}: {status:?}");
            assert!(status.message().contains("malformed"), "{status:?}");
        }
    }
}

fn named_key(name: &str, ttl: Option<prost_types::Duration>) -> pb::issue_request::Grant {
    pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
        name: name.into(),
        scopes: strings(&["read:*"]),
        read_only: false,
        ttl,
        subject: String::new(),
    })
}

#[tokio::test]
async fn names_are_nfc_and_never_hide_or_reorder_characters() {
    let t = spawn_app().await;
    // One name in two Unicode forms is stored once, in NFC.
    let issued = t
        .issue(&t.admin_key, named_key("cafe\u{301} deploy", None))
        .await
        .expect("issue");
    let listed = t.tokens_of(&t.admin_key, "").await;
    let info = listed
        .iter()
        .find(|i| i.token_id == issued.token_id)
        .expect("listed");
    assert_eq!(info.name, "caf\u{e9} deploy");

    for bad in [
        "\u{200b}",
        "ci\u{202e}yek",
        "a\u{2066}b",
        "bell\u{7}",
        "two\nlines",
    ] {
        let refused = t.issue(&t.admin_key, named_key(bad, None)).await;
        let status = refused.expect_err(bad);
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().starts_with("api_key.name"), "{status:?}");
    }
    let described = t
        .admin
        .clone()
        .create_role(authed(
            &t.admin_key,
            pb::CreateRoleRequest {
                name: "r".into(),
                permissions: strings(&["read:*"]),
                description: "looks fine\u{202e}but is not".into(),
            },
        ))
        .await;
    assert_code(described, Code::InvalidArgument);
}

#[tokio::test]
async fn user_names_are_unique_regardless_of_case() {
    let t = spawn_app().await;
    let alice = t.create_user("Alice", &[]).await;
    let again = t
        .admin
        .clone()
        .create_user(authed(
            &t.admin_key,
            pb::CreateUserRequest {
                name: "alice".into(),
                roles: Vec::new(),
            },
        ))
        .await;
    assert_code(again, Code::AlreadyExists);
    assert_eq!(alice.name, "Alice", "the spelling given is kept");
}

#[tokio::test]
async fn a_lifetime_is_at_least_one_second() {
    let t = spawn_app().await;
    let nanos = |seconds, nanos| Some(prost_types::Duration { seconds, nanos });
    for short in [nanos(0, 1), nanos(0, 999_999_999)] {
        let status = t
            .issue(&t.admin_key, named_key("short", short))
            .await
            .expect_err("too short");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with("api_key.ttl"), "{status:?}");
    }
    t.issue(&t.admin_key, named_key("one second", nanos(1, 0)))
        .await
        .expect("one second is enough");
}

async fn with_quota(max: u32) -> TestApp {
    let setup = Setup {
        limits: tessera::domain::app::Limits {
            max_tokens_per_user: max,
        },
        ..Setup::default()
    };
    spawn_app_on(Arc::new(crate::db::TestDb::fresh().await), setup).await
}

#[tokio::test]
async fn issue_beyond_the_quota_is_resource_exhausted_and_only_active_tokens_count() {
    let t = with_quota(3).await;
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("quota", &["r"]).await;
    let first = t.key_for(&user.id, &["read:*"]).await;
    let short = t
        .issue(
            &t.admin_key,
            api_key_with(&["read:*"], &user.id, Some(60), false),
        )
        .await
        .expect("second");
    t.key_for(&user.id, &["read:*"]).await;
    let over = t.issue(&t.admin_key, api_key(&["read:*"], &user.id)).await;
    let status = over.expect_err("over quota");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("--max-tokens-per-user"),
        "{status:?}"
    );
    // PATs count the same way: the user's own PAT is refused too.
    assert_code(t.pat(&first.token, "r").await, Code::ResourceExhausted);

    // A revoked token no longer counts, nor does an expired one.
    let revoked = t
        .revoke(
            &t.admin_key,
            pb::revoke_request::Target::TokenId(first.token_id),
        )
        .await;
    assert_eq!(revoked.expect("revoke"), 1);
    t.key_for(&user.id, &["read:*"]).await;
    assert_code(
        t.issue(&t.admin_key, api_key(&["read:*"], &user.id)).await,
        Code::ResourceExhausted,
    );
    t.clock.advance(Duration::from_secs(61));
    assert_unauthenticated(&t.check(&short.token, &["read:x"]).await);
    t.key_for(&user.id, &["read:*"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_issues_never_overshoot_the_quota() {
    let t = Arc::new(with_quota(5).await);
    t.create_role("r", &["read:*"]).await;
    let user = t.create_user("racer", &["r"]).await;
    let issues: Vec<_> = (0..16)
        .map(|_| {
            let (t, id) = (t.clone(), user.id.clone());
            tokio::spawn(async move { t.issue(&t.admin_key, api_key(&["read:*"], &id)).await })
        })
        .collect();
    let mut issued = 0;
    for issue in issues {
        match issue.await.expect("task") {
            Ok(_) => issued += 1,
            Err(status) => assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}"),
        }
    }
    assert_eq!(issued, 5);
    let live = t.tokens_of(&t.admin_key, &user.id).await;
    assert_eq!(live.len(), 5);
}
