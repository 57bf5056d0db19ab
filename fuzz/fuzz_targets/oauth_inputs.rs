//! The OAuth HTTP inputs: form bodies (RFC 6749 §3.2, each parameter once), Basic client
//! credentials (§2.3.1) beside a form, and redirect URIs as registered. Never a panic; a
//! request with Basic and a body secret both is refused; an accepted redirect URI is an
//! absolute URI without a fragment or user info, and `http` only on a loopback host.
//!
//! Input: `form body \xff Authorization header value \xff redirect URI`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera::domain::oauth_client;
use tessera::http::form::{Form, client_auth};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == 0xff);
    let (body, header, uri) = (parts.next().unwrap_or(&[]), parts.next(), parts.next());

    if let Ok(form) = Form::from_pairs(body) {
        assert!(
            form.scopes()
                .iter()
                .all(|s| !s.is_empty() && !s.contains(' '))
        );
        let mut headers = http::HeaderMap::new();
        if let Some(value) = header.and_then(|h| http::HeaderValue::from_bytes(h).ok()) {
            headers.insert(http::header::AUTHORIZATION, value);
        }
        if let Ok(presented) = client_auth(&headers, &form) {
            if presented.basic {
                assert!(
                    form.get("client_secret").is_empty(),
                    "Basic and a body secret both"
                );
            } else {
                assert_eq!(presented.auth.client_id, form.get("client_id"));
            }
        }
    }

    let Some(uri) = uri.and_then(|u| std::str::from_utf8(u).ok()) else {
        return;
    };
    if oauth_client::redirect_uri("redirect_uri", uri).is_ok() {
        assert!(!uri.contains('#'), "fragment in {uri:?}");
        let parsed = url::Url::parse(uri).expect("an accepted redirect URI is absolute");
        assert!(parsed.username().is_empty() && parsed.password().is_none());
        assert!(
            !matches!(parsed.scheme(), "javascript" | "data" | "file" | "ftp"),
            "{uri:?}"
        );
        if parsed.scheme() == "http" {
            let host = parsed.host_str().unwrap_or("");
            assert!(
                matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
                "http on {host:?}"
            );
        }
    }
});
