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

use tonic::{Request, Response, Status};

use super::caller;
use super::envoy_server::CheckBytes;
use super::envoy_wire::{
    AUTHORIZATION, CheckView, EXTENSION_NAMES, HEADER_NAMES, IDENTITY, MATCH, MUTATING, SCOPES,
    STRIP_AUTHORIZATION,
};
use crate::domain::app::{App, AuthorizeInput, AuthorizeOutcome, CheckVia, Decision};
use crate::domain::error::Error;
use crate::proto::envoy_api::envoy::config::core::v3::{
    HeaderValue, HeaderValueOption, header_value_option::HeaderAppendAction,
};
use crate::proto::envoy_api::envoy::service::auth::v3::{
    CheckResponse, DeniedHttpResponse, OkHttpResponse, check_response::HttpResponse,
};
use crate::proto::envoy_api::envoy::r#type::v3::{HttpStatus, StatusCode};
use crate::proto::envoy_api::google::rpc::Status as RpcStatus;

/// The headers the upstream gets on an allow (overwriting any the client sent).
const SUBJECT: &str = HEADER_NAMES[1];
const TOKEN_ID: &str = HEADER_NAMES[2];
const KIND: &str = HEADER_NAMES[3];

#[derive(Debug, Clone)]
pub struct EnvoyAuthzApi {
    app: std::sync::Arc<App>,
}

impl EnvoyAuthzApi {
    pub fn new(app: std::sync::Arc<App>) -> EnvoyAuthzApi {
        EnvoyAuthzApi { app }
    }
}

/// Whether a header came more than once (two entries, or one merged value).
fn repeated(values: &[&str]) -> bool {
    values.len() > 1 || values.iter().any(|v| v.contains(','))
}

/// A client's own `x-tessera-*` header sent twice (in `headers`, repeated headers arrive
/// merged, comma-separated; in `header_map`, one entry each): Envoy's overwrite replaces the
/// first only, so the second would reach the upstream beside tessera's. Refused instead.
fn smuggled(view: &CheckView<'_>) -> Option<&'static str> {
    IDENTITY
        .clone()
        .find(|&i| repeated(&view.header_values(i)))
        .map(|i| HEADER_NAMES[i])
}

/// `Bearer <token>` (any case); anything else is no token.
fn bearer(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => "",
    }
}

fn flag(view: &CheckView<'_>, index: usize) -> Result<Option<bool>, Error> {
    let name = EXTENSION_NAMES[index];
    match view.extension(index) {
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
/// `view` has its `http` (checked by the caller, before anything else is read).
fn input_of(view: &CheckView<'_>) -> Result<(AuthorizeInput, bool), Error> {
    let field = "context_extensions[tessera.scopes]";
    let required: Vec<String> = view
        .extension(SCOPES)
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    crate::domain::validate::required(field, &required)?;
    let match_any = match view.extension(MATCH) {
        None | Some("all") => false,
        Some("any") => true,
        Some(_) => {
            return Err(Error::invalid(
                "context_extensions[tessera.match]",
                "all or any",
            ));
        }
    };
    let reads = ["GET", "HEAD", "OPTIONS"].contains(&view.method);
    let mutating = flag(view, MUTATING)?.unwrap_or(!reads);
    let strip = flag(view, STRIP_AUTHORIZATION)?.unwrap_or(false);
    // Two credentials are none: the upstream might read the one not checked.
    let auth = view.header_values(AUTHORIZATION);
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

impl EnvoyAuthzApi {
    /// One Check, counted (see `envoy_server` for how it is served).
    pub async fn check(
        &self,
        request: Request<CheckBytes>,
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

    async fn decide(
        &self,
        request: Request<CheckBytes>,
        decided: &mut bool,
    ) -> Result<Response<CheckResponse>, Status> {
        let caller = caller(&self.app, &request).await?;
        caller.require(crate::domain::app::perms::INTROSPECT)?;
        let view = CheckView::parse(&request.get_ref().0)
            .map_err(|e| Status::invalid_argument(e.to_string()))?;
        if !view.has_http {
            return Err(Error::invalid("attributes.request.http", "required").into());
        }
        if let Some(name) = smuggled(&view) {
            return Ok(Response::new(refused_header(name)));
        }
        let (input, strip) = input_of(&view)?;
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
