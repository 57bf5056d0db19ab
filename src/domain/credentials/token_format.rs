//! The opaque token format: `<prefix><id><secret><checksum>`, all base62 after the prefix.
//!
//! Like GitHub's token formats, a token names its kind (`tsk_` API key, `tsp_` PAT, `tsa_`
//! and `tsr_` OAuth access and refresh tokens) so secret
//! scanners can find it, carries a public lookup id so the store is read by primary key, holds
//! at least 256 bits from the OS CSPRNG, and ends in a CRC32 so that typos and garbage are
//! refused without touching the store.

use std::fmt;

/// Longest token text looked at; anything longer is refused unparsed.
pub const MAX_TOKEN_LEN: usize = 4096;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// 22 base62 characters: about 131 bits, so ids never collide in practice (the store's
/// uniqueness constraint is the backstop).
const ID_LEN: usize = 22;
/// 43 base62 characters: 43 × log2(62) ≈ 256.03 bits of secret.
const SECRET_LEN: usize = 43;
/// 62^6 > 2^32, so six characters hold any CRC32.
const CHECKSUM_LEN: usize = 6;
const PREFIX_LEN: usize = 4;
const TOKEN_LEN: usize = PREFIX_LEN + ID_LEN + SECRET_LEN + CHECKSUM_LEN;

/// The kinds of token tessera issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    ApiKey,
    Pat,
    /// A login session: a JWT (see `session_jwt`), not an opaque token.
    Session,
    /// An OAuth access token, issued to an app (see `app::oauth`).
    OAuthAccess,
    /// An OAuth refresh token: never a bearer credential, only for the refresh grant.
    OAuthRefresh,
}

impl TokenKind {
    /// The prefix that starts every opaque token of this kind; a session, being a JWT, has
    /// none, and is never made by [`generate`].
    pub const fn prefix(self) -> &'static str {
        match self {
            TokenKind::ApiKey => "tsk_",
            TokenKind::Pat => "tsp_",
            TokenKind::Session => "",
            TokenKind::OAuthAccess => "tsa_",
            TokenKind::OAuthRefresh => "tsr_",
        }
    }

    /// The name used on the wire and in the store.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenKind::ApiKey => "api_key",
            TokenKind::Pat => "pat",
            TokenKind::Session => "session",
            TokenKind::OAuthAccess => "oauth_access",
            TokenKind::OAuthRefresh => "oauth_refresh",
        }
    }

    pub fn from_name(name: &str) -> Option<TokenKind> {
        match name {
            "api_key" => Some(TokenKind::ApiKey),
            "pat" => Some(TokenKind::Pat),
            "session" => Some(TokenKind::Session),
            "oauth_access" => Some(TokenKind::OAuthAccess),
            "oauth_refresh" => Some(TokenKind::OAuthRefresh),
            _ => None,
        }
    }

    fn from_prefix(prefix: &str) -> Option<TokenKind> {
        match prefix {
            "tsk_" => Some(TokenKind::ApiKey),
            "tsp_" => Some(TokenKind::Pat),
            "tsa_" => Some(TokenKind::OAuthAccess),
            "tsr_" => Some(TokenKind::OAuthRefresh),
            _ => None,
        }
    }
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OS random source failed; nothing can be issued safely.
#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed")]
pub struct RandomError;

/// Uniform base62 characters from the OS CSPRNG, by rejection sampling (no modulo bias).
pub fn random_base62(len: usize) -> Result<String, RandomError> {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).map_err(|_| RandomError)?;
        for b in buf {
            // 248 = 4 × 62: bytes below it map uniformly onto the alphabet.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    Ok(out)
}

/// The checksum's base62 digits, on the stack: every check parses two tokens (the caller's
/// and the checked one), and a `String` here was an allocation each.
fn checksum(text: &str) -> [u8; CHECKSUM_LEN] {
    let mut n = u64::from(crc32fast::hash(text.as_bytes()));
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    digits
}

