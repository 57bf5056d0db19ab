//! OAuth 2 clients, the app registry: who an app is, where its users may be sent back to,
//! and what it may ask for. Pure rules; the use cases are in `app::clients`.

use super::clock::Millis;
use super::error::{Error, Result};
use super::permission_set::PermissionSet;

/// RFC 6749 §2.1. A public client (a single-page app, a mobile app, a CLI) cannot keep a
/// secret: it gets none and must use PKCE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Public,
    Confidential,
}

impl ClientType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClientType::Public => "public",
            ClientType::Confidential => "confidential",
        }
    }

    pub fn from_name(name: &str) -> Option<ClientType> {
        match name {
            "public" => Some(ClientType::Public),
            "confidential" => Some(ClientType::Confidential),
            _ => None,
        }
    }
}

/// The grants a client may use, named as on the wire (RFC 6749 `grant_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    pub fn from_name(name: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == name)
    }
}

/// A registered app. Its secret's hash is kept apart ([`ClientSecrets`]): nothing that
/// lists or returns clients ever reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthClient {
    /// Server-made, public (`client_id`).
    pub id: String,
    pub name: String,
    pub client_type: ClientType,
    /// Exact strings, in the order registered.
    pub redirect_uris: Vec<String>,
    /// What the app may be granted at most: capped by the admin who set them.
    pub scopes: PermissionSet,
    /// Sorted, no duplicates.
    pub grant_types: Vec<GrantType>,
    pub disabled: bool,
    pub created_at: Millis,
}

impl OAuthClient {
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether `presented` is one of the registered redirect URIs (see [`redirect_matches`]).
    pub fn has_redirect_uri(&self, presented: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| redirect_matches(r, presented))
    }
}

/// The hashes a confidential client's secret is checked against: the current one and,
/// for `--client-secret-grace` after a rotation, the one before.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientSecrets {
    pub current: Option<Vec<u8>>,
    pub previous: Option<Vec<u8>>,
    pub previous_until: Option<Millis>,
}

impl std::fmt::Debug for ClientSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSecrets")
            .field("current", &self.current.is_some())
            .field("previous_until", &self.previous_until)
            .finish_non_exhaustive()
    }
}

impl ClientSecrets {
    /// The hashes a presented secret may match at `now`.
    pub fn valid_at(&self, now: Millis) -> impl Iterator<Item = &[u8]> {
        let previous = self
            .previous
            .as_deref()
            .filter(|_| self.previous_until.is_some_and(|until| now < until));
        self.current.as_deref().into_iter().chain(previous)
    }
}

/// A client id as given in a request: what tessera makes (`cli_` and base62) or nothing
/// like it; the value is not echoed.
pub fn client_id(field: &str, id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    match ok {
        true => Ok(()),
        false => Err(Error::invalid(field, "not a client id")),
    }
}

/// Grant type names, sorted; none given means `authorization_code` and `refresh_token`.
pub fn grant_types(field: &str, names: &[String]) -> Result<Vec<GrantType>> {
    if names.is_empty() {
        return Ok(vec![GrantType::AuthorizationCode, GrantType::RefreshToken]);
    }
    let mut grants = Vec::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        let grant = GrantType::from_name(name).ok_or_else(|| {
            Error::invalid(
                format!("{field}[{i}]"),
                "one of authorization_code, refresh_token, client_credentials",
            )
        })?;
        if grants.contains(&grant) {
            return Err(Error::invalid(format!("{field}[{i}]"), "listed twice"));
        }
        grants.push(grant);
    }
    grants.sort();
    Ok(grants)
}

/// Redirect URIs as registered: each valid, none twice, at most [`MAX_REDIRECT_URIS`].
pub fn redirect_uris(field: &str, uris: &[String]) -> Result<Vec<String>> {
    if uris.len() > MAX_REDIRECT_URIS {
        return Err(Error::invalid(
            field,
            format!("at most {MAX_REDIRECT_URIS} redirect URIs"),
        ));
    }
    for (i, uri) in uris.iter().enumerate() {
        redirect_uri(&format!("{field}[{i}]"), uri)?;
        if uris[..i].contains(uri) {
            return Err(Error::invalid(format!("{field}[{i}]"), "listed twice"));
        }
    }
    Ok(uris.to_vec())
}

/// What a client's type, grants and redirect URIs must agree on: a public client cannot
/// authenticate, so no client credentials; the code grant needs somewhere to send the
/// code; a refresh token comes only from the code grant.
pub fn check_combination(client: &OAuthClient) -> Result<()> {
    if client.client_type == ClientType::Public && client.allows(GrantType::ClientCredentials) {
        return Err(Error::invalid(
            "grant_types",
            "a public client cannot use client_credentials: it has no secret",
        ));
    }
    if client.allows(GrantType::AuthorizationCode) && client.redirect_uris.is_empty() {
        return Err(Error::invalid(
            "redirect_uris",
            "authorization_code needs at least one redirect URI",
        ));
    }
    if client.allows(GrantType::RefreshToken) && !client.allows(GrantType::AuthorizationCode) {
        return Err(Error::invalid(
            "grant_types",
            "refresh_token comes with authorization_code only",
        ));
    }
    Ok(())
}

/// Most redirect URIs one client may register, and the longest one.
pub const MAX_REDIRECT_URIS: usize = 32;
pub const MAX_REDIRECT_URI_LEN: usize = 2048;

