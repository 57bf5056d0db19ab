//! Session JWTs: EdDSA (Ed25519) signatures, made and checked with jsonwebtoken.
//!
//! A session is also a token row (kind `session`, id = `jti`) holding the hash of the JWT's
//! exact text, like any token. A presented JWT is therefore first matched against its row
//! by hash, which costs no signature check and refuses every forgery and tampered copy at
//! once; the signature, the header and the claims are then checked in full ([`verify`])
//! before the session is trusted the first time.
//!
//! The header is never trusted to say how to check it: the algorithm must be EdDSA and the
//! key comes from tessera's own key set by `kid`; `jku`, `x5u`, `jwk` and `x5c` are refused,
//! never followed.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::token_format::random_base62;

/// Longest clock skew allowed on `nbf` between the replica that signed and the one checking.
pub const LEEWAY_SECONDS: u64 = 60;
/// The `amr` values (RFC 8176) of a login.
pub const AMR_PASSWORD: &str = "pwd";
pub const AMR_OTP: &str = "otp";

/// The claims of a session JWT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The session's token id. First, so that the check path finds it by decoding the
    /// payload's first 44 characters only (see [`peek_jti`]).
    pub jti: String,
    pub iss: String,
    /// The user id.
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// How the user authenticated: `["pwd"]` or `["pwd", "otp"]`.
    pub amr: Vec<String>,
}

impl SessionClaims {
    /// Whether the login included a second factor.
    pub fn two_factor(&self) -> bool {
        self.amr.iter().any(|m| m == AMR_OTP)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("signing a session failed")]
    Signing,
    #[error("the operating system's random source failed")]
    Random,
    /// The JWT does not pass; deliberately without the reason.
    #[error("invalid session token")]
    Invalid,
}

/// An Ed25519 key pair, named by its `kid`. The seed is the secret half.
#[derive(Clone)]
pub struct SigningKey {
    pub kid: String,
    seed: [u8; 32],
    pub public: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// PKCS#8 v1 for an Ed25519 seed (RFC 8410 §7): this fixed prefix, then the 32 bytes.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

impl SigningKey {
    /// A new key pair from the OS CSPRNG.
    pub fn generate() -> Result<SigningKey, JwtError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|_| JwtError::Random)?;
        let kid = random_base62(16).map_err(|_| JwtError::Random)?;
        Ok(SigningKey::from_seed(kid, seed))
    }

    pub fn from_seed(kid: String, seed: [u8; 32]) -> SigningKey {
        let public = ed25519_dalek::SigningKey::from_bytes(&seed)
            .verifying_key()
            .to_bytes();
        SigningKey { kid, seed, public }
    }

    /// The secret half, for sealing at rest only.
    pub fn seed(&self) -> &[u8; 32] {
        &self.seed
    }

    fn encoding_key(&self) -> EncodingKey {
        let mut der = Vec::with_capacity(48);
        der.extend_from_slice(&PKCS8_ED25519_PREFIX);
        der.extend_from_slice(&self.seed);
        EncodingKey::from_ed_der(&der)
    }

    /// The JWT for `claims`, with `kid` in its header.
    pub fn sign(&self, claims: &SessionClaims) -> Result<String, JwtError> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("JWT".into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).map_err(|_| JwtError::Signing)
    }
}

/// The public key as an RFC 8037 JWK's `x`.
pub fn jwk_x(public: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(public)
}

/// What a presented text says about itself before any check: its `kid` and `jti`. `None`
/// when it is not shaped like a JWT at all. Trust nothing in it until [`verify`] passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unverified {
    pub kid: String,
    pub jti: String,
}

