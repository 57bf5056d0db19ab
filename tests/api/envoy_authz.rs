//! Envoy's ext_authz v3 `Check`, called as Envoy calls it: its own key in the metadata, the
//! client's request described in `attributes`, the route's needs in `context_extensions`.

use std::collections::HashMap;

use tessera::proto::envoy_api::envoy::config::core::v3::{HeaderMap, HeaderValue};
use tessera::proto::envoy_api::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, CheckResponse, attribute_context,
    authorization_client::AuthorizationClient, check_response::HttpResponse,
};
use tessera::proto::v1 as pb;
use tonic::Code;

use crate::helpers::*;

/// A request for `method` with `authorization: <auth>` (if any), to a route needing
/// `extensions`.
pub fn check_request(
    method: &str,
    auth: Option<&str>,
    extensions: &[(&str, &str)],
) -> CheckRequest {
    let mut headers = HashMap::from([
        (":authority".to_owned(), "api.example.com".to_owned()),
        ("user-agent".to_owned(), "curl/8".to_owned()),
        ("x-tessera-subject".to_owned(), "forged".to_owned()),
    ]);
    if let Some(auth) = auth {
        headers.insert("authorization".into(), auth.into());
    }
    CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(attribute_context::Request {
                http: Some(attribute_context::HttpRequest {
                    method: method.into(),
                    path: "/contacts".into(),
                    headers,
                    ..Default::default()
                }),
                ..Default::default()
            }),
            context_extensions: extensions
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            ..Default::default()
        }),
    }
}

/// The request's HTTP attributes, to edit.
fn http_mut(req: &mut CheckRequest) -> Option<&mut attribute_context::HttpRequest> {
    req.attributes
        .as_mut()
        .and_then(|a| a.request.as_mut())
        .and_then(|r| r.http.as_mut())
}

/// `req` with its headers sent raw (`encode_raw_headers: true`): one entry per header line.
fn with_raw_headers(mut req: CheckRequest, entries: &[(&str, &str)]) -> CheckRequest {
    if let Some(http) = http_mut(&mut req) {
        http.headers.clear();
        http.header_map = Some(HeaderMap {
            headers: entries
                .iter()
                .map(|(k, v)| HeaderValue {
                    key: (*k).into(),
                    raw_value: v.as_bytes().to_vec(),
                    ..Default::default()
                })
                .collect(),
        });
    }
    req
}

pub async fn check(
    t: &TestApp,
    envoy_key: &str,
    req: CheckRequest,
) -> Result<CheckResponse, tonic::Status> {
    AuthorizationClient::new(t.channel.clone())
        .check(authed(envoy_key, req))
        .await
        .map(tonic::Response::into_inner)
}

/// The headers of an answer, by name.
fn headers_of(res: &CheckResponse) -> (u32, HashMap<String, String>, Vec<String>, String) {
    let pairs =
        |opts: &[tessera::proto::envoy_api::envoy::config::core::v3::HeaderValueOption]| {
            opts.iter()
                .filter_map(|o| o.header.as_ref())
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect::<HashMap<_, _>>()
        };
    match res.http_response.as_ref().expect("an http response") {
        HttpResponse::OkResponse(ok) => (
            200,
            pairs(&ok.headers),
            ok.headers_to_remove.clone(),
            String::new(),
        ),
        HttpResponse::DeniedResponse(d) => {
            let status = d.status.as_ref().map_or(0, |s| s.code as u32);
            (status, pairs(&d.headers), Vec::new(), d.body.clone())
        }
        HttpResponse::ErrorResponse(_) => panic!("an error response"),
    }
}

#[tokio::test]
async fn envoy_gets_allow_with_identity_headers_or_an_rfc_6750_denial() {
    let t = spawn_app().await;
    let envoy = t.key_for(&t.admin_id, &["tessera:introspect"]).await.token;
    let rw = t
        .key_for(&t.admin_id, &["read:contacts", "write:contacts"])
        .await;
    let bearer = format!("Bearer {}", rw.token);
    let scopes = [("tessera.scopes", "read:contacts")];

    let ok = check(&t, &envoy, check_request("GET", Some(&bearer), &scopes))
        .await
        .expect("check");
    assert_eq!(ok.status.as_ref().map(|s| s.code), Some(0));
    let (status, headers, removed, _) = headers_of(&ok);
    assert_eq!(status, 200);
    assert_eq!(headers["x-tessera-token-id"], rw.token_id);
    assert_eq!(
        headers["x-tessera-subject"], t.admin_id,
        "the client's forged value replaced"
    );
    assert_eq!(headers["x-tessera-kind"], "api_key");
    assert!(removed.is_empty());

    // No token, a forged one: 401 invalid_token.
    for auth in [None, Some("Bearer tsk_forged.forged"), Some("Basic YTpi")] {
        let res = check(&t, &envoy, check_request("GET", auth, &scopes))
            .await
            .expect("check");
        assert_eq!(
            res.status.as_ref().map(|s| s.code),
            Some(Code::Unauthenticated as i32)
        );
        let (status, headers, _, body) = headers_of(&res);
        assert_eq!(status, 401, "{auth:?}");
        assert_eq!(
            headers["www-authenticate"],
            "Bearer error=\"invalid_token\""
        );
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body["error"], "invalid_token");
    }
    // A scope it lacks: 403 insufficient_scope naming what the route needs.
    let need = [("tessera.scopes", "read:contacts delete:contacts")];
    let res = check(&t, &envoy, check_request("DELETE", Some(&bearer), &need))
        .await
        .expect("check");
    let (status, headers, _, _) = headers_of(&res);
    assert_eq!(status, 403);
    assert_eq!(
        headers["www-authenticate"],
        "Bearer error=\"insufficient_scope\", scope=\"read:contacts delete:contacts\""
    );
    // tessera.match any, and stripping the credential before the upstream.
    let any = [
        ("tessera.scopes", "read:contacts delete:contacts"),
        ("tessera.match", "any"),
        ("tessera.strip_authorization", "true"),
    ];
    let res = check(&t, &envoy, check_request("GET", Some(&bearer), &any))
        .await
        .expect("check");
    let (status, _, removed, _) = headers_of(&res);
    assert_eq!((status, removed), (200, vec!["authorization".to_owned()]));
}

