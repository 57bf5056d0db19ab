//! The wire view against prost's own decoding of the same bytes.

use std::collections::HashMap;

use proptest::prelude::*;
use prost::Message;

use super::*;
use crate::proto::envoy_api::envoy::config::core::v3::{HeaderMap, HeaderValue};
use crate::proto::envoy_api::envoy::service::auth::v3::{
    AttributeContext, CheckRequest, attribute_context,
};

/// What the handler read from prost's `CheckRequest` before the view (the reference).
fn reference(req: &CheckRequest) -> CheckView<'_> {
    let attributes = req.attributes.as_ref();
    let http = attributes
        .and_then(|a| a.request.as_ref())
        .and_then(|r| r.http.as_ref());
    let mut view = CheckView {
        has_http: http.is_some(),
        ..CheckView::default()
    };
    if let Some(a) = attributes {
        for (i, name) in EXTENSION_NAMES.iter().enumerate() {
            view.extensions[i] = a.context_extensions.get(*name).map(String::as_str);
        }
    }
    if let Some(h) = http {
        view.method = &h.method;
        for (i, name) in HEADER_NAMES.iter().enumerate() {
            view.headers[i] = h.headers.get(*name).map(String::as_str);
        }
        if let Some(map) = &h.header_map {
            for hv in &map.headers {
                if let Some(i) = HEADER_NAMES.iter().position(|n| *n == hv.key) {
                    let text = match hv.raw_value.is_empty() {
                        true => hv.value.as_str(),
                        false => std::str::from_utf8(&hv.raw_value).unwrap_or("\u{fffd}"),
                    };
                    view.header_map.push((i, text));
                }
            }
        }
    }
    view
}

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("authorization".to_owned()),
        Just("x-tessera-subject".to_owned()),
        Just("x-tessera-token-id".to_owned()),
        Just("x-tessera-kind".to_owned()),
        Just("tessera.scopes".to_owned()),
        Just("tessera.match".to_owned()),
        Just("tessera.mutating".to_owned()),
        Just("tessera.strip_authorization".to_owned()),
        "[a-z:-]{0,12}",
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[ -~]{0,20}", "\\PC{0,8}"]
}

prop_compose! {
    fn check_request()(
        http in proptest::option::of((
            text(),
            proptest::collection::hash_map(name(), text(), 0..6),
            proptest::option::of(proptest::collection::vec(
                (name(), text(), proptest::collection::vec(any::<u8>(), 0..6)), 0..4)),
        )),
        extensions in proptest::collection::hash_map(name(), text(), 0..5),
        request in any::<bool>(),
    ) -> CheckRequest {
        let http = http.map(|(method, headers, map)| attribute_context::HttpRequest {
            method,
            headers,
            path: "/somewhere".into(),
            header_map: map.map(|entries| HeaderMap {
                headers: entries
                    .into_iter()
                    .map(|(key, value, raw_value)| HeaderValue { key, value, raw_value })
                    .collect(),
            }),
            ..Default::default()
        });
        CheckRequest {
            attributes: Some(AttributeContext {
                request: (request || http.is_some()).then(|| attribute_context::Request {
                    http,
                    ..Default::default()
                }),
                context_extensions: extensions,
                ..Default::default()
            }),
        }
    }
}

proptest! {
    #[test]
    fn the_view_reads_what_prost_decodes(req in check_request()) {
        let bytes = req.encode_to_vec();
        let decoded = CheckRequest::decode(bytes.as_slice()).expect("prost decodes its own");
        prop_assert_eq!(CheckView::parse(&bytes).expect("view"), reference(&decoded));
    }

    /// Messages split and repeated on the wire merge as prost merges them.
    #[test]
    fn repeated_messages_merge_like_prost(a in check_request(), b in check_request()) {
        let mut bytes = a.encode_to_vec();
        bytes.extend(b.encode_to_vec());
        let decoded = CheckRequest::decode(bytes.as_slice()).expect("prost decodes");
        prop_assert_eq!(CheckView::parse(&bytes).expect("view"), reference(&decoded));
    }

    /// Arbitrary bytes never panic; when prost and the view both accept, they agree.
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let view = CheckView::parse(&bytes);
        if let (Ok(view), Ok(decoded)) = (view, CheckRequest::decode(bytes.as_slice())) {
            prop_assert_eq!(view, reference(&decoded));
        }
    }
}

/// The names are the ones Envoy sends and tessera documents, spelled out here once more so
/// that a typo in the reader's table cannot pass the differential tests.
#[test]
fn the_names_read_are_the_documented_ones() {
    assert_eq!(
        HEADER_NAMES,
        [
            "authorization",
            "x-tessera-subject",
            "x-tessera-token-id",
            "x-tessera-kind"
        ]
    );
    assert_eq!(
        EXTENSION_NAMES,
        [
            "tessera.scopes",
            "tessera.match",
            "tessera.mutating",
            "tessera.strip_authorization"
        ]
    );
    assert_eq!((SCOPES, MATCH, MUTATING, STRIP_AUTHORIZATION), (0, 1, 2, 3));
    assert_eq!(IDENTITY, 1..4);
}

/// Invalid UTF-8 in any header or extension, read or not, fails the request, as with prost.
#[test]
fn invalid_utf8_anywhere_in_the_maps_is_refused() {
    let req = CheckRequest {
        attributes: Some(AttributeContext {
            request: Some(attribute_context::Request {
                http: Some(attribute_context::HttpRequest {
                    headers: HashMap::from([("x-other".into(), "ZZ".into())]),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }),
    };
    let mut bytes = req.encode_to_vec();
    let at = bytes.windows(2).position(|w| w == b"ZZ").expect("value");
    bytes[at] = 0xff;
    assert!(
        CheckRequest::decode(bytes.as_slice()).is_err(),
        "prost refuses it"
    );
    assert_eq!(CheckView::parse(&bytes), Err(WireError("invalid UTF-8")));
    // And an over-long varint, which prost refuses too.
    let overlong = [
        0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,
    ];
    assert!(CheckRequest::decode(&overlong[..]).is_err());
    assert!(CheckView::parse(&overlong).is_err());
}

#[test]
fn truncated_and_oversized_lengths_are_refused() {
    let req = CheckRequest {
        attributes: Some(AttributeContext {
            context_extensions: HashMap::from([("tessera.scopes".into(), "read:x".into())]),
            ..Default::default()
        }),
    };
    let bytes = req.encode_to_vec();
    for cut in 1..bytes.len() {
        assert!(CheckView::parse(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    assert_eq!(
        CheckView::parse(&[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(WireError("truncated field"))
    );
}