/// A freshly minted token: the secret text and its public id.
pub struct NewToken {
    pub kind: TokenKind,
    pub id: String,
    /// The whole token text; shown to the caller once and never stored.
    pub secret: String,
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Mints a new token of `kind`.
pub fn generate(kind: TokenKind) -> Result<NewToken, RandomError> {
    let (id, secret) = compose(kind.prefix())?;
    Ok(NewToken { kind, id, secret })
}

/// The prefix of an OAuth client secret: the token format, so scanners find it and typos
/// are caught by the checksum, but never a bearer token (no token row has it).
pub const CLIENT_SECRET_PREFIX: &str = "tsc_";

/// A new OAuth client secret (256 random bits), shown once and stored as a hash.
pub fn generate_client_secret() -> Result<String, RandomError> {
    Ok(compose(CLIENT_SECRET_PREFIX)?.1)
}

/// Whether `text` is shaped like a client secret: prefix, length, alphabet, checksum.
pub fn is_client_secret(text: &str) -> bool {
    well_formed(text).is_some_and(|(prefix, _)| prefix == CLIENT_SECRET_PREFIX)
}

/// A fresh id and the whole text `<prefix><id><secret><checksum>`.
fn compose(prefix: &str) -> Result<(String, String), RandomError> {
    let id = random_base62(ID_LEN)?;
    let secret_part = random_base62(SECRET_LEN)?;
    let mut secret = String::with_capacity(TOKEN_LEN);
    secret.push_str(prefix);
    secret.push_str(&id);
    secret.push_str(&secret_part);
    let sum = checksum(&secret);
    secret.extend(sum.iter().map(|&b| char::from(b)));
    Ok((id, secret))
}

/// The prefix and id of a text in the token format whose checksum holds.
fn well_formed(text: &str) -> Option<(&str, &str)> {
    if text.len() != TOKEN_LEN || !text.is_ascii() {
        return None;
    }
    let body = &text[PREFIX_LEN..];
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let (signed, sum) = text.split_at(TOKEN_LEN - CHECKSUM_LEN);
    if checksum(signed) != sum.as_bytes() {
        return None;
    }
    Some((&text[..PREFIX_LEN], &body[..ID_LEN]))
}

/// A token text that is well formed: right prefix, length, alphabet and checksum, or
/// shaped like a JWT with a `jti`. Whether it exists is the store's question.
#[derive(Clone)]
pub struct ParsedToken<'a> {
    pub kind: TokenKind,
    pub id: std::borrow::Cow<'a, str>,
    /// The whole token text, which is what gets hashed.
    pub text: &'a str,
}

impl fmt::Debug for ParsedToken<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedToken")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Removes an optional `Bearer ` scheme (any case) and surrounding spaces.
pub fn strip_bearer(text: &str) -> &str {
    let t = text.trim();
    match t.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("bearer ") => t[7..].trim_start(),
        _ => t,
    }
}

/// A token as presented by a client: refused unread over [`MAX_TOKEN_LEN`], an optional
/// `Bearer ` scheme removed, then shape and checksum checked.
pub fn parse_presented(text: &str) -> Option<ParsedToken<'_>> {
    if text.len() > MAX_TOKEN_LEN {
        return None;
    }
    let text = strip_bearer(text);
    if let Some(jti) = super::session_jwt::peek_jti(text) {
        return Some(ParsedToken {
            kind: TokenKind::Session,
            id: jti.into(),
            text,
        });
    }
    parse(text)
}

/// Checks the token's shape and checksum. `None` means "not a tessera token".
pub fn parse(text: &str) -> Option<ParsedToken<'_>> {
    let (prefix, id) = well_formed(text)?;
    Some(ParsedToken {
        kind: TokenKind::from_prefix(prefix)?,
        id: id.into(),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_parse_back() {
        for kind in [
            TokenKind::ApiKey,
            TokenKind::Pat,
            TokenKind::OAuthAccess,
            TokenKind::OAuthRefresh,
        ] {
            let t = generate(kind).expect("os rng");
            assert!(t.secret.starts_with(kind.prefix()));
            assert_eq!(t.secret.len(), TOKEN_LEN);
            let parsed = parse(&t.secret).expect("well formed");
            assert_eq!(parsed.kind, kind);
            assert_eq!(parsed.id, t.id);
            assert!(!format!("{t:?}").contains(&t.secret));
        }
    }

    #[test]
    fn client_secrets_are_not_tokens() {
        let s = generate_client_secret().expect("os rng");
        assert!(s.starts_with(CLIENT_SECRET_PREFIX) && is_client_secret(&s));
        assert!(parse(&s).is_none());
        assert!(!is_client_secret(&s[..s.len() - 1]));
        let t = generate(TokenKind::ApiKey).expect("os rng").secret;
        assert!(!is_client_secret(&t));
    }

    #[test]
    fn tokens_are_distinct() {
        let a = generate(TokenKind::ApiKey).expect("os rng");
        let b = generate(TokenKind::ApiKey).expect("os rng");
        assert_ne!(a.id, b.id);
        assert_ne!(a.secret, b.secret);
    }

    #[test]
    fn garbage_is_refused() {
        let t = generate(TokenKind::Pat).expect("os rng").secret;
        // One changed character breaks the checksum.
        let mut chars: Vec<char> = t.chars().collect();
        chars[30] = if chars[30] == 'a' { 'b' } else { 'a' };
        let flipped: String = chars.into_iter().collect();
        assert!(parse(&flipped).is_none());
        assert!(parse(&t.replacen("tsp_", "tsx_", 1)).is_none());
        assert!(parse(&t[..t.len() - 1]).is_none());
        assert!(parse("").is_none());
        assert!(parse(&"x".repeat(1 << 20)).is_none());
        let mut non_ascii = t[..TOKEN_LEN - 2].to_string();
        non_ascii.push('é');
        assert_eq!(non_ascii.len(), TOKEN_LEN);
        assert!(parse(&non_ascii).is_none());
    }

    #[test]
    fn bearer_prefix_is_optional_and_case_blind() {
        assert_eq!(strip_bearer("Bearer abc"), "abc");
        assert_eq!(strip_bearer("bEaReR   abc "), "abc");
        assert_eq!(strip_bearer("abc"), "abc");
        assert_eq!(strip_bearer("Bearer"), "Bearer");
    }
}
