//! The OAuth endpoints while the database is gone: 503, never a token, and tokens again
//! once it is back.

use std::sync::Arc;
use tessera::proto::v1 as pb;

use crate::db::TestDb;
use crate::helpers::*;
use crate::proxy::{Proxy, server_addr, through};
use crate::shared::oauth_apps::post_form;

#[tokio::test]
async fn a_store_outage_is_503_never_a_token() {
    let db = Arc::new(TestDb::fresh().await);
    let proxy = Proxy::start(server_addr(&db.url).await).await;
    let t = spawn_app_on(
        db.clone(),
        Setup {
            via: Some(through(&db.url, proxy.addr)),
            ..crate::faults::fast_failing()
        },
    )
    .await;
    let app = t
        .register_app(
            pb::ClientType::Confidential,
            &["read:*"],
            &["client_credentials"],
        )
        .await;
    let token = t.http_url("/oauth/token");
    let grant = [("grant_type", "client_credentials")];
    let (status, json, _) = post_form(&token, Some((&app.id, &app.secret)), &grant).await;
    assert_eq!(status, 200, "{json}");
    let issued = json["access_token"].as_str().expect("token").to_owned();

    proxy.cut().await;
    let (status, json, _) = post_form(&token, Some((&app.id, &app.secret)), &grant).await;
    assert_eq!(status, 503, "{json}");
    assert_eq!(json["error"], "temporarily_unavailable");
    assert!(json.get("access_token").is_none());
    let (status, json, _) = post_form(
        &t.http_url("/oauth/introspect"),
        Some((&app.id, &app.secret)),
        &[("token", "tsa_unknown")],
    )
    .await;
    assert_eq!(status, 503, "{json}");

    proxy.restore().await;
    let mut answered = 0;
    // The pool reconnects on the next call; the first may still meet a dead connection.
    for _ in 0..20 {
        let (status, _, _) = post_form(&token, Some((&app.id, &app.secret)), &grant).await;
        if status == 200 {
            answered += 1;
            break;
        }
        assert_eq!(status, 503);
    }
    assert_eq!(answered, 1, "tokens again once the database is back");
    assert_allow(&t.check(&issued, &["read:x"]).await);
}
