//! The pages, from askama templates (`templates/oauth/`) that escape everything by default,
//! and the headers every one of them carries: a strict Content-Security-Policy (no script,
//! styles from tessera only, forms posting to tessera and the app's redirect origin only),
//! no framing, no referrer, no caching.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::domain::error::{Error, chain};

#[derive(Template)]
#[template(path = "oauth/sign_in.html")]
pub struct SignIn<'a> {
    pub title: &'a str,
    pub app_name: &'a str,
    pub csrf: &'a str,
    pub request: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

/// One requested scope, as a person reads it.
pub struct ScopeLine {
    pub scope: String,
    /// `reads` or `changes`, for the style.
    pub kind: &'static str,
    pub effect: &'static str,
}

impl ScopeLine {
    /// A scope whose verb only reads (`read:contacts`, or `tessera:roles:read` with the verb
    /// last) reads; anything else, `*` included, is shown as changing data: the page errs on
    /// the side of the warning.
    pub fn of(scope: String) -> ScopeLine {
        const READS: [&str; 4] = ["read", "list", "get", "view"];
        let first = scope.split(':').next().unwrap_or_default();
        let last = scope.rsplit(':').next().unwrap_or_default();
        let reads = first != "*" && (READS.contains(&first) || READS.contains(&last));
        let (kind, effect) = match reads {
            true => ("reads", "reads data"),
            false if scope.contains('*') => ("changes", "reads and changes data (a wildcard)"),
            false => ("changes", "changes data"),
        };
        ScopeLine {
            scope,
            kind,
            effect,
        }
    }
}

#[derive(Template)]
#[template(path = "oauth/consent.html")]
pub struct Consent<'a> {
    pub title: &'a str,
    pub app_name: &'a str,
    pub redirect_host: &'a str,
    pub user_name: &'a str,
    pub scopes: Vec<ScopeLine>,
    /// Asked for, but not granted: not the app's, or not the user's.
    pub withheld: Vec<String>,
    pub csrf: &'a str,
    pub request: &'a str,
}

#[derive(Template)]
#[template(path = "oauth/error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub heading: &'a str,
    pub message: &'a str,
    /// An error (shown as one) rather than a notice.
    pub alert: bool,
}

/// A rendered page with its headers; `form_origin` is the app's redirect origin, the one
/// place besides tessera a form may lead to.
pub fn html(status: StatusCode, page: &impl Template, form_origin: Option<&str>) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %chain(&e), "rendering a page");
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response();
        }
    };
    let csp = format!(
        "default-src 'none'; style-src 'self'; form-action 'self'{}; frame-ancestors 'none'",
        form_origin.map(|o| format!(" {o}")).unwrap_or_default()
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    if let Ok(csp) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    secure_headers(headers);
    response
}

/// What every answer of the pages carries, redirects included.
pub fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// An error page for the person at the browser; it never redirects.
pub fn error(title: &str, status: StatusCode, message: &str) -> Response {
    let heading = match status {
        StatusCode::SERVICE_UNAVAILABLE => "Try again in a moment",
        StatusCode::FORBIDDEN => "This form cannot be used",
        _ => "This app's request cannot be handled",
    };
    html(
        status,
        &ErrorPage {
            title,
            heading,
            message,
            alert: true,
        },
        None,
    )
}

/// A page that tells the user something (no error), with no way onward but the app.
pub fn notice(title: &str, heading: &str, message: &str) -> Response {
    html(
        StatusCode::OK,
        &ErrorPage {
            title,
            heading,
            message,
            alert: false,
        },
        None,
    )
}

/// The one mapping from domain errors to the pages' answers. Messages carry no secret.
pub fn error_of(title: &str, e: Error) -> Response {
    let (status, message) = match &e {
        Error::InvalidArgument { .. } => (StatusCode::BAD_REQUEST, e.to_string()),
        Error::OAuth { description, .. } => (StatusCode::BAD_REQUEST, description.clone()),
        Error::Unauthenticated | Error::LoginFailed => (
            StatusCode::UNAUTHORIZED,
            "Your sign-in has ended; start again from the app.".to_owned(),
        ),
        Error::PermissionDenied(m) => (StatusCode::FORBIDDEN, m.clone()),
        Error::NotFound(m) | Error::AlreadyExists(m) => (StatusCode::BAD_REQUEST, m.clone()),
        Error::FailedPrecondition(m) => (StatusCode::SERVICE_UNAVAILABLE, m.clone()),
        Error::ResourceExhausted(m) => (StatusCode::TOO_MANY_REQUESTS, m.clone()),
        Error::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        Error::Unavailable(source) => {
            tracing::warn!(error = %chain(source.as_ref()), "store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "The authorization server cannot reach its store; try again later.".to_owned(),
            )
        }
        Error::Internal(source) => {
            tracing::error!(error = %chain(source.as_ref()), "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error".to_owned(),
            )
        }
    };
    error(title, status, &message)
}

/// `303 See Other` to `target` (the app's redirect URI, or the next page), so the browser
/// follows with a GET whatever the form's method was.
pub fn see_other(title: &str, target: &str, cookies: Vec<HeaderValue>) -> Response {
    let Ok(location) = HeaderValue::from_str(target) else {
        return error(
            title,
            StatusCode::BAD_REQUEST,
            "the redirect cannot be sent",
        );
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    secure_headers(headers);
    response
}
