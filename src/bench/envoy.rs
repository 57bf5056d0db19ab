//! `envoy_check_warm`: Envoy's ext_authz `Check` for the warm PAT, with the headers a
//! request through a gateway typically carries, so the row compares with `authorize_warm`
//! and the empty call as Envoy would see it.

use std::collections::HashMap;

use tonic::transport::Channel;

use super::scenarios::{Fixture, REQUIRED, request};
use crate::proto::envoy_api::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, attribute_context, authorization_client::AuthorizationClient,
};

/// A GET as Envoy describes it: pseudo-headers, the usual client and proxy headers, and the
/// bearer token; the route needs what `authorize_warm` checks.
pub(super) fn check_request(token: &str) -> CheckRequest {
    let headers: HashMap<String, String> = [
        (":authority", "api.example.com"),
        (":method", "GET"),
        (":path", "/v1/contacts?limit=50"),
        (":scheme", "https"),
        ("accept", "application/json"),
        ("accept-encoding", "gzip, br"),
        (
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0",
        ),
        ("x-forwarded-for", "203.0.113.7"),
        ("x-forwarded-proto", "https"),
        ("x-request-id", "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([("authorization".to_owned(), format!("Bearer {token}"))])
    .collect();
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(attribute_context::Request {
                http: Some(attribute_context::HttpRequest {
                    id: "0f8fad5b-d9cb-469f-a165-70867728950e".to_owned(),
                    method: "GET".to_owned(),
                    path: "/v1/contacts?limit=50".to_owned(),
                    host: "api.example.com".to_owned(),
                    scheme: "https".to_owned(),
                    protocol: "HTTP/2".to_owned(),
                    headers,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            context_extensions: HashMap::from([("tessera.scopes".to_owned(), REQUIRED.join(" "))]),
            ..Default::default()
        }),
    }
}

/// One Check of the warm PAT; `true` when Envoy would let it through.
pub(super) async fn check_warm(fx: &Fixture, ch: Channel) -> bool {
    let req = request(fx.auth(), check_request(&fx.pat));
    matches!(AuthorizationClient::new(ch).check(req).await,
        Ok(r) if r.get_ref().status.as_ref().is_some_and(|s| s.code == 0))
}
