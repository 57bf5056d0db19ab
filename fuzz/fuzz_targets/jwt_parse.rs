//! JWT parsing before the signature is checked: `peek_jti` and `peek` (the check path's
//! first look) never panic and only ever name short base62 ids, and the full `verify`
//! never accepts what the fuzzer made (it cannot sign with this key).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::domain::credentials::session_jwt;

fn id_like(v: &str) -> bool {
    (1..=64).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let jti = session_jwt::peek_jti(text);
    if let Some(jti) = &jti {
        assert!(id_like(jti), "jti {jti:?}");
    }
    if let Some(peeked) = session_jwt::peek(text) {
        assert!(id_like(&peeked.kid) && id_like(&peeked.jti));
        assert_eq!(Some(&peeked.jti), jti.as_ref(), "peek agrees with peek_jti");
    }
    let key = [7u8; 32];
    assert!(
        session_jwt::verify(text, &key, "tessera", "tessera", 1_800_000_000).is_err(),
        "a JWT the fuzzer made verified"
    );
});
