//! Client secrets: rotation and its grace (`--client-secret-grace`).

use std::time::Duration;

use tessera::domain::app::oauth::OAuthConfig;
use tessera::proto::v1 as pb;

use super::clients::{confidential, create, secret_works};
use crate::db::TestDb;
use crate::helpers::*;

/// The old secret works on for `--client-secret-grace`, then stops; without a grace it
/// stops at once.
#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_after_the_grace() {
    let grace = Duration::from_secs(600);
    let t = spawn_app_on(
        std::sync::Arc::new(TestDb::fresh().await),
        Setup {
            oauth: OAuthConfig {
                client_secret_grace: grace,
                ..OAuthConfig::default()
            },
            ..Setup::default()
        },
    )
    .await;
    let made = create(&t, &t.admin_key, confidential(&["read:*"]))
        .await
        .expect("create");
    let id = made.client.expect("client").client_id;
    let rotate = |key: &str| {
        authed(
            key,
            pb::RotateClientSecretRequest {
                client_id: id.clone(),
            },
        )
    };
    let new = t
        .admin
        .clone()
        .rotate_client_secret(rotate(&t.admin_key))
        .await
        .expect("rotate")
        .into_inner();
    assert!(new.client_secret.starts_with("tsc_"));
    assert_ne!(new.client_secret, made.client_secret);
    assert!(!format!("{new:?}").contains(&new.client_secret));
    assert!(
        secret_works(&t, &id, &made.client_secret).await,
        "in its grace"
    );
    assert!(secret_works(&t, &id, &new.client_secret).await);
    t.clock.advance(grace);
    assert!(
        !secret_works(&t, &id, &made.client_secret).await,
        "after it"
    );
    assert!(secret_works(&t, &id, &new.client_secret).await);

    // A second rotation keeps only the secret it replaces, not the one before.
    let newer = t
        .admin
        .clone()
        .rotate_client_secret(rotate(&t.admin_key))
        .await
        .expect("rotate again")
        .into_inner();
    assert!(secret_works(&t, &id, &new.client_secret).await);
    assert!(secret_works(&t, &id, &newer.client_secret).await);
    assert!(!secret_works(&t, &id, &made.client_secret).await);
}

#[tokio::test]
async fn without_a_grace_the_old_secret_stops_at_once() {
    let t = spawn_app().await;
    let made = create(&t, &t.admin_key, confidential(&["read:*"]))
        .await
        .expect("create");
    let id = made.client.expect("client").client_id;
    let new = t
        .admin
        .clone()
        .rotate_client_secret(authed(
            &t.admin_key,
            pb::RotateClientSecretRequest {
                client_id: id.clone(),
            },
        ))
        .await
        .expect("rotate")
        .into_inner();
    assert!(!secret_works(&t, &id, &made.client_secret).await);
    assert!(secret_works(&t, &id, &new.client_secret).await);
}
