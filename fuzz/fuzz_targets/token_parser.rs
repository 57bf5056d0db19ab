//! The presented-token parser: any text, never a panic; what parses has an id inside the
//! text, parses again to the same kind and id, and a generated token with one character
//! changed never parses (the CRC32 catches every single-character change).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::domain::token_format::{self, TokenKind};

const KINDS: [TokenKind; 4] = [
    TokenKind::ApiKey,
    TokenKind::Pat,
    TokenKind::OAuthAccess,
    TokenKind::OAuthRefresh,
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(parsed) = token_format::parse_presented(text) {
        assert!(
            text.contains(parsed.text),
            "the parsed text is the presented one"
        );
        let again = token_format::parse_presented(parsed.text).expect("parses again");
        assert_eq!(
            (again.kind, again.id.as_ref()),
            (parsed.kind, parsed.id.as_ref())
        );
        if parsed.kind != TokenKind::Session {
            assert!(
                parsed.text.contains(parsed.id.as_ref()),
                "the id is in the token"
            );
        }
    }
    let _ = token_format::is_client_secret(text);

    // One character of a real token changed: refused.
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let kind = KINDS[usize::from(pick) % KINDS.len()];
    let token = token_format::generate(kind).expect("os rng").secret;
    let (Some(&at), Some(&with)) = (rest.first(), rest.get(1)) else {
        return;
    };
    let at = usize::from(at) % token.len();
    let with = char::from(with);
    let mut bytes = token.clone().into_bytes();
    if !with.is_ascii() || bytes[at] == with as u8 {
        return;
    }
    bytes[at] = with as u8;
    let changed = String::from_utf8(bytes).expect("ascii");
    assert!(
        token_format::parse(&changed).is_none(),
        "a changed character is caught"
    );
});
