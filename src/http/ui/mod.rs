//! The built-in sign-in and consent pages, served by `GET /oauth/authorize` when no
//! `--consent-url` is set, so the authorization code flow works in a browser out of the box.
//! Plain HTML and CSS, no script. Sign-in is the login grant (same argon2 pool, lockout
//! and single failure message); the session it makes is an ordinary tessera session, kept
//! in a cookie. Allow and Deny call the same approval as `OAuthService`. Every form is
//! bound to its browser and to the exact request it showed (`oauth::browser_forms`).

mod cookies;
mod forms;
mod pages;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use self::pages::{Consent, ScopeLine, SignIn};
use super::Http;
use super::form::Form;
use crate::domain::app::Caller;
use crate::domain::app::oauth::{AuthorizationRequest, Review, oauth_params};
use crate::domain::token_format::TokenKind;

pub use self::pages::error as error_page;
pub(in crate::http) use forms::{consent, sign_in, sign_out};

/// How the pages look and where their cookies go.
#[derive(Debug, Clone)]
pub struct UiOptions {
    /// The product's name, on every page (`--ui-title`).
    pub title: String,
    /// A CSS colour for buttons and links (`--ui-accent-color`), checked by `accent_color`.
    pub accent_color: String,
    /// Mark cookies `Secure`: everywhere but plain-HTTP loopback.
    pub secure_cookies: bool,
}

/// A colour CSS reads and nothing else: `#rgb`, `#rrggbb` (with alpha too), or a name.
pub fn accent_color(text: &str) -> Result<String, String> {
    let hex = text.strip_prefix('#').is_some_and(|h| {
        [3, 4, 6, 8].contains(&h.len()) && h.bytes().all(|b| b.is_ascii_hexdigit())
    });
    let named = (3..=20).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_lowercase());
    match hex || named {
        true => Ok(text.to_owned()),
        false => Err("a CSS colour: #rgb, #rrggbb or a name such as teal".to_owned()),
    }
}

#[derive(Debug)]
pub(super) struct Ui {
    title: String,
    secure_cookies: bool,
    stylesheet: String,
}

impl Ui {
    pub(super) fn new(options: &UiOptions) -> Ui {
        Ui {
            title: options.title.clone(),
            secure_cookies: options.secure_cookies,
            stylesheet: include_str!("style.css").replace("ACCENT", &options.accent_color),
        }
    }

    pub(super) fn title(&self) -> &str {
        &self.title
    }
}

pub(super) async fn stylesheet(State(http): State<Http>) -> Response {
    let mut response = http.ui.stylesheet.clone().into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// The request as the app sent it (RFC 6749 §4.1.1; `scope` space-separated).
fn request_of(form: &Form) -> AuthorizationRequest {
    AuthorizationRequest {
        client_id: form.get("client_id").to_owned(),
        redirect_uri: form.get("redirect_uri").to_owned(),
        response_type: form.get("response_type").to_owned(),
        scopes: form.scopes(),
        state: form.get("state").to_owned(),
        code_challenge: form.get("code_challenge").to_owned(),
        code_challenge_method: form.get("code_challenge_method").to_owned(),
    }
}

/// The page that shows `req` again (after a sign-in, a sign-out, or an expired session).
fn authorize_url(req: &AuthorizationRequest) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(oauth_params(req))
        .finish();
    format!("/oauth/authorize?{query}")
}

/// The origin a form may lead to besides tessera: the redirect URI's (a private-use
/// scheme's is the scheme itself). `None` for a host that is not plain letters, digits,
/// dots and dashes (or an IP address): it could widen or break the policy (`*`, `;`), and
/// without it the browser refuses to follow the form to the app, which fails safe.
fn origin_of(redirect_uri: &str) -> Option<String> {
    let url = url::Url::parse(redirect_uri).ok()?;
    let plain = |s: &str, extra: &[u8]| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    };
    match url.origin() {
        url::Origin::Tuple(_, url::Host::Domain(host), _) if !plain(&host, b".-") => None,
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => plain(url.scheme(), b"+.-").then(|| format!("{}:", url.scheme())),
    }
}

/// The signed-in user's session and its token, from the cookie; anything else (no cookie,
/// expired, revoked, not a session) is nobody.
async fn signed_in(http: &Http, headers: &HeaderMap) -> Option<(Caller, String)> {
    let token = cookies::get(headers, cookies::SESSION)?;
    match http.app.authenticate(Some(token)).await {
        Ok(caller) if caller.kind() == TokenKind::Session => Some((caller, token.to_owned())),
        _ => None,
    }
}

