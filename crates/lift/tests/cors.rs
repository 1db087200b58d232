//! CORS: preflights answered without the handler, allowed and refused origins, sub-domain
//! patterns, credentials, any origin, `Vary`, exposed headers, max age, per-route policies and
//! errors carrying the headers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::header::VARY;
use http::{HeaderValue, Method};
use lift::middleware::{Cors, CorsError};
use lift::routing::Route;
use lift::testing::{invoke, TestRequest, TestResponse};
use lift::{App, AppService, Context, Error};

const APP_ORIGIN: &str = "https://app.example.com";
const PREFLIGHT_VARY: &str =
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
const CORS_HEADERS: [&str; 7] = [
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-expose-headers",
    "access-control-max-age",
    "access-control-allow-private-network",
];

/// Whether the handler ran.
#[derive(Clone, Default)]
struct Ran(Arc<AtomicBool>);

impl Ran {
    fn take(&self) -> bool {
        self.0.swap(false, Ordering::SeqCst)
    }
}

/// An app with CORS app-wide and these routes:
/// - `/items`: GET, POST and an OPTIONS handler (which a preflight must not reach), recording
///   that they ran;
/// - `/get-only`: GET only, so a preflight there is a 405 to the router;
/// - `/public/{*path}`: GET;
/// - `/forbidden`: GET, always a 403;
/// - `/vary`: GET, answering with `Vary: Accept-Encoding`;
/// - `/vary-origin`: GET, answering with `Vary: origin` already.
fn build_app(cors: Cors) -> (AppService, Ran) {
    let ran = Ran::default();
    let record = {
        let ran = ran.clone();
        move |_: Context| {
            ran.0.store(true, Ordering::SeqCst);
            std::future::ready("handled")
        }
    };
    let app = App::new()
        .middleware(cors)
        .route(
            "/items",
            Route::new()
                .get(record.clone())
                .post(record.clone())
                .options(record.clone()),
        )
        .get("/get-only", record.clone())
        .get("/public/{*path}", record.clone())
        .get("/forbidden", |_: Context| async {
            Err::<&str, _>(Error::forbidden("no"))
        })
        .get("/vary", |_: Context| async {
            lift::http::Response::text("v")
                .with_header(VARY, HeaderValue::from_static("Accept-Encoding"))
        })
        .get("/vary-origin", |_: Context| async {
            lift::http::Response::text("v").with_header(VARY, HeaderValue::from_static("origin"))
        })
        .build()
        .expect("app builds");
    (app, ran)
}

/// The usual configuration: one exact origin, a sub-domain pattern, credentials.
fn credentialed() -> Cors {
    Cors::builder()
        .allow_origin(APP_ORIGIN)
        .allow_origin("https://*.example.org")
        .allow_methods([Method::GET, Method::POST, Method::DELETE])
        .allow_headers(["Content-Type", "authorization"])
        .expose_headers(["x-request-id", "x-total-count"])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
        .build()
        .expect("valid CORS configuration")
}

fn preflight(path: &str, origin: &str) -> TestRequest {
    TestRequest::options(path)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "POST")
        .header("Access-Control-Request-Headers", "content-type, x-custom")
}

/// Every CORS response header that is present.
fn cors_headers(res: &TestResponse) -> Vec<(&'static str, String)> {
    CORS_HEADERS
        .iter()
        .filter_map(|h| res.header(h).map(|v| (*h, v.to_owned())))
        .collect()
}

async fn send(app: &AppService, req: TestRequest) -> TestResponse {
    invoke(app, req.v2()).await.expect("invocation succeeds")
}

