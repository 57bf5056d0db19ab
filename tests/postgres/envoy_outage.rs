//! Envoy's Check while the database is gone: the call's UNAVAILABLE (so Envoy's
//! `failure_mode_allow: false` denies), never an allow for a token it cannot read.

use std::sync::Arc;

use tonic::Code;

use crate::db::TestDb;
use crate::helpers::*;
use crate::proxy::{Proxy, server_addr, through};
use crate::shared::envoy_authz::{check, check_request};

#[tokio::test]
async fn a_store_outage_is_unavailable_never_an_allow() {
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
    let envoy = t.key_for(&t.admin_id, &["tessera:introspect"]).await.token;
    let unseen = t.key_for(&t.admin_id, &["read:contacts"]).await.token;
    let scopes = [("tessera.scopes", "read:contacts")];
    // Envoy's own key is known (and cached) before the outage, as in a running mesh.
    let warm = t.key_for(&t.admin_id, &["read:contacts"]).await.token;
    let bearer = format!("Bearer {warm}");
    check(&t, &envoy, check_request("GET", Some(&bearer), &scopes))
        .await
        .expect("check before the outage");

    proxy.cut().await;
    let bearer = format!("Bearer {unseen}");
    let err = check(&t, &envoy, check_request("GET", Some(&bearer), &scopes))
        .await
        .expect_err("no answer without the store");
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    proxy.restore().await;
}
