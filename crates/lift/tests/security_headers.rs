//! Security headers: the defaults, changing and removing each, headers the handler set are
//! kept, errors carry them, and they sit beside CORS.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::header::{CONTENT_SECURITY_POLICY, X_FRAME_OPTIONS};
use http::HeaderValue;
use lift::http::Response;
use lift::middleware::{Cors, SecurityHeaders};
use lift::testing::{invoke, TestRequest, TestResponse};
use lift::{App, AppService, Context, Error};

const HEADERS: [&str; 5] = [
    "strict-transport-security",
    "x-content-type-options",
    "x-frame-options",
    "referrer-policy",
    "content-security-policy",
];

const DEFAULTS: [(&str, &str); 4] = [
    (
        "strict-transport-security",
        "max-age=31536000; includeSubDomains",
    ),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

fn build_app(headers: SecurityHeaders) -> AppService {
    App::new()
        .middleware(headers)
        .get("/", |_: Context| async { "ok" })
        .get("/framed", |_: Context| async {
            Response::text("framed")
                .with_header(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"))
                .with_header(
                    CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("frame-ancestors 'self'"),
                )
        })
        .get("/forbidden", |_: Context| async {
            Err::<&str, _>(Error::forbidden("no"))
        })
        .get("/forbidden-framed", |_: Context| async {
            Err::<&str, _>(
                Error::forbidden("no")
                    .with_header(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN")),
            )
        })
        .build()
        .expect("app builds")
}

/// Every security header present, in a fixed order, each with all its values.
fn present(res: &TestResponse) -> Vec<(&'static str, Vec<String>)> {
    HEADERS
        .iter()
        .map(|h| {
            (
                *h,
                res.header_all(h)
                    .into_iter()
                    .map(str::to_owned)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn expect(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, Vec<String>)> {
    pairs
        .iter()
        .map(|(k, v)| (*k, vec![(*v).to_owned()]))
        .collect()
}

async fn get(app: &AppService, path: &str) -> TestResponse {
    invoke(app, TestRequest::get(path).v1())
        .await
        .expect("invocation succeeds")
}

#[tokio::test]
async fn the_defaults_are_added_to_every_response() {
    let app = build_app(SecurityHeaders::new());
    let res = get(&app, "/").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "ok");
    assert_eq!(present(&res), expect(&DEFAULTS));
    for event in [
        TestRequest::get("/").v2(),
        TestRequest::get("/").alb(),
        TestRequest::get("/").function_url(),
    ] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(present(&res), expect(&DEFAULTS));
    }
}

#[tokio::test]
async fn each_header_can_be_changed_or_left_out() {
    let app = build_app(
        SecurityHeaders::new()
            .strict_transport_security(HeaderValue::from_static(
                "max-age=63072000; includeSubDomains; preload",
            ))
            .frame_options(HeaderValue::from_static("SAMEORIGIN"))
            .referrer_policy(None)
            .content_security_policy(HeaderValue::from_static("default-src 'none'")),
    );
    assert_eq!(
        present(&get(&app, "/").await),
        expect(&[
            (
                "strict-transport-security",
                "max-age=63072000; includeSubDomains; preload"
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "SAMEORIGIN"),
            ("content-security-policy", "default-src 'none'"),
        ])
    );

    let none = build_app(
        SecurityHeaders::new()
            .strict_transport_security(None)
            .content_type_options(None)
            .frame_options(None)
            .referrer_policy(None)
            .content_security_policy(None),
    );
    assert_eq!(present(&get(&none, "/").await), []);
}

#[tokio::test]
async fn headers_the_handler_set_are_kept() {
    let app = build_app(
        SecurityHeaders::new()
            .content_security_policy(HeaderValue::from_static("default-src 'none'")),
    );
    assert_eq!(
        present(&get(&app, "/framed").await),
        expect(&[
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "SAMEORIGIN"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
            ("content-security-policy", "frame-ancestors 'self'"),
        ])
    );
}

#[tokio::test]
async fn errors_carry_the_headers_and_keep_their_own() {
    let app = build_app(SecurityHeaders::new());
    for (path, status) in [("/forbidden", 403), ("/no-such-path", 404)] {
        let res = get(&app, path).await;
        assert_eq!(res.status(), status);
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert_eq!(present(&res), expect(&DEFAULTS), "{path}");
    }
    let res = get(&app, "/forbidden-framed").await;
    assert_eq!(res.status(), 403);
    assert_eq!(
        present(&res),
        expect(&[
            (
                "strict-transport-security",
                "max-age=31536000; includeSubDomains"
            ),
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "SAMEORIGIN"),
            ("referrer-policy", "strict-origin-when-cross-origin"),
        ])
    );
}

#[tokio::test]
async fn preflight_answers_get_them_when_installed_outside_cors() {
    let app = App::new()
        .middleware(SecurityHeaders::new())
        .middleware(
            Cors::builder()
                .allow_origin("https://app.example.com")
                .build()
                .unwrap(),
        )
        .get("/", |_: Context| async { "ok" })
        .build()
        .unwrap();
    let res = invoke(
        &app,
        TestRequest::options("/")
            .header("Origin", "https://app.example.com")
            .header("Access-Control-Request-Method", "GET")
            .v2(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 204);
    assert_eq!(
        res.header("access-control-allow-origin"),
        Some("https://app.example.com")
    );
    assert_eq!(present(&res), expect(&DEFAULTS));
}
