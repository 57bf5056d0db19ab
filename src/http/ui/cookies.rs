//! The two cookies of the built-in pages: the browser's id (which binds its forms) and the
//! session. Both `HttpOnly`, `SameSite=Lax`, scoped to `/oauth`, and `Secure` unless the
//! listener is plain-HTTP loopback (a browser drops a `Secure` cookie sent over plain HTTP
//! anywhere else, and should).

use axum::http::{HeaderMap, HeaderValue, header};

pub const SESSION: &str = "tessera_session";
pub const BROWSER: &str = "tessera_browser";

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

/// A `Set-Cookie` value; `max_age` in seconds, 0 to delete. The value is base62 or a JWT
/// (base64url and dots), never anything that needs quoting.
pub fn set(name: &str, value: &str, max_age: u64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/oauth; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}"
    ))
    .ok()
}
