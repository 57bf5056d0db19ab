//! The pages' forms, posted: sign-in, consent and sign-out. Each is checked before anything
//! else (`checked`): the browser's cookie, its CSRF token, and the sealed request it carries.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;

use super::{Shown, authorize_url, cookies, pages, show, signed_in};
use crate::domain::app::oauth::PendingAuthorization;
use crate::domain::app::{LoginInput, RevokeTarget};
use crate::domain::error::Error;
use crate::http::Http;
use crate::http::form::Form;

/// A posted form with its browser's cookie and CSRF token checked; anything else is refused
/// with an error page, never a redirect. The form and the browser's id.
fn from_this_browser(
    http: &Http,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, String), Box<Response>> {
    let title = http.ui.title.as_str();
    let form = Form::parse(headers, body)
        .map_err(|e| Box::new(pages::error(title, StatusCode::BAD_REQUEST, &e.description)))?;
    let name = cookies::browser_name(http.ui.secure_cookies);
    let browser = cookies::get(headers, name).unwrap_or_default();
    if !http.app.csrf_valid(browser, form.get("csrf")) {
        return Err(Box::new(pages::error(
            title,
            StatusCode::FORBIDDEN,
            "This form was not sent from the page tessera gave this browser (its security \
             token is missing or wrong). Start again from the app.",
        )));
    }
    Ok((form, browser.to_owned()))
}

/// `from_this_browser`, and the authorization request the form carries, unchanged and
/// unexpired.
fn checked(
    http: &Http,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Form, String, PendingAuthorization), Box<Response>> {
    let (form, browser) = from_this_browser(http, headers, body)?;
    let pending = http
        .app
        .open_authorization(&browser, form.get("request"))
        .map_err(|e| Box::new(pages::error_of(&http.ui.title, e)))?;
    Ok((form, browser, pending))
}

/// The cookie that ends the session cookie.
fn cleared(http: &Http) -> Vec<HeaderValue> {
    cookies::set_session("", 0, http.ui.secure_cookies)
        .into_iter()
        .collect()
}

/// The session cookie's session, revoked (it is a token like any other). A store that
/// cannot record the revocation is an error page, with the cookie cleared all the same.
async fn end_session(http: &Http, headers: &HeaderMap) -> Result<(), Response> {
    if let Some((caller, token)) = signed_in(http, headers).await
        && let Err(e) = http.app.revoke(&caller, RevokeTarget::Token(token)).await
    {
        let mut page = pages::error_of(&http.ui.title, e);
        for c in cleared(http) {
            page.headers_mut().append(header::SET_COOKIE, c);
        }
        return Err(page);
    }
    Ok(())
}

/// `POST /oauth/ui/sign-in`: the login grant; on success the session cookie and back to
/// the request (now consent), else the sign-in page again with one message for every
/// failure and nothing of the password.
pub(in crate::http) async fn sign_in(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let (mut form, browser, pending) = match checked(&http, &headers, &body) {
        Ok(checked) => checked,
        Err(page) => return *page,
    };
    let username = form.get("username").to_owned();
    let input = LoginInput {
        username: username.clone(),
        password: form.take("password"),
        totp_code: form.get("totp_code").to_owned(),
        ttl: None,
    };
    let (status, message) = match http.app.login(input).await {
        Ok(issued) => {
            let now = http.app.now();
            let seconds = issued
                .expires_at
                .map_or(0, |end| end.saturating_sub(now).saturating_add(999) / 1000);
            // A session this browser held before ends; its id is replaced, so that forms
            // rendered before the sign-in (or planted) no longer count.
            if let Err(page) = end_session(&http, &headers).await {
                return page;
            }
            let secure = http.ui.secure_cookies;
            let mut set: Vec<HeaderValue> = Vec::new();
            set.extend(cookies::set_session(
                &issued.token,
                u64::try_from(seconds).unwrap_or(0),
                secure,
            ));
            match http.app.new_browser_id() {
                Ok(id) => set.extend(cookies::set_browser(&id, secure)),
                Err(e) => return pages::error_of(&http.ui.title, e),
            }
            return pages::see_other(&http.ui.title, &authorize_url(&pending.request), set);
        }
        Err(Error::LoginFailed | Error::InvalidArgument { .. } | Error::Unauthenticated) => (
            StatusCode::UNAUTHORIZED,
            "The username, password or code is not right.".to_owned(),
        ),
        Err(e @ Error::Throttled { .. }) => (
            StatusCode::TOO_MANY_REQUESTS,
            format!("Too many sign-in attempts: {e}."),
        ),
        Err(e) => return pages::error_of(&http.ui.title, e),
    };
    let shown = Shown {
        browser: &browser,
        req: &pending.request,
        caller: None,
        username: &username,
        error: Some(&message),
    };
    show(&http, status, shown, Vec::new()).await
}

/// `POST /oauth/ui/consent`: Allow or Deny, by the user the page was shown to, for the
/// request it showed. A session that ended meanwhile goes back to sign-in.
pub(in crate::http) async fn consent(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let title = http.ui.title.as_str();
    let (form, _, pending) = match checked(&http, &headers, &body) {
        Ok(checked) => checked,
        Err(page) => return *page,
    };
    let caller = match signed_in(&http, &headers).await {
        Some((caller, _)) if pending.subject.as_deref() == Some(caller.user_id()) => caller,
        _ => return pages::see_other(title, &authorize_url(&pending.request), Vec::new()),
    };
    let req = pending.request;
    let target = match form.get("decision") {
        "allow" => http
            .app
            .approve_authorization(&caller, req)
            .await
            .map(|a| a.redirect_url),
        "deny" => http
            .app
            .deny_authorization(&caller, &req.client_id, &req.redirect_uri, &req.state)
            .await
            .map(|d| d.redirect_url),
        _ => Err(Error::invalid("decision", "allow or deny")),
    };
    match target {
        Ok(url) => pages::see_other(title, &url, Vec::new()),
        Err(e) => pages::error_of(title, e),
    }
}

/// `POST /oauth/ui/sign-out`: ends the session (revoked, as any token is) whatever the age
/// of the page it came from, then shows the request's sign-in page (or, for a request that
/// expired, says the user is signed out).
pub(in crate::http) async fn sign_out(
    State(http): State<Http>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let title = http.ui.title.as_str();
    let (form, browser) = match from_this_browser(&http, &headers, &body) {
        Ok(checked) => checked,
        Err(page) => return *page,
    };
    if let Err(page) = end_session(&http, &headers).await {
        return page;
    }
    let cleared = cleared(&http);
    match http.app.open_authorization(&browser, form.get("request")) {
        Ok(pending) => pages::see_other(title, &authorize_url(&pending.request), cleared),
        Err(_) => {
            let mut page = pages::notice(
                title,
                "You are signed out",
                "Go back to the app to sign in again.",
            );
            for c in cleared {
                page.headers_mut().append(header::SET_COOKIE, c);
            }
            page
        }
    }
}
