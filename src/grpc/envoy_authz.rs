//! Envoy's external authorization (`envoy.service.auth.v3.Authorization/Check`), so Envoy's
//! `ext_authz` HTTP filter guards any upstream with tessera and no code in the service. The
//! same decision, cache and figures as `TokenService.Authorize`: Envoy is the caller (its
//! `grpc_service.initial_metadata` carries a key holding `tessera:introspect`), the bearer
//! token is the request's `authorization` header, and the route says what it needs in its
//! `context_extensions`:
//!
//! - `tessera.scopes`: the required permissions, space-separated;
//! - `tessera.match`: `all` (default) or `any`;
//! - `tessera.mutating`: `true` or `false`; unset, every method but GET, HEAD and OPTIONS
//!   mutates (a read-only token never passes it);
//! - `tessera.strip_authorization`: `true` removes `authorization` before the upstream.
//!
//! A store outage is the call's UNAVAILABLE, so that `failure_mode_allow: false` denies.

use std::collections::HashMap;

use tonic::{Request, Response, Status};

use super::caller;
use crate::domain::app::{App, AuthorizeInput, AuthorizeOutcome, CheckVia, Decision};
use crate::domain::error::Error;
use crate::proto::envoy_api::envoy::config::core::v3::{
    HeaderValue, HeaderValueOption, header_value_option::HeaderAppendAction,
};
use crate::proto::envoy_api::envoy::service::auth::v3::{
    CheckRequest, CheckResponse, DeniedHttpResponse, OkHttpResponse, attribute_context,
    authorization_server::Authorization, check_response::HttpResponse,
};
use crate::proto::envoy_api::envoy::r#type::v3::{HttpStatus, StatusCode};
use crate::proto::envoy_api::google::rpc::Status as RpcStatus;

/// The headers the upstream gets on an allow (overwriting any the client sent).
const SUBJECT: &str = "x-tessera-subject";
const TOKEN_ID: &str = "x-tessera-token-id";
const KIND: &str = "x-tessera-kind";

#[derive(Debug, Clone)]
pub struct EnvoyAuthzApi {
    app: std::sync::Arc<App>,
}

impl EnvoyAuthzApi {
    pub fn new(app: std::sync::Arc<App>) -> EnvoyAuthzApi {
        EnvoyAuthzApi { app }
    }
}

/// The values of a request header as Envoy sent it, in either encoding: `headers` (repeated
/// headers merged into one value, comma-separated, as HTTP allows) or `header_map` (with
/// `encode_raw_headers`: one entry per header line). Names arrive lowercased.
fn header_values<'a>(http: &'a attribute_context::HttpRequest, name: &str) -> Vec<&'a str> {
    let mut values: Vec<&str> = http
        .headers
        .get(name)
        .map(String::as_str)
        .into_iter()
        .collect();
    if let Some(map) = &http.header_map {
        values.extend(map.headers.iter().filter(|h| h.key == name).map(|h| {
            match h.raw_value.is_empty() {
                true => h.value.as_str(),
                false => std::str::from_utf8(&h.raw_value).unwrap_or("\u{fffd}"),
            }
        }));
    }
    values
}

/// Whether a header came more than once (two entries, or one merged value).
fn repeated(values: &[&str]) -> bool {
    values.len() > 1 || values.iter().any(|v| v.contains(','))
}

/// A client's own `x-tessera-*` header sent twice: Envoy's overwrite replaces the first
/// only, so the second would reach the upstream beside tessera's. Refused instead.
fn smuggled(http: &attribute_context::HttpRequest) -> Option<&'static str> {
    [SUBJECT, TOKEN_ID, KIND]
        .into_iter()
        .find(|name| repeated(&header_values(http, name)))
}

/// `Bearer <token>` (any case); anything else is no token.
fn bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => "",
    }
}

fn flag(extensions: &HashMap<String, String>, name: &str) -> Result<Option<bool>, Error> {
    match extensions.get(name).map(String::as_str) {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(Error::invalid(
            format!("context_extensions[{name}]"),
            "true or false",
        )),
    }
}

/// What Envoy asks, as `Authorize` takes it, and whether to strip `authorization`.
fn input_of(req: &CheckRequest) -> Result<(AuthorizeInput, bool), Error> {
    let attributes = req.attributes.as_ref();
    let http = http_of(req)?;
    let extensions = attributes.map(|a| &a.context_extensions);
    let empty = HashMap::new();
    let extensions = extensions.unwrap_or(&empty);
    let field = "context_extensions[tessera.scopes]";
    let required: Vec<String> = extensions
        .get("tessera.scopes")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    crate::domain::validate::required(field, &required)?;
    let match_any = match extensions.get("tessera.match").map(String::as_str) {
        None | Some("all") => false,
        Some("any") => true,
        Some(_) => {
            return Err(Error::invalid(
                "context_extensions[tessera.match]",
                "all or any",
            ));
        }
    };
    let reads = ["GET", "HEAD", "OPTIONS"].contains(&http.method.as_str());
    let mutating = flag(extensions, "tessera.mutating")?.unwrap_or(!reads);
    let strip = flag(extensions, "tessera.strip_authorization")?.unwrap_or(false);
    // Two credentials are none: the upstream might read the one not checked.
    let auth = header_values(http, "authorization");
    let token = match auth.as_slice() {
        [one] if !repeated(&auth) => bearer(one),
        _ => "",
    };
    let input = AuthorizeInput {
        token: token.to_owned(),
        required,
        match_any,
        mutating,
    };
    Ok((input, strip))
}

