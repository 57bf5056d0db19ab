//! The two cookies of the built-in pages: the browser's id (which binds its forms) and the
//! session. Both `HttpOnly`, `SameSite=Lax`, and `Secure` unless the listener is plain-HTTP
//! loopback (a browser drops a `Secure` cookie sent over plain HTTP anywhere else, and
//! should). The session is scoped to `/oauth`. Where cookies are `Secure`, the browser id is
//! a `__Host-` cookie (path `/`, as that prefix demands), which a sibling subdomain cannot
//! plant: a planted id would let its planter predict the forms' CSRF tokens.

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "tessera_session";

/// The browser id's cookie name.
pub fn browser_name(secure: bool) -> &'static str {
    match secure {
        true => "__Host-tessera_browser",
        false => "tessera_browser",
    }
}

/// The value of cookie `name` in the request, if sent once; a cookie sent twice (one set
/// by a sibling domain, say) is not trusted.
pub fn get<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    let mut found = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v);
    let first = found.next()?;
    match found.next() {
        Some(_) => None,
        None => Some(first),
    }
}

/// A `Set-Cookie` value; `max_age` in seconds, 0 to delete. The value is base62, base64url
/// and dots (an id, a JWT), never anything that needs quoting.
fn set(name: &str, path: &str, value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}

pub fn set_session(value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    set(SESSION, "/oauth", value, max_age, secure)
}

/// The browser id lasts as long as browsers keep cookies (400 days), and is replaced at
/// each sign-in.
pub fn set_browser(value: &str, secure: bool) -> Option<HeaderValue> {
    let path = if secure { "/" } else { "/oauth" };
    set(browser_name(secure), path, value, 400 * 24 * 3600, secure)
}