// ---------------------------------------------------------------------------------------------
// Preflights
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_without_the_handler() {
    let (app, ran) = build_app(credentialed());
    for path in ["/items", "/get-only", "/no-such-path"] {
        let res = send(&app, preflight(path, APP_ORIGIN)).await;
        assert_eq!(res.status(), 204, "{path}");
        assert_eq!(res.body(), b"", "{path}");
        assert_eq!(
            cors_headers(&res),
            [
                ("access-control-allow-origin", APP_ORIGIN.to_owned()),
                ("access-control-allow-credentials", "true".to_owned()),
                (
                    "access-control-allow-methods",
                    "GET, POST, DELETE".to_owned()
                ),
                (
                    "access-control-allow-headers",
                    "content-type, authorization".to_owned()
                ),
                ("access-control-max-age", "600".to_owned()),
            ],
            "{path}"
        );
        assert_eq!(res.header("vary"), Some(PREFLIGHT_VARY), "{path}");
        assert!(!ran.take(), "the handler ran for a preflight to {path}");
    }
}

#[tokio::test]
async fn a_preflight_from_another_origin_gets_no_cors_headers() {
    let (app, ran) = build_app(credentialed());
    for origin in [
        "https://evil.example.com",
        "null",
        "https://app.example.com.evil.com",
    ] {
        let res = send(&app, preflight("/items", origin)).await;
        assert_eq!(res.status(), 204, "{origin}");
        assert_eq!(cors_headers(&res), [], "{origin}");
        assert_eq!(res.header("vary"), Some(PREFLIGHT_VARY), "{origin}");
        assert!(
            !ran.take(),
            "the handler ran for a refused preflight from {origin}"
        );
    }
}

#[tokio::test]
async fn options_without_a_requested_method_is_not_a_preflight() {
    let (app, ran) = build_app(credentialed());
    let res = send(
        &app,
        TestRequest::options("/items").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "handled");
    assert!(ran.take());
    assert_eq!(res.header("access-control-allow-origin"), Some(APP_ORIGIN));
    assert_eq!(res.header("access-control-allow-methods"), None);
    assert_eq!(res.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn preflights_allow_no_headers_by_default_and_can_mirror_the_requested_ones() {
    let cors = Cors::builder().allow_origin(APP_ORIGIN).build().unwrap();
    let (app, _) = build_app(cors);
    let res = send(&app, preflight("/items", APP_ORIGIN)).await;
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", APP_ORIGIN.to_owned()),
            (
                "access-control-allow-methods",
                "GET, HEAD, POST, PUT, PATCH, DELETE".to_owned()
            ),
        ]
    );

    let cors = Cors::builder()
        .allow_origin(APP_ORIGIN)
        .allow_headers(["x-ignored"])
        .mirror_request_headers()
        .allow_methods([])
        .build()
        .unwrap();
    let (app, _) = build_app(cors);
    let res = send(&app, preflight("/items", APP_ORIGIN)).await;
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", APP_ORIGIN.to_owned()),
            (
                "access-control-allow-headers",
                "content-type, x-custom".to_owned()
            ),
        ]
    );
    // Nothing requested, nothing mirrored.
    let res = send(
        &app,
        TestRequest::options("/items")
            .header("Origin", APP_ORIGIN)
            .header("Access-Control-Request-Method", "GET"),
    )
    .await;
    assert_eq!(res.header("access-control-allow-headers"), None);
}

// ---------------------------------------------------------------------------------------------
// Actual requests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn an_allowed_origin_is_echoed_with_credentials_and_exposed_headers() {
    let (app, ran) = build_app(credentialed());
    for req in [
        TestRequest::get("/items"),
        TestRequest::post("/items").body("{}"),
    ] {
        let res = send(&app, req.header("Origin", APP_ORIGIN)).await;
        assert_eq!(res.status(), 200);
        assert!(ran.take());
        assert_eq!(
            cors_headers(&res),
            [
                ("access-control-allow-origin", APP_ORIGIN.to_owned()),
                ("access-control-allow-credentials", "true".to_owned()),
                (
                    "access-control-expose-headers",
                    "x-request-id, x-total-count".to_owned()
                ),
            ]
        );
        assert_eq!(res.header("vary"), Some("Origin"));
    }
}