/// Only short base62 ids name rows and keys: anything else is not looked up at all.
fn id_like(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The payload's `jti` alone, for the check path: which row to look up. The header is not
/// decoded here; it matters only to the full check, made once per cache entry.
pub fn peek_jti(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Body {
        jti: Option<String>,
    }
    let mut parts = text.split('.');
    let (head, body, _sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !head.starts_with("eyJ") {
        return None;
    }
    if let Some(jti) = leading_jti(body) {
        return Some(jti);
    }
    let body: Body = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()?;
    body.jti.filter(|jti| id_like(jti))
}

/// What tessera signs starts `{"jti":"<id>"`: base64 decodes in groups of four
/// characters, so the first 44 give the first 33 bytes, enough for a 22-character id,
/// without decoding or parsing the rest. Which id this finds needs no trust: the whole
/// text must still match the stored hash of a JWT tessera signed, and its first check
/// parses every claim. Any other payload (another order, a longer id) takes the full
/// parse.
fn leading_jti(body: &str) -> Option<String> {
    const OPEN: &[u8] = br#"{"jti":""#;
    let mut head = [0u8; 33];
    let n = URL_SAFE_NO_PAD
        .decode_slice(body.get(..44)?, &mut head)
        .ok()?;
    let rest = head[..n].strip_prefix(OPEN)?;
    let end = rest.iter().position(|&b| b == b'"')?;
    let jti = std::str::from_utf8(&rest[..end]).ok()?;
    id_like(jti).then(|| jti.to_owned())
}

/// Reads the header's `kid` and the payload's `jti` without checking anything else.
pub fn peek(text: &str) -> Option<Unverified> {
    #[derive(Deserialize)]
    struct Head {
        kid: Option<String>,
    }
    let jti = peek_jti(text)?;
    let head = text.split('.').next()?;
    let head: Head = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).ok()?).ok()?;
    let kid = head.kid.filter(|kid| id_like(kid))?;
    Some(Unverified { kid, jti })
}