fn http_of(req: &CheckRequest) -> Result<&attribute_context::HttpRequest, Error> {
    req.attributes
        .as_ref()
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.as_ref())
        .ok_or_else(|| Error::invalid("attributes.request.http", "required"))
}

/// 400 for a request that repeats a header tessera sets upstream.
fn refused_header(name: &str) -> CheckResponse {
    let reason = format!("the request repeats {name}, a header only tessera sets");
    let body = serde_json::json!({ "error": "invalid_request", "error_description": reason });
    CheckResponse {
        status: Some(RpcStatus {
            code: tonic::Code::InvalidArgument as i32,
            message: reason,
            ..RpcStatus::default()
        }),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus {
                code: StatusCode::BadRequest.into(),
            }),
            headers: vec![header_option("content-type", "application/json")],
            body: body.to_string(),
        })),
        ..CheckResponse::default()
    }
}

fn header_option(key: &str, value: &str) -> HeaderValueOption {
    HeaderValueOption {
        header: Some(HeaderValue {
            key: key.to_owned(),
            value: value.to_owned(),
            ..HeaderValue::default()
        }),
        append_action: HeaderAppendAction::OverwriteIfExistsOrAdd.into(),
        ..HeaderValueOption::default()
    }
}

fn allowed(out: &AuthorizeOutcome, strip: bool) -> CheckResponse {
    let kind = out.kind.map(|k| k.as_str()).unwrap_or_default();
    CheckResponse {
        status: Some(RpcStatus {
            code: tonic::Code::Ok as i32,
            ..RpcStatus::default()
        }),
        http_response: Some(HttpResponse::OkResponse(OkHttpResponse {
            headers: vec![
                header_option(SUBJECT, &out.subject),
                header_option(TOKEN_ID, &out.token_id),
                header_option(KIND, kind),
            ],
            headers_to_remove: match strip {
                true => vec!["authorization".to_owned()],
                false => Vec::new(),
            },
            ..OkHttpResponse::default()
        })),
        ..CheckResponse::default()
    }
}

/// A denial as RFC 6750 §3 words it: 401 `invalid_token`, or 403 `insufficient_scope` with
/// the scopes the route needs.
fn denied(out: &AuthorizeOutcome, required: &[String]) -> CheckResponse {
    let (code, http, error, challenge) = match out.decision {
        Decision::PermissionDenied => (
            tonic::Code::PermissionDenied,
            StatusCode::Forbidden,
            "insufficient_scope",
            format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                required.join(" ")
            ),
        ),
        _ => (
            tonic::Code::Unauthenticated,
            StatusCode::Unauthorized,
            "invalid_token",
            "Bearer error=\"invalid_token\"".to_owned(),
        ),
    };
    let body = serde_json::json!({ "error": error, "error_description": out.reason });
    CheckResponse {
        status: Some(RpcStatus {
            code: code as i32,
            message: out.reason.to_owned(),
            ..RpcStatus::default()
        }),
        http_response: Some(HttpResponse::DeniedResponse(DeniedHttpResponse {
            status: Some(HttpStatus { code: http.into() }),
            headers: vec![
                header_option("www-authenticate", &challenge),
                header_option("content-type", "application/json"),
            ],
            body: body.to_string(),
        })),
        ..CheckResponse::default()
    }
}

#[tonic::async_trait]
impl Authorization for EnvoyAuthzApi {
    async fn check(
        &self,
        request: Request<CheckRequest>,
    ) -> Result<Response<CheckResponse>, Status> {
        // `App::check` counts what it decides; what is refused before it is counted here:
        // a repeated identity header (a 400 Envoy enforces) or a request or caller that
        // cannot be checked.
        let started = std::time::Instant::now();
        let mut decided = false;
        let answer = self.decide(request, &mut decided).await;
        if !decided {
            let decision = match answer {
                Ok(_) => "invalid_request",
                Err(_) => "error",
            };
            self.app
                .count_undecided(CheckVia::EnvoyCheck, decision, started.elapsed());
        }
        answer
    }
}

impl EnvoyAuthzApi {
    async fn decide(
        &self,
        request: Request<CheckRequest>,
        decided: &mut bool,
    ) -> Result<Response<CheckResponse>, Status> {
        let caller = caller(&self.app, &request).await?;
        caller.require(crate::domain::app::perms::INTROSPECT)?;
        if let Some(name) = smuggled(http_of(request.get_ref())?) {
            return Ok(Response::new(refused_header(name)));
        }
        let (input, strip) = input_of(request.get_ref())?;
        *decided = true;
        let out = self
            .app
            .check(CheckVia::EnvoyCheck, &caller, &input)
            .await?;
        let span = tracing::Span::current();
        span.record("decision", out.decision.as_str());
        if let Some(kind) = out.kind {
            span.record("kind", kind.as_str());
            span.record("token_id", out.token_id.as_str());
        }
        Ok(Response::new(match out.decision {
            Decision::Allow => allowed(&out, strip),
            _ => denied(&out, &input.required),
        }))
    }
}
