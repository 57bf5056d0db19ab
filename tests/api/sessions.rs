//! Session JWTs: verified by an independent decoder given only the published JWK; every
//! forgery and every stale session refused alike; revocation, disabling and key rotation.
//! On both backends.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jwt_compact::prelude::*;
use serde_json::json;
use tessera::domain::app::LoginConfig;
use tessera::domain::clock::Clock;
use tessera::domain::credentials::server_keys::{Purpose, ServerKeys};
use tessera::domain::credentials::session_jwt::{SessionClaims, SigningKey};
use tessera::proto::v1 as pb;
use tonic::Code;

use crate::accounts::PASSWORD;
use crate::helpers::*;

#[derive(Debug, serde::Deserialize)]
struct Custom {
    iss: String,
    sub: String,
    aud: String,
    jti: String,
    amr: Vec<String>,
}

async fn jwks(t: &TestApp) -> Vec<pb::Jwk> {
    t.tokens
        .clone()
        .get_jwks(tonic::Request::new(pb::GetJwksRequest {}))
        .await
        .expect("jwks, with no credential")
        .into_inner()
        .keys
}

/// Verifies `jwt` with jwt-compact over ed25519-compact, from the JWK alone.
fn verify_independently(jwt: &str, jwk: &pb::Jwk) -> Token<Custom> {
    let jwk: jwt_compact::jwk::JsonWebKey<'_> = serde_json::from_value(json!({
        "kty": jwk.kty, "crv": jwk.crv, "x": jwk.x,
    }))
    .expect("a JWK");
    let key = <jwt_compact::alg::Ed25519 as jwt_compact::Algorithm>::VerifyingKey::try_from(&jwk)
        .expect("an Ed25519 key");
    let untrusted = UntrustedToken::new(jwt).expect("a JWT");
    assert_eq!(untrusted.algorithm(), "EdDSA");
    jwt_compact::alg::Ed25519
        .validator::<Custom>(&key)
        .validate(&untrusted)
        .expect("the signature verifies")
}

#[tokio::test]
async fn a_session_verifies_against_the_published_jwk_with_the_claims_it_should_carry() {
    let t = spawn_app().await;
    let id = t.user_with_password("alice", &[]).await;
    let session = t.login("alice", PASSWORD, "").await.expect("login");
    let keys = jwks(&t).await;
    assert_eq!(keys.len(), 1);
    let jwk = &keys[0];
    assert_eq!(
        (
            jwk.kty.as_str(),
            jwk.crv.as_str(),
            jwk.alg.as_str(),
            jwk.r#use.as_str()
        ),
        ("OKP", "Ed25519", "EdDSA", "sig")
    );
    let token = verify_independently(&session.token, jwk);
    assert_eq!(token.header().key_id.as_deref(), Some(jwk.kid.as_str()));
    assert_eq!(token.header().token_type.as_deref(), Some("JWT"));
    let claims = token.claims();
    assert_eq!(claims.custom.iss, "tessera");
    assert_eq!(claims.custom.aud, "tessera");
    assert_eq!(claims.custom.sub, id);
    assert_eq!(claims.custom.jti, session.token_id);
    assert_eq!(claims.custom.amr, vec!["pwd".to_owned()]);
    let (iat, nbf, exp) = (
        claims.issued_at.expect("iat").timestamp(),
        claims.not_before.expect("nbf").timestamp(),
        claims.expiration.expect("exp").timestamp(),
    );
    assert_eq!((nbf, exp - iat), (iat, 3600));
    assert_eq!(Some(exp), session.expires_at.map(|e| e.seconds));
}