#[tokio::test]
async fn another_origin_runs_the_handler_but_gets_no_cors_headers() {
    let (app, ran) = build_app(credentialed());
    let res = send(
        &app,
        TestRequest::get("/items").header("Origin", "https://evil.example.com"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text(), "handled");
    assert!(ran.take());
    assert_eq!(cors_headers(&res), []);
    assert_eq!(res.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn without_an_origin_only_vary_is_added() {
    let (app, ran) = build_app(credentialed());
    let res = send(&app, TestRequest::get("/items")).await;
    assert_eq!(res.status(), 200);
    assert!(ran.take());
    assert_eq!(cors_headers(&res), []);
    assert_eq!(res.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn sub_domain_patterns_match_whole_labels_on_the_same_scheme_and_port() {
    let cors = Cors::builder()
        .allow_origin("https://*.example.org")
        .allow_origin("https://*.dev.example.net:8443")
        .build()
        .unwrap();
    let (app, _) = build_app(cors);
    for origin in [
        "https://a.example.org",
        "https://a.b.example.org",
        "https://api-1.example.org",
        "https://x.dev.example.net:8443",
    ] {
        let res = send(&app, TestRequest::get("/items").header("Origin", origin)).await;
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(origin),
            "{origin} should be allowed"
        );
        let res = send(&app, preflight("/items", origin)).await;
        assert_eq!(
            res.header("access-control-allow-origin"),
            Some(origin),
            "{origin} preflight should be allowed"
        );
    }
    for origin in [
        "https://example.org",
        "http://a.example.org",
        "https://a.example.org.evil.com",
        "https://evilexample.org",
        "https://.example.org",
        "https://a.example.org:8443",
        "https://a.example.org:443",
        "https://a.example.org/",
        "https://x.dev.example.net",
        "https://x.dev.example.net:9443",
        "https://dev.example.net:8443",
    ] {
        let res = send(&app, TestRequest::get("/items").header("Origin", origin)).await;
        assert_eq!(cors_headers(&res), [], "{origin} should be refused");
        let res = send(&app, preflight("/items", origin)).await;
        assert_eq!(
            cors_headers(&res),
            [],
            "{origin} preflight should be refused"
        );
    }
}

#[tokio::test]
async fn exact_origins_match_exactly() {
    let cors = Cors::builder()
        .allow_origins(["https://App.Example.com:443", "http://localhost:3000"])
        .build()
        .unwrap();
    let (app, _) = build_app(cors);
    for origin in [APP_ORIGIN, "http://localhost:3000"] {
        let res = send(&app, TestRequest::get("/items").header("Origin", origin)).await;
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    }
    for origin in [
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://sub.app.example.com",
        "http://localhost",
        "http://localhost:3001",
    ] {
        let res = send(&app, TestRequest::get("/items").header("Origin", origin)).await;
        assert_eq!(cors_headers(&res), [], "{origin} should be refused");
    }
}

#[tokio::test]
async fn with_credentials_the_exact_origin_is_echoed_never_a_wildcard() {
    let (app, _) = build_app(credentialed());
    for origin in [APP_ORIGIN, "https://tenant.example.org"] {
        let res = send(&app, preflight("/items", origin)).await;
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
        let res = send(&app, TestRequest::get("/items").header("Origin", origin)).await;
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
        assert_eq!(res.header("access-control-allow-credentials"), Some("true"));
    }
}

// ---------------------------------------------------------------------------------------------
// Any origin and configuration errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn any_origin_answers_a_wildcard_and_does_not_vary() {
    let cors = Cors::builder()
        .allow_any_origin()
        .expose_headers(["*"])
        .build()
        .unwrap();
    let (app, ran) = build_app(cors);
    let res = send(&app, preflight("/items", "https://anyone.test")).await;
    assert_eq!(res.status(), 204);
    assert!(!ran.take());
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", "*".to_owned()),
            (
                "access-control-allow-methods",
                "GET, HEAD, POST, PUT, PATCH, DELETE".to_owned()
            ),
        ]
    );
    assert_eq!(res.header("vary"), Some(PREFLIGHT_VARY));

    let res = send(
        &app,
        TestRequest::get("/items").header("Origin", "https://anyone.test"),
    )
    .await;
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", "*".to_owned()),
            ("access-control-expose-headers", "*".to_owned()),
        ]
    );
    assert_eq!(res.header("vary"), None);

    // No origin: nothing to add, not even `Vary`.
    let res = send(&app, TestRequest::get("/items")).await;
    assert_eq!(cors_headers(&res), []);
    assert_eq!(res.header("vary"), None);

    // `"*"` as an origin is the same as `allow_any_origin`.
    let (app, _) = build_app(Cors::builder().allow_origin("*").build().unwrap());
    let res = send(
        &app,
        TestRequest::get("/items").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(res.header("access-control-allow-origin"), Some("*"));
}