/// What a page needs to know of the person and the request in front of it.
struct Shown<'a> {
    browser: &'a str,
    req: &'a AuthorizationRequest,
    caller: Option<&'a Caller>,
    username: &'a str,
    error: Option<&'a str>,
}

/// Sign-in or consent for `shown.req`, or the app's error redirect, or an error page.
async fn show(
    http: &Http,
    status: StatusCode,
    shown: Shown<'_>,
    cookies: Vec<HeaderValue>,
) -> Response {
    let title = http.ui.title.as_str();
    let view = match http.app.review_authorization(shown.caller, shown.req).await {
        Ok(Review::Consent(view)) => view,
        Ok(Review::Redirect(url)) => return pages::see_other(title, &url, cookies),
        Err(e) => return pages::error_of(title, e),
    };
    let subject = shown.caller.map(Caller::user_id);
    let sealed = http
        .app
        .seal_authorization(shown.browser, shown.req, subject);
    let (sealed, csrf) = match (sealed, http.app.csrf_token(shown.browser)) {
        (Ok(sealed), Ok(csrf)) => (sealed, csrf),
        (Err(e), _) | (_, Err(e)) => return pages::error_of(title, e),
    };
    let origin = origin_of(&view.redirect_uri);
    let mut response = match shown.caller {
        None => pages::html(
            status,
            &SignIn {
                title,
                app_name: &view.client_name,
                csrf: &csrf,
                request: &sealed,
                username: shown.username,
                error: shown.error,
            },
            origin.as_deref(),
        ),
        Some(_) => {
            let host = url::Url::parse(&view.redirect_uri)
                .ok()
                .and_then(|u| {
                    u.host_str()
                        .map(str::to_owned)
                        .or_else(|| Some(format!("{}:", u.scheme())))
                })
                .unwrap_or_default();
            pages::html(
                status,
                &Consent {
                    title,
                    app_name: &view.client_name,
                    redirect_host: &host,
                    user_name: view.user_name.as_deref().unwrap_or(""),
                    scopes: view.scopes.into_iter().map(ScopeLine::of).collect(),
                    withheld: view.withheld,
                    csrf: &csrf,
                    request: &sealed,
                },
                origin.as_deref(),
            )
        }
    };
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}

/// `GET /oauth/authorize` without a consent URL: the client and redirect URI are checked
/// (by `review_authorization`) before anything is shown.
pub(super) async fn authorize(http: &Http, headers: &HeaderMap, form: &Form) -> Response {
    let req = request_of(form);
    let mut set = Vec::new();
    let secure = http.ui.secure_cookies;
    let browser = match cookies::get(headers, cookies::browser_name(secure)) {
        Some(b) if http.app.browser_valid(b) => b.to_owned(),
        _ => match http.app.new_browser_id() {
            Ok(b) => {
                set.extend(cookies::set_browser(&b, secure));
                b
            }
            Err(e) => return pages::error_of(&http.ui.title, e),
        },
    };
    let session = signed_in(http, headers).await;
    let shown = Shown {
        browser: &browser,
        req: &req,
        caller: session.as_ref().map(|(c, _)| c),
        username: "",
        error: None,
    };
    show(http, StatusCode::OK, shown, set).await
}

#[cfg(test)]
mod tests {
    use super::origin_of;
    use super::pages::ScopeLine;

    #[test]
    fn the_policy_names_only_plain_origins() {
        let cases = [
            (
                "https://app.example.com/cb",
                Some("https://app.example.com"),
            ),
            ("http://127.0.0.1:9000/cb", Some("http://127.0.0.1:9000")),
            ("http://[::1]:9000/cb", Some("http://[::1]:9000")),
            ("com.example.app:/cb", Some("com.example.app:")),
            ("https://*.example.com/cb", None),
            ("https://a;sandbox/cb", None),
            ("https://a,b/cb", None),
        ];
        for (uri, origin) in cases {
            assert_eq!(origin_of(uri).as_deref(), origin, "{uri}");
        }
    }

    #[test]
    fn only_reading_verbs_read() {
        for (scope, kind) in [
            ("read:contacts", "reads"),
            ("tessera:roles:read", "reads"),
            ("read:*", "reads"),
            ("write:contacts", "changes"),
            ("webhook:manage:team", "changes"),
            ("*", "changes"),
            ("*:read", "changes"),
        ] {
            assert_eq!(ScopeLine::of(scope.into()).kind, kind, "{scope}");
        }
    }
}
