//! An app's access ending: narrowed, disabled, deleted, revoked by an admin or by the
//! user, and listed as a connection.

use tessera::proto::v1 as pb;

use super::oauth_apps::{ann, connected, post_form};
use crate::helpers::*;

#[tokio::test]
async fn an_apps_access_narrows_ends_and_is_listed_as_a_connection() {
    let t = spawn_app().await;
    let session = ann(&t).await;
    let (app, tokens) = connected(&t, &session, &["read:*", "write:*"]).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    assert_allow(&t.check(&access, &["write:contacts"]).await);

    // The user sees its own connection without any permission.
    let own = t
        .admin
        .clone()
        .list_grants(authed(&session, pb::ListGrantsRequest::default()))
        .await
        .expect("own grants")
        .into_inner()
        .grants;
    assert_eq!(own.len(), 1);
    assert_eq!(own[0].client_id, app.id);
    assert_eq!(own[0].scopes, ["read:contacts", "write:contacts"]);
    let subject = own[0].subject.clone();

    // Narrowed: the next check sees it.
    t.admin
        .clone()
        .update_client(authed(
            &t.admin_key,
            pb::UpdateClientRequest {
                client_id: app.id.clone(),
                scopes: strings(&["read:*"]),
                ..Default::default()
            },
        ))
        .await
        .expect("narrow");
    assert_denied(&t.check(&access, &["write:contacts"]).await);
    assert_allow(&t.check(&access, &["read:contacts"]).await);

    // Disabled: tokens inactive and the token endpoint refuses the client.
    let disable = pb::DisableClientRequest {
        client_id: app.id.clone(),
    };
    t.admin
        .clone()
        .disable_client(authed(&t.admin_key, disable))
        .await
        .expect("disable");
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);
    let refresh = tokens["refresh_token"].as_str().expect("refresh");
    let (status, json, _) = post_form(
        &t.http_url("/oauth/token"),
        Some((&app.id, &app.secret)),
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let enable = pb::EnableClientRequest {
        client_id: app.id.clone(),
    };
    t.admin
        .clone()
        .enable_client(authed(&t.admin_key, enable))
        .await
        .expect("enable");
    assert_allow(&t.check(&access, &["read:contacts"]).await);

    // The user disconnects the app: one grant, its tokens.
    let target = pb::revoke_request::Target::Grant(pb::GrantRef {
        client_id: app.id.clone(),
        subject: subject.clone(),
    });
    assert_eq!(t.revoke(&session, target).await.expect("disconnect"), 2);
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);

    // An admin revokes an app: everything it was issued, client credentials included.
    let (second, tokens) = connected(&t, &session, &["read:*"]).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let (_, own_token, _) = post_form(
        &t.http_url("/oauth/token"),
        Some((&second.id, &second.secret)),
        &[("grant_type", "client_credentials")],
    )
    .await;
    let own_token = own_token["access_token"].as_str().expect("own").to_owned();
    let refused = t
        .revoke(
            &session,
            pb::revoke_request::Target::ClientId(second.id.clone()),
        )
        .await
        .expect_err("a user cannot revoke a whole app");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let revoked = t
        .revoke(
            &t.admin_key,
            pb::revoke_request::Target::ClientId(second.id.clone()),
        )
        .await
        .expect("revoke app");
    assert_eq!(revoked, 3, "access, refresh and the app's own token");
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);
    assert_unauthenticated(&t.check(&own_token, &["read:contacts"]).await);
    let listed = t
        .admin
        .clone()
        .list_grants(authed(
            &t.admin_key,
            pb::ListGrantsRequest {
                subject,
                ..Default::default()
            },
        ))
        .await
        .expect("grants")
        .into_inner()
        .grants;
    assert!(listed.is_empty(), "no live connection left: {listed:?}");

    // Deleted: a third app's tokens end with it.
    let (third, tokens) = connected(&t, &session, &["read:*"]).await;
    let access = tokens["access_token"].as_str().expect("access").to_owned();
    let delete = pb::DeleteClientRequest {
        client_id: third.id.clone(),
    };
    t.admin
        .clone()
        .delete_client(authed(&t.admin_key, delete))
        .await
        .expect("delete");
    assert_unauthenticated(&t.check(&access, &["read:contacts"]).await);
}