/// The loopback hosts on which `http` is allowed, and on which any port matches
/// (RFC 8252 §7.3: a native app listens on an ephemeral port).
const LOOPBACK: [&str; 3] = ["localhost", "127.0.0.1", "[::1]"];

/// A redirect URI as registered: absolute, no fragment, no user info, and `https`; `http`
/// only on a loopback host; or a private-use scheme named after a domain in reverse order
/// (RFC 8252 §7.1, `com.example.app:/callback`), which holds a dot. Everything else is
/// refused, `javascript:`, `data:` and `file:` among it.
pub fn redirect_uri(field: &str, uri: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(field, why.to_owned()));
    if uri.is_empty() || uri.len() > MAX_REDIRECT_URI_LEN {
        return bad("a redirect URI is 1 to 2,048 bytes");
    }
    if !uri.bytes().all(|b| b.is_ascii_graphic()) {
        return bad("a redirect URI holds printable ASCII only, no spaces (percent-encode)");
    }
    if uri.contains('#') {
        return bad("a redirect URI must not have a fragment (RFC 6749 §3.1.2)");
    }
    let Ok(url) = url::Url::parse(uri) else {
        return bad("not an absolute URI");
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("a redirect URI must not carry user info");
    }
    match url.scheme() {
        "https" if !url.host_str().is_some_and(plain_host) => bad(
            "an https redirect URI needs a host of letters, digits, dots and dashes \
             (or an IP address)",
        ),
        "https" => Ok(()),
        "http" if loopback_host(&url) => Ok(()),
        "http" => bad("http is allowed only on localhost, 127.0.0.1 or [::1]; use https"),
        scheme if scheme.contains('.') => Ok(()),
        _ => bad(
            "the scheme must be https, http on a loopback host, or a private-use scheme \
             in reverse-domain form (com.example.app)",
        ),
    }
}

/// A host a browser's Content-Security-Policy can name as it is (the consent page's
/// `form-action`): no `*`, `;`, `,` or quote, which the URL parser lets through.
fn plain_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-[]:".contains(&b))
}

fn loopback_host(url: &url::Url) -> bool {
    url.host_str().is_some_and(|h| LOOPBACK.contains(&h))
}

/// Exact string comparison (RFC 9700 §4.1.3), except that on an `http` loopback URI the
/// port may differ (RFC 8252 §7.3). Nothing is normalised: another case, a trailing slash
/// or an extra query is another URI.
pub fn redirect_matches(registered: &str, presented: &str) -> bool {
    if registered == presented {
        return true;
    }
    if !registered.starts_with("http://") || !presented.starts_with("http://") {
        return false;
    }
    match (
        without_loopback_port(registered),
        without_loopback_port(presented),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `http://<loopback>[:port]<rest>` as (host, rest), the port dropped; `None` unless the
/// authority is exactly a loopback host with an optional numeric port.
fn without_loopback_port(uri: &str) -> Option<(&str, &str)> {
    let after = uri.strip_prefix("http://")?;
    let end = after.find(['/', '?']).unwrap_or(after.len());
    let (authority, rest) = after.split_at(end);
    let host = LOOPBACK.into_iter().find(|h| authority.starts_with(h))?;
    match &authority[host.len()..] {
        "" => Some((host, rest)),
        port => {
            let digits = port.strip_prefix(':')?;
            let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
            numeric.then_some((host, rest))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_allowed_and_refused() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com/cb?x=1",
            "http://localhost/cb",
            "http://127.0.0.1:8400/cb",
            "http://[::1]:8400/",
            "https://192.0.2.7/cb",
            "https://[2001:db8::1]:8443/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(redirect_uri("u", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/callback",
            "https://app.example.com/cb#frag",
            "http://app.example.com/cb",
            "http://localhost.evil.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "myapp:/cb",
            "https://user:pw@app.example.com/cb",
            "https://app.example.com/a b",
            "https://*.example.com/cb",
            "https://a;sandbox/cb",
            "https://a,b.example.com/cb",
        ] {
            assert!(redirect_uri("u", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn redirects_match_exactly_but_for_a_loopback_port() {
        let r = "https://app.example.com/cb";
        assert!(redirect_matches(r, r));
        for near in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com/cb?x=1",
            "https://app.example.com:8443/cb",
            "http://app.example.com/cb",
        ] {
            assert!(!redirect_matches(r, near), "{near}");
        }
        let l = "http://127.0.0.1/cb";
        assert!(redirect_matches(l, "http://127.0.0.1:51004/cb"));
        assert!(redirect_matches("http://[::1]:80/cb", "http://[::1]:9/cb"));
        assert!(!redirect_matches(l, "http://127.0.0.1:51004/cb2"));
        assert!(!redirect_matches(l, "http://localhost:51004/cb"));
        assert!(!redirect_matches(l, "http://127.0.0.1:x/cb"));
        assert!(!redirect_matches(l, "http://127.0.0.1.evil.com/cb"));
        assert!(!redirect_matches(
            "http://app.example.com:1/cb",
            "http://app.example.com:2/cb"
        ));
    }

    #[test]
    fn the_previous_secret_counts_only_within_its_grace() {
        let s = ClientSecrets {
            current: Some(vec![1]),
            previous: Some(vec![2]),
            previous_until: Some(100),
        };
        assert_eq!(s.valid_at(99).count(), 2);
        assert_eq!(s.valid_at(100).count(), 1);
        assert!(!format!("{s:?}").contains('2'));
    }
}