#[test]
fn any_origin_with_credentials_is_a_build_error() {
    let err = Cors::builder()
        .allow_any_origin()
        .allow_credentials(true)
        .build()
        .unwrap_err();
    assert_eq!(err, CorsError::AnyOriginWithCredentials);
    assert_eq!(
        err.to_string(),
        "invalid CORS configuration: any origin (`*`) cannot be combined with credentials; \
         list the allowed origins instead"
    );
    let err = Cors::builder()
        .allow_origins([APP_ORIGIN, "*"])
        .allow_credentials(true)
        .build()
        .unwrap_err();
    assert_eq!(err, CorsError::AnyOriginWithCredentials);
}

#[test]
fn malformed_configurations_are_build_errors() {
    let err = Cors::builder()
        .allow_origin("https://app.example.com/")
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid CORS origin `https://app.example.com/`: an origin has no path, query or user \
         info (and no trailing `/`)"
    );
    let err = Cors::builder()
        .allow_origin("https://api.*.example.org")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, CorsError::InvalidOrigin { ref origin, .. } if origin == "https://api.*.example.org")
    );
    let err = Cors::builder().allow_origin("null").build().unwrap_err();
    assert!(matches!(err, CorsError::InvalidOrigin { .. }));
    let err = Cors::builder()
        .allow_origin(APP_ORIGIN)
        .allow_credentials(true)
        .allow_headers(["*"])
        .build()
        .unwrap_err();
    assert_eq!(err, CorsError::WildcardHeaderWithCredentials);
    let err = Cors::builder()
        .allow_origin(APP_ORIGIN)
        .allow_credentials(true)
        .expose_headers(["*"])
        .build()
        .unwrap_err();
    assert_eq!(err, CorsError::WildcardHeaderWithCredentials);
    let err = Cors::builder()
        .expose_headers(["x bad"])
        .build()
        .unwrap_err();
    assert_eq!(err, CorsError::InvalidHeaderName("x bad".into()));
    let public = Cors::builder().allow_any_origin().build().unwrap();
    let err = Cors::builder()
        .route("/a/{x}", public.clone())
        .route("/a/{y}", public.clone())
        .build()
        .unwrap_err();
    assert!(matches!(err, CorsError::InvalidRoute { ref template, .. } if template == "/a/{y}"));
    let nested = Cors::builder().route("/p", public.clone()).build().unwrap();
    let err = Cors::builder().route("/q", nested).build().unwrap_err();
    assert!(matches!(err, CorsError::InvalidRoute { ref template, .. } if template == "/q"));
}

