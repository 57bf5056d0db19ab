//! Form-encoded request bodies (RFC 6749 §3.2: each parameter at most once) and client
//! authentication by `client_secret_basic` or `client_secret_post` (§2.3.1), never both.

use std::collections::HashMap;

use axum::http::{HeaderMap, header};
use base64::Engine as _;

use super::error::OAuthError;
use crate::domain::app::oauth::ClientAuth;

/// The parameters of one request, each present at most once. Its Debug names the
/// parameters only: their values include client secrets, codes and refresh tokens.
#[derive(Default)]
pub struct Form {
    params: HashMap<String, String>,
}

impl std::fmt::Debug for Form {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.params.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Form").field("params", &names).finish()
    }
}

impl Form {
    /// Parses a body that must be `application/x-www-form-urlencoded`.
    pub fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
        let form_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !form_type {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        Form::from_pairs(body)
    }

    /// Parses a query string or a form body.
    pub fn from_pairs(text: &[u8]) -> Result<Form, OAuthError> {
        let mut params = HashMap::new();
        for (k, v) in form_urlencoded::parse(text) {
            if params.insert(k.to_string(), v.into_owned()).is_some() {
                return Err(OAuthError::invalid_request(format!(
                    "parameter {:?} given more than once",
                    k.chars().take(64).collect::<String>()
                )));
            }
        }
        Ok(Form { params })
    }

    /// A parameter's value; empty when absent (RFC 6749 §3.1: an empty value is omitted).
    pub fn get(&self, name: &str) -> &str {
        self.params.get(name).map_or("", String::as_str)
    }

    /// A parameter moved out (a password: no copy of it stays behind); empty when absent.
    pub fn take(&mut self, name: &str) -> String {
        self.params.remove(name).unwrap_or_default()
    }

    /// A space-separated `scope` (RFC 6749 §3.3).
    pub fn scopes(&self) -> Vec<String> {
        self.get("scope")
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// How a client presented itself, and whether it used the Authorization header (a 401
/// then challenges for Basic).
pub struct Presented {
    pub auth: ClientAuth,
    pub basic: bool,
}

impl Presented {
    /// The answer for a use case's error: a 401 challenges for Basic when the client used it.
    pub fn error(&self, e: crate::domain::error::Error) -> OAuthError {
        let e = OAuthError::from(e);
        if self.basic {
            e.with_basic_challenge()
        } else {
            e
        }
    }

    /// The client, authenticated as the endpoint's caller.
    pub async fn client(
        &self,
        app: &crate::domain::app::App,
    ) -> Result<crate::domain::oauth_client::OAuthClient, OAuthError> {
        app.authenticate_client(&self.auth)
            .await
            .map_err(|e| self.error(e))
    }
}

fn bad_basic() -> OAuthError {
    let mut e = OAuthError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "invalid_client",
        "malformed Basic credentials",
    );
    e = e.with_basic_challenge();
    e
}

/// `client_id:client_secret`, each form-encoded, in base64 (RFC 6749 §2.3.1).
fn basic(value: &str) -> Result<Option<ClientAuth>, OAuthError> {
    let Some(encoded) = value
        .get(..6)
        .filter(|s| s.eq_ignore_ascii_case("basic "))
        .map(|_| value[6..].trim())
    else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| bad_basic())?;
    let text = String::from_utf8(decoded).map_err(|_| bad_basic())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad_basic)?;
    let unescape = |s: &str| -> String {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Ok(Some(ClientAuth {
        client_id: unescape(id),
        client_secret: unescape(secret),
    }))
}

/// The client's credentials from the header or the body, refusing both at once.
pub fn client_auth(headers: &HeaderMap, form: &Form) -> Result<Presented, OAuthError> {
    let header = headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| bad_basic()))
        .transpose()?;
    let from_header = match header {
        Some(value) => basic(value)?,
        None => None,
    };
    match from_header {
        Some(auth) => {
            if !form.get("client_secret").is_empty() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method, not Basic and client_secret both",
                ));
            }
            let body_id = form.get("client_id");
            if !body_id.is_empty() && body_id != auth.client_id {
                return Err(bad_basic());
            }
            Ok(Presented { auth, basic: true })
        }
        None => Ok(Presented {
            auth: ClientAuth {
                client_id: form.get("client_id").to_owned(),
                client_secret: form.get("client_secret").to_owned(),
            },
            basic: false,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_basic_is_unescaped() {
        assert!(Form::from_pairs(b"a=1&a=2").is_err());
        let form = Form::from_pairs(b"scope=read%3Aa+write%3Ab&x=").expect("form");
        assert_eq!(form.scopes(), ["read:a", "write:b"]);
        assert_eq!(form.get("x"), "");
        let b64 = base64::engine::general_purpose::STANDARD.encode("cli%5Fa:s%3Ab");
        let auth = basic(&format!("Basic {b64}")).expect("ok").expect("basic");
        assert_eq!(auth.client_id, "cli_a");
        assert_eq!(auth.client_secret, "s:b");
        assert!(basic("Basic !!!").is_err());
        assert!(basic("Bearer x").expect("not basic").is_none());
        let secret = Form::from_pairs(b"client_secret=tsc_hidden&code=abc").expect("form");
        let shown = format!("{secret:?}");
        assert!(
            shown.contains("client_secret")
                && !shown.contains("tsc_hidden")
                && !shown.contains("abc")
        );
    }
}
