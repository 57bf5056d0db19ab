//! Requests and assertions shared by every test: credentials, grants, decisions, codes.

use tessera::proto::v1 as pb;
use tonic::{Code, Request};

/// A request carrying `authorization: Bearer <key>`.
pub fn authed<T>(key: &str, message: T) -> Request<T> {
    let mut req = Request::new(message);
    let value = format!("Bearer {key}").parse().expect("ascii header value");
    req.metadata_mut().insert("authorization", value);
    req
}

pub fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// A token record for tests that call the store directly (the secret is never checked); a
/// PAT is bound to the role with id `id-<role>`.
pub fn token_record(
    id: &str,
    subject: &str,
    kind: tessera::domain::token_format::TokenKind,
    role: Option<&str>,
) -> tessera::domain::model::TokenRecord {
    tessera::domain::model::TokenRecord {
        id: id.into(),
        kind,
        name: "t".into(),
        subject: subject.into(),
        role: role.map(str::to_owned),
        role_id: role.map(|r| format!("id-{r}")),
        secret_hash: vec![1; 32],
        scopes: tessera::domain::permission_set::PermissionSet::from_stored("read:*"),
        cap: None,
        read_only: false,
        issued_at: 1,
        expires_at: None,
        last_used_at: None,
        revoked_at: None,
        created_by: None,
        client_id: None,
        grant_id: None,
    }
}

pub fn api_key(scopes: &[&str], subject: &str) -> pb::issue_request::Grant {
    api_key_with(scopes, subject, None, false)
}

/// An API key grant with a lifetime in seconds and the read-only flag.
pub fn api_key_with(
    scopes: &[&str],
    subject: &str,
    ttl_seconds: Option<i64>,
    read_only: bool,
) -> pb::issue_request::Grant {
    pb::issue_request::Grant::ApiKey(pb::ApiKeyGrant {
        name: "test key".into(),
        scopes: strings(scopes),
        read_only,
        ttl: ttl_seconds.map(|seconds| prost_types::Duration { seconds, nanos: 0 }),
        subject: subject.into(),
    })
}

pub fn decision(r: &pb::AuthorizeResponse) -> pb::Decision {
    pb::Decision::try_from(r.decision).expect("known decision")
}

pub fn assert_allow(r: &pb::AuthorizeResponse) {
    assert_eq!(decision(r), pb::Decision::Allow, "{r:?}");
    assert_eq!(r.http_status, 200);
}

pub fn assert_unauthenticated(r: &pb::AuthorizeResponse) {
    assert_eq!(decision(r), pb::Decision::Unauthenticated, "{r:?}");
    assert_eq!(r.http_status, 401);
    assert!(
        r.subject.is_empty() && r.token_id.is_empty(),
        "no hint for invalid tokens: {r:?}"
    );
}

pub fn assert_denied(r: &pb::AuthorizeResponse) {
    assert_eq!(decision(r), pb::Decision::PermissionDenied, "{r:?}");
    assert_eq!(r.http_status, 403);
}

pub fn assert_code<T: std::fmt::Debug>(
    result: Result<T, tonic::Status>,
    code: Code,
) -> tonic::Status {
    match result {
        Ok(v) => panic!("expected {code:?}, got OK: {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "{s:?}");
            s
        }
    }
}

/// The token with its last character changed: same shape, wrong checksum.
pub fn tamper(token: &str) -> String {
    let (head, last) = token.split_at(token.len() - 1);
    format!("{head}{}", if last == "x" { "y" } else { "x" })
}

/// Figures for the closing note; straight to stderr so they show without --nocapture.
pub fn report(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "[figures] {line}");
}

/// A `read:*` API key of the caller's, issued over `client` (a server in another process).
pub async fn issue_read_key(
    client: &mut tessera::proto::v1::token_service_client::TokenServiceClient<
        tonic::transport::Channel,
    >,
    key: &str,
) -> pb::IssueResponse {
    client
        .issue(authed(
            key,
            pb::IssueRequest {
                grant: Some(api_key(&["read:*"], "")),
            },
        ))
        .await
        .expect("issue")
        .into_inner()
}