// ---------------------------------------------------------------------------------------------
// Vary, per-route policies, errors
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn vary_is_appended_to_and_never_repeated() {
    let (app, _) = build_app(credentialed());
    let res = send(&app, TestRequest::get("/vary").header("Origin", APP_ORIGIN)).await;
    assert_eq!(res.header("vary"), Some("Accept-Encoding, Origin"));
    let res = send(
        &app,
        TestRequest::get("/vary-origin").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(res.header("vary"), Some("origin"));
    let res = send(&app, TestRequest::get("/vary")).await;
    assert_eq!(res.header("vary"), Some("Accept-Encoding, Origin"));
    // REST API events list each header value: still one `Vary`.
    let res = invoke(
        &app,
        TestRequest::get("/vary").header("Origin", APP_ORIGIN).v1(),
    )
    .await
    .unwrap();
    assert_eq!(res.header_all("vary"), ["Accept-Encoding, Origin"]);
}

#[tokio::test]
async fn a_per_route_policy_applies_to_preflights_and_requests_on_its_paths() {
    let cors = Cors::builder()
        .allow_origin(APP_ORIGIN)
        .allow_credentials(true)
        .route(
            "/public/{*path}",
            Cors::builder()
                .allow_any_origin()
                .allow_methods([Method::GET])
                .build()
                .unwrap(),
        )
        .route("/items", Cors::builder().build().unwrap())
        .build()
        .unwrap();
    let (app, ran) = build_app(cors);
    let other = "https://elsewhere.test";

    // `/public/...` has no OPTIONS handler: the preflight still gets the route's policy.
    let res = send(&app, preflight("/public/docs/a", other)).await;
    assert_eq!(res.status(), 204);
    assert!(!ran.take());
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", "*".to_owned()),
            ("access-control-allow-methods", "GET".to_owned()),
        ]
    );
    let res = send(
        &app,
        TestRequest::get("/public/docs/a").header("Origin", other),
    )
    .await;
    assert!(ran.take());
    assert_eq!(
        cors_headers(&res),
        [("access-control-allow-origin", "*".to_owned())]
    );

    // `/items` shuts CORS off, even for the default policy's origin.
    let res = send(&app, preflight("/items", APP_ORIGIN)).await;
    assert_eq!(cors_headers(&res), []);
    let res = send(
        &app,
        TestRequest::get("/items").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(cors_headers(&res), []);
    assert_eq!(res.header("vary"), Some("Origin"));

    // Everywhere else, the default policy.
    let res = send(&app, TestRequest::get("/get-only").header("Origin", other)).await;
    assert_eq!(cors_headers(&res), []);
    let res = send(
        &app,
        TestRequest::get("/get-only").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(
        cors_headers(&res),
        [
            ("access-control-allow-origin", APP_ORIGIN.to_owned()),
            ("access-control-allow-credentials", "true".to_owned()),
        ]
    );
}

#[tokio::test]
async fn error_responses_carry_the_cors_headers() {
    let (app, _) = build_app(credentialed());
    let expected = [
        ("access-control-allow-origin", APP_ORIGIN.to_owned()),
        ("access-control-allow-credentials", "true".to_owned()),
        (
            "access-control-expose-headers",
            "x-request-id, x-total-count".to_owned(),
        ),
    ];
    for (req, status) in [
        (TestRequest::get("/forbidden"), 403),
        (TestRequest::get("/no-such-path"), 404),
        (TestRequest::delete("/get-only"), 405),
    ] {
        let res = send(&app, req.header("Origin", APP_ORIGIN)).await;
        assert_eq!(res.status(), status);
        assert_eq!(cors_headers(&res), expected, "{status}");
        assert_eq!(res.header("vary"), Some("Origin"), "{status}");
        assert_eq!(res.header("content-type"), Some("application/json"));
    }
    let res = send(
        &app,
        TestRequest::delete("/get-only").header("Origin", APP_ORIGIN),
    )
    .await;
    assert_eq!(res.header("allow"), Some("GET, HEAD"));
    // A refused origin's error gets `Vary` only.
    let res = send(
        &app,
        TestRequest::get("/forbidden").header("Origin", "https://evil.example.com"),
    )
    .await;
    assert_eq!(res.status(), 403);
    assert_eq!(cors_headers(&res), []);
    assert_eq!(res.header("vary"), Some("Origin"));
}

#[tokio::test]
async fn every_http_source_gets_the_same_answer() {
    let (app, ran) = build_app(credentialed());
    for event in [
        preflight("/items", APP_ORIGIN).v1(),
        preflight("/items", APP_ORIGIN).alb(),
        preflight("/items", APP_ORIGIN).alb_multi(),
        preflight("/items", APP_ORIGIN).function_url(),
    ] {
        let res = invoke(&app, event).await.unwrap();
        assert_eq!(res.status(), 204);
        assert_eq!(res.header("access-control-allow-origin"), Some(APP_ORIGIN));
        assert_eq!(res.header("vary"), Some(PREFLIGHT_VARY));
    }
    assert!(!ran.take());
}
