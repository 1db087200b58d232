//! The CORS origin matcher on arbitrary `Origin` headers, through the whole app: preflights
//! and actual requests, from every HTTP source, to paths under three policies (a credentialed
//! list of exact origins and sub-domain patterns, any origin, and a list that mirrors the
//! requested headers).
//!
//! What must hold, checked against a reference matcher written from the documented rules:
//! - an exact origin is allowed only when the `Origin` header is the configured origin as a
//!   browser serialises it (lower-case scheme and host, no default port), byte for byte;
//! - a pattern `scheme://*.domain[:port]` allows `scheme://<labels>.domain[:port]` exactly: one
//!   or more non-empty labels of lower-case letters, digits, `-` and `_`, the same scheme and
//!   the same port (or none);
//! - `Access-Control-Allow-Origin` echoes the `Origin` exactly when it is allowed and is absent
//!   otherwise (never a foreign origin), or is `*` under the any-origin policy;
//!   `Access-Control-Allow-Credentials` only accompanies an echoed origin of the credentialed
//!   policy; a preflight is a `204` with the documented `Vary`, and every other response of a
//!   list policy varies on `Origin`;
//! - no panic.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use http::Method;
use libfuzzer_sys::fuzz_target;
use lift::middleware::Cors;
use lift::testing::{invoke, TestRequest};
use lift::{App, AppService, Context};

/// The credentialed policy's exact origins, as configured.
const EXACT_CONFIGURED: &[&str] = &[
    "https://app.example.com",
    "http://localhost:3000",
    "https://api.example.com:8443",
    "http://[::1]:8080",
    "HTTPS://Shop.Example.COM:443",
    "http://legacy.example.com:80",
];

/// The same origins as a browser sends them: what must match, byte for byte.
const EXACT: &[&str] = &[
    "https://app.example.com",
    "http://localhost:3000",
    "https://api.example.com:8443",
    "http://[::1]:8080",
    "https://shop.example.com",
    "http://legacy.example.com",
];

/// The credentialed policy's patterns, as configured.
const PATTERNS_CONFIGURED: &[&str] = &[
    "https://*.preview.example.com",
    "http://*.dev.test:8080",
    "https://*.cdn.example.net:443",
];

/// The same patterns as (scheme, domain, port): what the documented rule reads.
const PATTERNS: &[(&str, &str, Option<&str>)] = &[
    ("https", "preview.example.com", None),
    ("http", "dev.test", Some("8080")),
    ("https", "cdn.example.net", None),
];

/// The mirroring policy's origin and pattern.
const MIRROR_EXACT: &[&str] = &["https://app.example.com"];
const MIRROR_PATTERNS: &[(&str, &str, Option<&str>)] = &[("https", "example.org", None)];

fn app() -> &'static (tokio::runtime::Runtime, AppService) {
    static A: OnceLock<(tokio::runtime::Runtime, AppService)> = OnceLock::new();
    A.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime");
        let any = Cors::builder()
            .allow_any_origin()
            .build()
            .expect("any origin");
        let mirror = Cors::builder()
            .allow_origins(MIRROR_EXACT.iter().copied())
            .allow_origin("https://*.example.org")
            .mirror_request_headers()
            .build()
            .expect("mirror policy");
        let cors = Cors::builder()
            .allow_origins(EXACT_CONFIGURED.iter().copied())
            .allow_origins(PATTERNS_CONFIGURED.iter().copied())
            .allow_methods([Method::GET, Method::POST])
            .allow_headers(["content-type", "authorization"])
            .expose_headers(["x-request-id"])
            .allow_credentials(true)
            .max_age(std::time::Duration::from_secs(600))
            .route("/public/{*path}", any)
            .route("/mirror/{*path}", mirror)
            .build()
            .expect("the policy builds");
        let obs = lift::observability::Observability::new()
            .metrics_enabled(false)
            .tracing_enabled(false)
            .export_to(lift::observability::NullExporter);
        let app = App::new()
            .observability(obs)
            .middleware(cors)
            .get("/me", |_: Context| async { "me" })
            .post("/orders", |_: Context| async { "created" })
            .get("/public/{*path}", |_: Context| async { "public" })
            .get("/mirror/{*path}", |_: Context| async { "mirror" })
            .build()
            .expect("the app builds");
        (rt, app)
    })
}

/// Dot-separated, non-empty labels of lower-case letters, digits, `-` and `_`.
fn labels_ok(s: &str) -> bool {
    s.split('.').all(|l| {
        !l.is_empty()
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    })
}

/// The documented pattern rule, read from the origin's parts rather than by stripping the
/// pattern's affixes as the matcher does.
fn pattern_allows(origin: &str, (scheme, domain, port): (&str, &str, Option<&str>)) -> bool {
    let Some((s, authority)) = origin.split_once("://") else {
        return false;
    };
    if s != scheme {
        return false;
    }
    let (host, p) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    if p != port {
        return false;
    }
    let host_labels: Vec<&str> = host.split('.').collect();
    let domain_labels: Vec<&str> = domain.split('.').collect();
    if host_labels.len() <= domain_labels.len() {
        return false;
    }
    let (sub, rest) = host_labels.split_at(host_labels.len() - domain_labels.len());
    rest == domain_labels.as_slice() && labels_ok(&sub.join("."))
}