fn part(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

/// Signs `header.claims` with HMAC-SHA256 under `key`, as an algorithm-confusion attack does.
fn hs256(header: &serde_json::Value, claims: &serde_json::Value, key: &[u8]) -> String {
    use hmac::Mac;
    let signed = format!("{}.{}", part(header), part(claims));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("key");
    mac.update(signed.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signed}.{sig}")
}

/// tessera's own signing key, unsealed with the test secret: what an attacker holding the
/// private key (and nothing else) could sign.
async fn stolen_key(t: &TestApp) -> SigningKey {
    let now = t.clock.now();
    let stored = t.store.inner.signing_keys(now).await.expect("keys");
    let newest = stored.first().expect("a key");
    let keys = ServerKeys::new(TEST_SECRET).expect("secret");
    let seed = keys
        .sealer(Purpose::SigningKeys)
        .open(&newest.sealed_private_key, &newest.kid)
        .expect("opens");
    SigningKey::from_seed(newest.kid.clone(), seed.try_into().expect("32 bytes"))
}

#[tokio::test]
async fn forged_and_altered_sessions_are_all_refused_alike() {
    let t = spawn_app().await;
    let id = t.user_with_password("bob", &[]).await;
    let session = t.login("bob", PASSWORD, "").await.expect("login");
    let jwk = jwks(&t).await.remove(0);
    let now = i64::try_from(t.now_seconds()).expect("now");
    let claims = json!({
        "iss": "tessera", "sub": id, "aud": "tessera", "iat": now, "nbf": now,
        "exp": now + 3600, "jti": session.token_id, "amr": ["pwd", "otp"],
    });
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": jwk.kid});
    let public = URL_SAFE_NO_PAD.decode(&jwk.x).expect("x");
    let stolen = stolen_key(&t).await;
    let resign = |edit: &dyn Fn(&mut SessionClaims)| {
        let mut c: SessionClaims = serde_json::from_value(claims.clone()).expect("claims");
        edit(&mut c);
        stolen.sign(&c).expect("sign")
    };
    let (head, rest) = session.token.split_once('.').expect("jwt");
    let (body, sig) = rest.split_once('.').expect("jwt");
    let mut flipped = sig.to_owned().into_bytes();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    let foreign = SigningKey::generate().expect("key");
    let foreign_session: SessionClaims = serde_json::from_value(claims.clone()).expect("claims");
    let forgeries: Vec<(&str, String)> = vec![
        (
            "alg none",
            format!(
                "{}.{}.",
                part(&json!({"alg": "none", "kid": jwk.kid})),
                part(&claims)
            ),
        ),
        (
            "HS256 keyed with the public key",
            hs256(
                &json!({"alg": "HS256", "typ": "JWT", "kid": jwk.kid}),
                &claims,
                &public,
            ),
        ),
        (
            "an unknown kid",
            format!(
                "{}.{body}.{sig}",
                part(&json!({"alg": "EdDSA", "kid": "nosuchkid"}))
            ),
        ),
        (
            "a jku header",
            format!(
                "{}.{body}.{sig}",
                part(&json!({"alg": "EdDSA", "kid": jwk.kid, "jku": "https://evil.example/jwks"}))
            ),
        ),
        (
            "a jwk header",
            format!(
                "{}.{body}.{sig}",
                part(
                    &json!({"alg": "EdDSA", "kid": jwk.kid, "jwk": {"kty": "OKP", "crv": "Ed25519", "x": jwk.x}})
                )
            ),
        ),
        (
            "a bad signature",
            format!(
                "{head}.{body}.{}",
                String::from_utf8(flipped).expect("ascii")
            ),
        ),
        (
            "claims swapped (amr otp added)",
            format!("{}.{}.{sig}", part(&header), part(&claims)),
        ),
        (
            "signed by a foreign key",
            foreign.sign(&foreign_session).expect("sign"),
        ),
        (
            "re-signed, another jti",
            resign(&|c| c.jti = "NotInTheStore0000000000".into()),
        ),
        (
            "re-signed, wrong iss",
            resign(&|c| c.iss = "someone-else".into()),
        ),
        (
            "re-signed, wrong aud",
            resign(&|c| c.aud = "someone-else".into()),
        ),
        ("re-signed, longer exp", resign(&|c| c.exp += 86_400)),
        (
            "truncated",
            session.token[..session.token.len() - 5].to_owned(),
        ),
        (
            "1 MiB long",
            format!("{}{}", session.token, "A".repeat(1 << 20)),
        ),
    ];
    let _ = header;
    for (what, jwt) in &forgeries {
        assert_unauthenticated(&t.check(jwt, &["read:x"]).await);
        assert!(!t.introspect(jwt).await.active, "{what}");
        // As the caller's own credential too (it travels in a header: small ones only).
        if jwt.len() < 8192 {
            let as_caller = t.tokens_of_result(jwt).await;
            assert_eq!(
                as_caller.map_err(|s| s.code()),
                Err(Code::Unauthenticated),
                "{what}"
            );
        }
    }
    // The genuine one still passes.
    assert!(t.introspect(&session.token).await.active);
}

#[tokio::test]
async fn revoked_expired_and_disabled_sessions_are_refused() {
    let t = spawn_app().await;
    let id = t.user_with_password("carol", &[]).await;
    let by_token = t.login("carol", PASSWORD, "").await.expect("login");
    let logout = t.login("carol", PASSWORD, "").await.expect("login");
    let kept = t.login("carol", PASSWORD, "").await.expect("login");
    assert_eq!(
        t.revoke(
            &t.admin_key,
            pb::revoke_request::Target::Token(by_token.token.clone())
        )
        .await
        .expect("revoke"),
        1
    );
    assert!(!t.introspect(&by_token.token).await.active);
    // Logging out: a session revokes itself by id.
    assert_eq!(
        t.revoke(
            &logout.token,
            pb::revoke_request::Target::TokenId(logout.token_id.clone())
        )
        .await
        .expect("logout"),
        1
    );
    assert_unauthenticated(&t.check(&logout.token, &["read:x"]).await);
    assert!(t.introspect(&kept.token).await.active);
    // Disabled, then enabled again.
    let admin = t.admin.clone();
    admin
        .clone()
        .disable_user(authed(
            &t.admin_key,
            pb::DisableUserRequest { id: id.clone() },
        ))
        .await
        .expect("disable");
    assert!(!t.introspect(&kept.token).await.active);
    admin
        .clone()
        .enable_user(authed(&t.admin_key, pb::EnableUserRequest { id }))
        .await
        .expect("enable");
    assert!(t.introspect(&kept.token).await.active);
    // Expired: an hour later.
    t.clock.advance(Duration::from_secs(3600));
    assert!(!t.introspect(&kept.token).await.active);
}

#[tokio::test]
async fn rotation_keeps_old_sessions_until_their_key_retires() {
    let db = Arc::new(crate::db::TestDb::fresh().await);
    let t = spawn_app_on(db.clone(), Setup::default()).await;
    t.user_with_password("dave", &[]).await;
    let old = t.login("dave", PASSWORD, "").await.expect("login");
    let old_kid = jwks(&t).await.remove(0).kid;
    let rotated = t
        .admin
        .clone()
        .rotate_signing_key(authed(&t.admin_key, pb::RotateSigningKeyRequest {}))
        .await
        .expect("rotate")
        .into_inner();
    assert_ne!(rotated.kid, old_kid);
    let new = t.login("dave", PASSWORD, "").await.expect("login");
    let keys = jwks(&t).await;
    assert_eq!(keys.len(), 2, "both verify for now");
    let kid_of = |jwt: &str| {
        tessera::domain::credentials::session_jwt::peek(jwt)
            .expect("jwt")
            .kid
    };
    assert_eq!(kid_of(&new.token), rotated.kid);
    assert_eq!(kid_of(&old.token), old_kid);
    assert!(t.introspect(&old.token).await.active);
    assert!(t.introspect(&new.token).await.active);

    // A replica whose sessions last 10 minutes rotates again: the key that signed `new`
    // (an hour long) retires 11 minutes on, and `new` is refused from then although it
    // has not expired.
    let short = spawn_app_on(
        db,
        Setup {
            logins: LoginConfig {
                session_ttl: Duration::from_secs(600),
                ..Setup::default().logins
            },
            ..Setup::default()
        },
    )
    .await;
    short
        .admin
        .clone()
        .rotate_signing_key(authed(&short.admin_key, pb::RotateSigningKeyRequest {}))
        .await
        .expect("rotate");
    assert!(short.introspect(&new.token).await.active);
    short.clock.advance(Duration::from_secs(11 * 60 + 1));
    assert!(
        !short.introspect(&new.token).await.active,
        "its key retired"
    );
    assert!(
        !jwks(&short).await.iter().any(|k| k.kid == rotated.kid),
        "a retired key is no longer published"
    );
}

#[tokio::test]
async fn a_changed_issuer_or_audience_refuses_the_sessions_signed_before() {
    let db = Arc::new(crate::db::TestDb::fresh().await);
    let t = spawn_app_on(db.clone(), Setup::default()).await;
    t.user_with_password("erin", &[]).await;
    let session = t.login("erin", PASSWORD, "").await.expect("login");
    for logins in [
        LoginConfig {
            issuer: "https://auth.example".into(),
            ..Setup::default().logins
        },
        LoginConfig {
            audience: "another-audience".into(),
            ..Setup::default().logins
        },
    ] {
        let other = spawn_app_on(
            db.clone(),
            Setup {
                logins,
                ..Setup::default()
            },
        )
        .await;
        assert!(!other.introspect(&session.token).await.active);
    }
    assert!(t.introspect(&session.token).await.active);
}