/// Checks a session JWT completely against `public` (the key its `kid` names in tessera's
/// own key set): the header (EdDSA, `typ` JWT if present, no key-bearing or critical
/// headers), the signature, and the claims: `exp` present and past `now`, `nbf` reached
/// (with [`LEEWAY_SECONDS`] for a replica whose clock is behind the signer's), `iss` and
/// `aud` as configured. Times are checked here against the application's clock, not by
/// jsonwebtoken against the system's.
pub fn verify(
    text: &str,
    public: &[u8; 32],
    issuer: &str,
    audience: &str,
    now_seconds: i64,
) -> Result<SessionClaims, JwtError> {
    let header = jsonwebtoken::decode_header(text).map_err(|_| JwtError::Invalid)?;
    let refused_header = header.alg != Algorithm::EdDSA
        || header.typ.as_deref().is_some_and(|t| t != "JWT")
        || header.jku.is_some()
        || header.jwk.is_some()
        || header.x5u.is_some()
        || header.x5c.is_some()
        || header.crit.is_some();
    if refused_header {
        return Err(JwtError::Invalid);
    }
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    let key = DecodingKey::from_ed_der(public);
    let claims = jsonwebtoken::decode::<SessionClaims>(text, &key, &validation)
        .map(|data| data.claims)
        .map_err(|_| JwtError::Invalid)?;
    let leeway = i64::try_from(LEEWAY_SECONDS).unwrap_or(0);
    if now_seconds >= claims.exp || now_seconds.saturating_add(leeway) < claims.nbf {
        return Err(JwtError::Invalid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(now: i64) -> SessionClaims {
        SessionClaims {
            iss: "tessera".into(),
            sub: "usr_1".into(),
            aud: "tessera".into(),
            iat: now,
            nbf: now,
            exp: now + 3600,
            jti: "abc123".into(),
            amr: vec![AMR_PASSWORD.into()],
        }
    }

    fn now() -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }

    #[test]
    fn a_signed_session_verifies_and_peeks() {
        let key = SigningKey::generate().expect("key");
        let jwt = key.sign(&claims(now())).expect("sign");
        let seen = peek(&jwt).expect("jwt shaped");
        assert_eq!(seen.kid, key.kid);
        assert_eq!(seen.jti, "abc123");
        let got = verify(&jwt, &key.public, "tessera", "tessera", now()).expect("valid");
        assert_eq!(got, claims(got.iat));
    }

    #[test]
    fn another_key_issuer_audience_or_an_expired_session_fails() {
        let key = SigningKey::generate().expect("key");
        let other = SigningKey::generate().expect("key");
        let jwt = key.sign(&claims(now())).expect("sign");
        assert!(verify(&jwt, &other.public, "tessera", "tessera", now()).is_err());
        assert!(verify(&jwt, &key.public, "other", "tessera", now()).is_err());
        assert!(verify(&jwt, &key.public, "tessera", "other", now()).is_err());
        let mut old = claims(now() - 7200);
        old.exp = now() - 1;
        let expired = key.sign(&old).expect("sign");
        assert!(verify(&expired, &key.public, "tessera", "tessera", now()).is_err());
        let mut early = claims(now());
        early.nbf = now() + 120;
        let early = key.sign(&early).expect("sign");
        assert!(verify(&early, &key.public, "tessera", "tessera", now()).is_err());
    }

    /// What `SessionClaims` cannot express: a JWT with no `exp`, or with key-bearing headers,
    /// signed by the right key all the same.
    #[test]
    fn no_exp_and_key_bearing_headers_fail_even_when_signed_by_the_key() {
        #[derive(Serialize)]
        struct NoExp {
            iss: &'static str,
            sub: &'static str,
            aud: &'static str,
            nbf: i64,
            jti: &'static str,
        }
        let key = SigningKey::generate().expect("key");
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let no_exp = NoExp {
            iss: "tessera",
            sub: "usr_1",
            aud: "tessera",
            nbf: now(),
            jti: "abc123",
        };
        let jwt = jsonwebtoken::encode(&header, &no_exp, &key.encoding_key()).expect("sign");
        assert!(verify(&jwt, &key.public, "tessera", "tessera", now()).is_err());
        for edit in [
            |h: &mut Header| h.jku = Some("https://evil.example/jwks".into()),
            |h: &mut Header| h.x5u = Some("https://evil.example/cert".into()),
            |h: &mut Header| h.typ = Some("at+jwt".into()),
        ] {
            let mut header = header.clone();
            edit(&mut header);
            let jwt =
                jsonwebtoken::encode(&header, &claims(now()), &key.encoding_key()).expect("sign");
            assert!(verify(&jwt, &key.public, "tessera", "tessera", now()).is_err());
        }
    }

    /// The check path's shortcut and the full parse find the same id; a payload in another
    /// order, or with an id too long for the shortcut, still gives its `jti`.
    #[test]
    fn the_jti_is_found_whether_or_not_it_comes_first() {
        let key = SigningKey::generate().expect("key");
        let mut c = claims(now());
        c.jti = "A".repeat(22);
        let jwt = key.sign(&c).expect("sign");
        let body = jwt.split('.').nth(1).expect("body");
        assert_eq!(leading_jti(body).as_deref(), Some(c.jti.as_str()));
        c.jti = "B".repeat(40);
        let long = key.sign(&c).expect("sign");
        assert!(leading_jti(long.split('.').nth(1).expect("body")).is_none());
        assert_eq!(peek_jti(&long).as_deref(), Some(c.jti.as_str()));
        let reordered = format!(
            "eyJhbGciOiJFZERTQSJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"usr_1","jti":"CCCCCCCCCCCCCCCCCCCCCC"}"#)
        );
        assert_eq!(
            peek_jti(&reordered).as_deref(),
            Some("CCCCCCCCCCCCCCCCCCCCCC")
        );
        let escaped = format!(
            "eyJhbGciOiJFZERTQSJ9.{}.sig",
            URL_SAFE_NO_PAD.encode(r#"{"jti":"\u0041BCDEFGHIJKLMNOPQRSTUVWXYZ"}"#)
        );
        assert_eq!(
            peek_jti(&escaped).as_deref(),
            Some("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        );
    }

    #[test]
    fn the_seed_gives_back_the_same_key() {
        let key = SigningKey::generate().expect("key");
        let again = SigningKey::from_seed(key.kid.clone(), *key.seed());
        assert_eq!(again.public, key.public);
    }

    #[test]
    fn garbage_is_not_jwt_shaped() {
        assert!(peek("tsk_abc").is_none());
        assert!(peek("eyJ.eyJ").is_none());
        assert!(peek("eyJhbGciOiJub25lIn0.e30.").is_none(), "no kid, no jti");
    }
}
