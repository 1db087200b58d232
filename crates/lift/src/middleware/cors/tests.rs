//! Unit tests for origin parsing and matching and for `Vary` merging.

#![allow(clippy::unwrap_used)]

use http::header::VARY;
use http::{HeaderMap, HeaderValue};

use super::origin::{parse_origin, OriginRule, Pattern};
use super::vary::{add_vary, ORIGIN_VARY};
use super::CorsError;

const PREFLIGHT_VARY: [&str; 3] = [
    "Origin",
    "Access-Control-Request-Method",
    "Access-Control-Request-Headers",
];

fn pattern(s: &str) -> Pattern {
    match parse_origin(s).unwrap() {
        OriginRule::Pattern(p) => p,
        OriginRule::Exact(e) => panic!("{s} parsed as exact {e}"),
    }
}

fn exact(s: &str) -> String {
    match parse_origin(s).unwrap() {
        OriginRule::Exact(e) => e,
        OriginRule::Pattern(_) => panic!("{s} parsed as a pattern"),
    }
}

#[test]
fn origins_are_normalised_as_browsers_send_them() {
    assert_eq!(exact("https://App.Example.com"), "https://app.example.com");
    assert_eq!(exact("https://a.com:443"), "https://a.com");
    assert_eq!(exact("http://a.com:80"), "http://a.com");
    assert_eq!(exact("http://a.com:8080"), "http://a.com:8080");
    assert_eq!(exact("http://localhost:3000"), "http://localhost:3000");
    assert_eq!(exact("http://[::1]:3000"), "http://[::1]:3000");
    assert_eq!(exact("http://127.0.0.1"), "http://127.0.0.1");
}

#[test]
fn a_request_origin_is_compared_in_the_form_browsers_send() {
    // The configured side is normalised; the request's `Origin` is taken as sent, and a
    // browser always sends it in lowercase.
    let p = pattern("https://*.Example.org");
    assert!(p.matches("https://a.example.org"));
    assert!(!p.matches("https://A.example.org"));
    assert!(!p.matches("HTTPS://a.example.org"));
}

#[test]
fn malformed_origins_are_refused() {
    for bad in [
        "null",
        "app.example.com",
        "https://a.com/",
        "https://a.com/path",
        "https://user@a.com",
        "https://a.com:port",
        "https://a.com:99999",
        "https://a*.example.org",
        "https://*example.org",
        "https://a.*.example.org",
        "https://*.com",
        "*://a.com",
        "https://",
        "https://a..com",
    ] {
        assert!(
            matches!(parse_origin(bad), Err(CorsError::InvalidOrigin { .. })),
            "{bad} should be refused"
        );
    }
}

#[test]
fn patterns_match_whole_labels_on_the_same_scheme_and_port() {
    let p = pattern("https://*.example.org");
    assert!(p.matches("https://a.example.org"));
    assert!(p.matches("https://a.b.example.org"));
    assert!(p.matches("https://x-1.example.org"));
    for no in [
        "https://example.org",
        "https://.example.org",
        "https://a..example.org",
        "http://a.example.org",
        "https://a.example.org.evil.com",
        "https://aexample.org",
        "https://evil.com/.example.org",
        "https://a.example.org:8443",
        "https://a:1.example.org",
        "https://A.example.org",
        "https://a.example.org ",
    ] {
        assert!(!p.matches(no), "{no} should not match");
    }
    let p = pattern("https://*.example.org:8443");
    assert!(p.matches("https://a.example.org:8443"));
    assert!(!p.matches("https://a.example.org"));
    assert!(!p.matches("https://a.example.org:443"));
    assert!(!p.matches("https://a.example.org:84431"));
}

#[test]
fn vary_is_merged_not_repeated() {
    let mut h = HeaderMap::new();
    h.insert(VARY, HeaderValue::from_static("accept-encoding"));
    add_vary(&mut h, &PREFLIGHT_VARY);
    add_vary(&mut h, &ORIGIN_VARY);
    assert_eq!(
        h.get_all(VARY).iter().collect::<Vec<_>>(),
        ["accept-encoding, Origin, Access-Control-Request-Method, Access-Control-Request-Headers"]
    );
    let mut h = HeaderMap::new();
    h.insert(VARY, HeaderValue::from_static("*"));
    add_vary(&mut h, &ORIGIN_VARY);
    assert_eq!(h[VARY], "*");
}