enum Policy {
    Credentialed,
    Any,
    Mirror,
}

fn allowed(policy: &Policy, origin: &str) -> bool {
    let (exact, patterns) = match policy {
        Policy::Any => return true,
        Policy::Credentialed => (EXACT, PATTERNS),
        Policy::Mirror => (MIRROR_EXACT, MIRROR_PATTERNS),
    };
    exact.contains(&origin) || patterns.iter().any(|p| pattern_allows(origin, *p))
}

#[derive(Arbitrary, Debug)]
enum Piece {
    Known(u8),
    Any(String),
}

const PIECES: &[&str] = &[
    "https://",
    "http://",
    "app.example.com",
    "preview.example.com",
    ".preview.example.com",
    "a.",
    "A",
    "dev.test",
    "cdn.example.net",
    "example.org",
    "localhost",
    "[::1]",
    ":8443",
    ":8080",
    ":3000",
    ":443",
    ":80",
    ":",
    ".",
    "/",
    "@",
    "*",
    "-",
    "_",
    " ",
    "null",
    ".evil.com",
    "shop.example.com",
    "legacy.example.com",
    "api.example.com",
];

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Source {
    V1,
    V2,
    FunctionUrl,
    Alb,
    AlbMulti,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Kind {
    /// `OPTIONS` with `Access-Control-Request-Method`.
    Preflight,
    /// `OPTIONS` without it: not a preflight.
    Options,
    Get,
    Post,
}

#[derive(Arbitrary, Debug)]
struct Input {
    source: Source,
    kind: Kind,
    path: u8,
    /// Whether the request carries the `Origin` header at all.
    send_origin: bool,
    origin: Vec<Piece>,
    request_headers: Option<String>,
}

const PATHS: &[&str] = &["/me", "/orders", "/missing", "/public/a", "/mirror/b/c"];

fuzz_target!(|input: Input| {
    let origin: String = input
        .origin
        .iter()
        .map(|p| match p {
            Piece::Known(i) => PIECES[usize::from(*i) % PIECES.len()],
            Piece::Any(s) => s.as_str(),
        })
        .collect();
    let path = PATHS[usize::from(input.path) % PATHS.len()];
    let policy = if path.starts_with("/public/") {
        Policy::Any
    } else if path.starts_with("/mirror/") {
        Policy::Mirror
    } else {
        Policy::Credentialed
    };
    let mut req = match input.kind {
        Kind::Preflight | Kind::Options => TestRequest::options(path),
        Kind::Get => TestRequest::get(path),
        Kind::Post => TestRequest::post(path),
    };
    if input.send_origin {
        req = req.header("Origin", &origin);
    }
    let preflight = matches!(input.kind, Kind::Preflight) && input.send_origin;
    if matches!(input.kind, Kind::Preflight) {
        req = req.header("Access-Control-Request-Method", "POST");
    }
    if let Some(h) = &input.request_headers {
        req = req.header("Access-Control-Request-Headers", h);
    }
    let event = match input.source {
        Source::V1 => req.v1(),
        Source::V2 => req.v2(),
        Source::FunctionUrl => req.function_url(),
        Source::Alb => req.alb(),
        Source::AlbMulti => req.alb_multi(),
    };
    let (rt, app) = app();
    let res = rt
        .block_on(invoke(app, event))
        .expect("an HTTP event is handled");

    let acao = res.header("access-control-allow-origin");
    let credentials = res.header("access-control-allow-credentials");
    let vary = res.header_all("vary").join(", ");
    let expected = match (&policy, input.send_origin) {
        (_, false) => None,
        (Policy::Any, true) => Some("*"),
        (p, true) => allowed(p, &origin).then_some(origin.as_str()),
    };
    assert_eq!(
        acao, expected,
        "Origin {origin:?} on {path} ({:?}, {:?})",
        input.kind, input.source
    );
    match (&policy, acao.is_some()) {
        (Policy::Credentialed, true) => assert_eq!(credentials, Some("true")),
        _ => assert_eq!(credentials, None, "credentials without an echoed origin"),
    }
    if preflight {
        assert_eq!(res.status(), 204, "a preflight is answered 204");
        assert_eq!(
            vary,
            "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
        );
        if acao.is_some() {
            assert!(res.header("access-control-allow-methods").is_some());
        } else {
            assert!(res.header("access-control-allow-methods").is_none());
            assert!(res.header("access-control-max-age").is_none());
        }
    } else {
        let varies = vary
            .split(',')
            .any(|v| v.trim().eq_ignore_ascii_case("origin"));
        assert_eq!(varies, !matches!(policy, Policy::Any), "Vary: {vary:?}");
    }
});