#[tokio::test]
async fn a_read_only_token_passes_reads_only_unless_the_route_says_otherwise() {
    let t = spawn_app().await;
    let envoy = t.key_for(&t.admin_id, &["tessera:introspect"]).await.token;
    let ro = t
        .issue(
            &t.admin_key,
            pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
                name: "reader".into(),
                subject: t.admin_id.clone(),
                scopes: strings(&["read:contacts", "write:contacts"]),
                read_only: true,
                ttl: None,
            }),
        )
        .await
        .expect("issue");
    let bearer = format!("Bearer {}", ro.token);
    let scopes = [("tessera.scopes", "read:contacts")];
    for (method, status) in [
        ("GET", 200),
        ("HEAD", 200),
        ("OPTIONS", 200),
        ("POST", 403),
        ("PUT", 403),
        ("DELETE", 403),
        ("PATCH", 403),
    ] {
        let res = check(&t, &envoy, check_request(method, Some(&bearer), &scopes))
            .await
            .expect("check");
        assert_eq!(headers_of(&res).0, status, "{method}");
    }
    let search = [
        ("tessera.scopes", "read:contacts"),
        ("tessera.mutating", "false"),
    ];
    let res = check(&t, &envoy, check_request("POST", Some(&bearer), &search))
        .await
        .expect("check");
    assert_eq!(
        headers_of(&res).0,
        200,
        "a POST search the route marks as reading"
    );
    let admin = [
        ("tessera.scopes", "read:contacts"),
        ("tessera.mutating", "true"),
    ];
    let res = check(&t, &envoy, check_request("GET", Some(&bearer), &admin))
        .await
        .expect("check");
    assert_eq!(headers_of(&res).0, 403, "a GET the route marks as mutating");
}

#[tokio::test]
async fn envoy_must_present_a_key_holding_introspect_and_a_route_must_name_its_scopes() {
    let t = spawn_app().await;
    let rw = t.key_for(&t.admin_id, &["read:contacts"]).await;
    let bearer = format!("Bearer {}", rw.token);
    let scopes = [("tessera.scopes", "read:contacts")];
    let mut client = AuthorizationClient::new(t.channel.clone());
    let bare = client
        .check(check_request("GET", Some(&bearer), &scopes))
        .await
        .expect_err("no key");
    assert_eq!(bare.code(), Code::Unauthenticated);
    let weak = check(&t, &rw.token, check_request("GET", Some(&bearer), &scopes))
        .await
        .expect_err("weak");
    assert_eq!(weak.code(), Code::PermissionDenied);
    let envoy = t.key_for(&t.admin_id, &["tessera:introspect"]).await.token;
    for bad in [
        vec![],
        vec![
            ("tessera.scopes", "read:contacts"),
            ("tessera.match", "some"),
        ],
        vec![("tessera.scopes", "bad scope!")],
    ] {
        let err = check(&t, &envoy, check_request("GET", Some(&bearer), &bad))
            .await
            .expect_err("misconfigured");
        assert_eq!(err.code(), Code::InvalidArgument, "{bad:?}");
        assert!(
            err.message().contains("context_extensions"),
            "{}",
            err.message()
        );
    }
    // Raw headers (`encode_raw_headers: true`) carry the token as well.
    let raw = with_raw_headers(
        check_request("GET", None, &scopes),
        &[("authorization", bearer.as_str())],
    );
    let res = check(&t, &envoy, raw).await.expect("check");
    assert_eq!(headers_of(&res).0, 200);
}

#[tokio::test]
async fn a_repeated_identity_header_or_credential_is_refused() {
    let t = spawn_app().await;
    let envoy = t.key_for(&t.admin_id, &["tessera:introspect"]).await.token;
    let rw = t.key_for(&t.admin_id, &["read:contacts"]).await;
    let bearer = format!("Bearer {}", rw.token);
    let scopes = [("tessera.scopes", "read:contacts")];
    let raw =
        |entries: &[(&str, &str)]| with_raw_headers(check_request("GET", None, &scopes), entries);
    // Envoy's overwrite replaces the first of a repeated header only: refused, not passed on.
    let twice = raw(&[
        ("authorization", &bearer),
        ("x-tessera-subject", "a"),
        ("x-tessera-subject", "b"),
    ]);
    let res = check(&t, &envoy, twice).await.expect("check");
    assert_eq!(headers_of(&res).0, 400);
    let mut merged = check_request("GET", Some(&bearer), &scopes);
    if let Some(http) = http_mut(&mut merged) {
        http.headers
            .insert("x-tessera-kind".into(), "api_key,pat".into());
    }
    assert_eq!(
        headers_of(&check(&t, &envoy, merged).await.expect("check")).0,
        400
    );
    // Two credentials are none.
    let two = raw(&[("authorization", &bearer), ("authorization", &bearer)]);
    assert_eq!(
        headers_of(&check(&t, &envoy, two).await.expect("check")).0,
        401
    );
}
